import { ApiProperty } from '@nestjs/swagger';
import { LimitsDto, LimitsInputDto } from '../../limits/limits.dto.js';

/** OpenAPI shapes of /admin/api/users and /admin/api/auth (what `presentUser` returns; validation is zod). */
export class UserDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['admin', 'member'] }) role!: 'admin' | 'member';
  @ApiProperty() disabled!: boolean;
  @ApiProperty() hasPassword!: boolean;
  @ApiProperty({ type: LimitsDto, description: "Shared by all of the user's keys" }) limits!: LimitsDto;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class UserListDto {
  @ApiProperty({ enum: ['list'] }) object!: 'list';
  @ApiProperty({ type: [UserDto] }) data!: UserDto[];
}

export class UpdatedUserDto extends UserDto {
  @ApiProperty({ required: false, description: 'With revokeKeys: how many keys were revoked' })
  revokedKeys?: number;
}

export class DeletedUserDto {
  @ApiProperty() id!: string;
  @ApiProperty() deleted!: boolean;
}

export class CreateUserBodyDto {
  @ApiProperty() email!: string;
  @ApiProperty({ required: false }) name?: string;
  @ApiProperty({ required: false, enum: ['admin', 'member'] }) role?: 'admin' | 'member';
  @ApiProperty({ required: false }) password?: string;
  @ApiProperty({ required: false, description: 'Your own password (creating an admin)' })
  currentPassword?: string;
  @ApiProperty({
    required: false,
    nullable: true,
    type: Number,
    description: "Monthly budget in equivalent USD shared by the user's keys (docs/cost.md)",
  })
  monthlyBudgetUsd?: number | null;
}

export class UpdateUserBodyDto extends LimitsInputDto {
  @ApiProperty({ required: false }) name?: string;
  @ApiProperty({ required: false, enum: ['admin', 'member'] }) role?: 'admin' | 'member';
  @ApiProperty({ required: false }) disabled?: boolean;
  @ApiProperty({ required: false }) password?: string;
  @ApiProperty({ required: false, description: 'With password: also revoke every key of the user' })
  revokeKeys?: boolean;
  @ApiProperty({ required: false, description: "Your own password (promoting, setting an admin's password)" })
  currentPassword?: string;
}

export class DeleteUserBodyDto {
  @ApiProperty({ required: false, description: 'Your own password (deleting an admin)' })
  currentPassword?: string;
}

export class LoginBodyDto {
  @ApiProperty() email!: string;
  @ApiProperty() password!: string;
}

export class SignedInDto {
  @ApiProperty({ type: UserDto }) user!: UserDto;
}

export class WhoAmIDto {
  @ApiProperty({ type: UserDto }) user!: UserDto;
  @ApiProperty({ enum: ['key', 'session'] }) via!: 'key' | 'session';
  @ApiProperty({ nullable: true, enum: ['api', 'admin'], type: String }) scope!: 'api' | 'admin' | null;
}

export class LoggedOutDto {
  @ApiProperty() ok!: boolean;
}
