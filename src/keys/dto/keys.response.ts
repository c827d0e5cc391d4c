import { ApiProperty } from '@nestjs/swagger';
import { KeyUsageDto, LimitsDto, LimitsInputDto } from '../../limits/limits.dto.js';

/** OpenAPI shapes of /admin/api/keys (what `present` in keys.service.ts returns; validation is zod). */
export class KeyOwnerDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() name!: string;
}

export class KeyDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'The first characters of the key, for recognising it' }) prefix!: string;
  @ApiProperty({ enum: ['api', 'admin'] }) scope!: 'api' | 'admin';
  @ApiProperty({ type: KeyOwnerDto }) owner!: KeyOwnerDto;
  @ApiProperty({ type: [String], description: 'Empty: every model' }) allowedModels!: string[];
  @ApiProperty({ type: LimitsDto }) limits!: LimitsDto;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) expiresAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) revokedAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Suspended for content-policy refusals since (403 key_suspended_policy until lifted)',
  })
  suspendedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) suspendedReason!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastUsedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

/** A key with its usage this period (list and get). */
export class KeyWithUsageDto extends KeyDto {
  @ApiProperty({ type: KeyUsageDto }) usage!: KeyUsageDto;
}

export class KeyListDto {
  @ApiProperty({ enum: ['list'] }) object!: 'list';
  @ApiProperty({ type: [KeyWithUsageDto] }) data!: KeyWithUsageDto[];
}

/** Create and rotate answer the key itself, this once. */
export class CreatedKeyDto extends KeyDto {
  @ApiProperty({ description: 'The full key, shown this once' }) key!: string;
  @ApiProperty({ required: false, description: 'Rotate: the id of the key this one replaces' })
  replaces?: string;
}

export class CreateKeyBodyDto extends LimitsInputDto {
  @ApiProperty({ required: false }) name?: string;
  @ApiProperty({ required: false, description: 'Admins: the owner (default: yourself)' }) userId?: string;
  @ApiProperty({ required: false, enum: ['api', 'admin'] }) scope?: 'api' | 'admin';
  @ApiProperty({ required: false, type: [String] }) allowedModels?: string[];
  @ApiProperty({ required: false, nullable: true, type: String, format: 'date-time' })
  expiresAt?: string | null;
}

export class UpdateKeyBodyDto extends LimitsInputDto {
  @ApiProperty({ required: false }) name?: string;
  @ApiProperty({ required: false, type: [String] }) allowedModels?: string[];
  @ApiProperty({ required: false, nullable: true, type: String, format: 'date-time' })
  expiresAt?: string | null;
}
