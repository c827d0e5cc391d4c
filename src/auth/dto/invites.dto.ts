import { ApiProperty } from '@nestjs/swagger';
import { z } from 'zod';

/** Invite links: zod validation and the OpenAPI shapes of /admin/api/users/:id/invite and /admin/api/invites/*. */
const token = z.string().min(1).max(200);
export const issueInviteSchema = z
  .object({ currentPassword: z.string().min(1).max(1024).optional() })
  .strict();
export const inviteTokenSchema = z.object({ token }).strict();
export const acceptInviteSchema = z.object({ token, password: z.string().min(8).max(1024) }).strict();

export class IssueInviteBodyDto {
  @ApiProperty({ required: false, description: 'Your own password (inviting to an admin account)' })
  currentPassword?: string;
}

export class IssuedInviteDto {
  @ApiProperty() id!: string;
  @ApiProperty() userId!: string;
  @ApiProperty({ description: 'The one-time link; shown only in this response' }) url!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ description: 'An open invite of the user was revoked by this one' }) replaced!: boolean;
}

class InviteStatusItemDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['open', 'used', 'expired', 'revoked'] }) state!:
    'open' | 'used' | 'expired' | 'revoked';
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) usedAt!: string | null;
  @ApiProperty({ enum: ['password', 'oidc'], nullable: true, type: String }) usedVia!:
    'password' | 'oidc' | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class InviteStatusDto {
  @ApiProperty() userId!: string;
  @ApiProperty({ type: InviteStatusItemDto, nullable: true, description: 'The latest invite' })
  invite!: InviteStatusItemDto | null;
}

export class RevokedInviteDto {
  @ApiProperty() userId!: string;
  @ApiProperty() revoked!: boolean;
}

export class InviteTokenBodyDto {
  @ApiProperty({ description: 'The token from the invite link' }) token!: string;
}

export class AcceptInviteBodyDto extends InviteTokenBodyDto {
  @ApiProperty({ minLength: 8 }) password!: string;
}

class InviteSsoDto {
  @ApiProperty() label!: string;
}

export class InviteInfoDto {
  @ApiProperty() email!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['admin', 'member'] }) role!: 'admin' | 'member';
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ description: 'LOCAL_SIGNIN lets this user set a password' }) canSetPassword!: boolean;
  @ApiProperty({ type: InviteSsoDto, nullable: true }) sso!: InviteSsoDto | null;
}

export class InviteSsoStartDto {
  @ApiProperty({ description: 'Navigate the browser here (the identity provider)' }) url!: string;
}
