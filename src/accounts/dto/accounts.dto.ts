import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { z } from 'zod';

/** Request schemas (zod, validated in the controllers) and their OpenAPI shapes (classes, docs only). */
export const patchAccountSchema = z
  .object({
    label: z.string().max(200).optional(),
    enabled: z.boolean().optional(),
    priority: z.number().int().min(-1000).max(1000).optional(),
    weight: z.number().int().min(0).max(1000).optional(),
    reservePercent: z.number().int().min(0).max(90).optional(),
    maxConcurrent: z.number().int().min(1).max(10_000).nullable().optional(),
    proxyUrl: z.string().max(2048).nullable().optional(),
  })
  .strict();

/** Optional body of oauth/start and device/start: the new account's egress proxy, or the account re-authenticated. */
export const loginStartSchema = z
  .object({
    proxyUrl: z.string().max(2048).nullable().optional(),
    accountId: z.uuid().optional(),
  })
  .strict();

export class LoginStartDto {
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description:
      'Egress proxy for the account (http://, https:// or socks5://, optional user:pass@): the code exchange ' +
      'goes through it and it is stored (sealed) with the account.',
  })
  proxyUrl?: string | null;
  @ApiPropertyOptional({
    description: 'Re-authenticating this account: its stored proxy carries the code exchange.',
  })
  accountId?: string;
}

export const oauthCompleteSchema = z
  .object({ loginId: z.string().min(1).max(100), callbackUrl: z.string().min(1).max(8192) })
  .strict();

export class PatchAccountDto {
  @ApiPropertyOptional() label?: string;
  @ApiPropertyOptional() enabled?: boolean;
  @ApiPropertyOptional({ description: 'Higher first with the priority strategy.' }) priority?: number;
  @ApiPropertyOptional({ description: 'Relative share of traffic.' }) weight?: number;
  @ApiPropertyOptional({
    minimum: 0,
    maximum: 90,
    description: "The owner's reserve: no new work at used % ≥ 100 − reservePercent in either window.",
  })
  reservePercent?: number;
  @ApiPropertyOptional({
    minimum: 1,
    nullable: true,
    type: Number,
    description: 'At most this many requests in flight on the account (null: no cap).',
  })
  maxConcurrent?: number | null;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description:
      'Egress proxy for every upstream call of the account: http://, https:// or socks5://, optional user:pass@. ' +
      'Stored sealed; never returned (the account shows scheme and host:port). null removes it.',
  })
  proxyUrl?: string | null;
}

export class OAuthCompleteDto {
  @ApiProperty() loginId!: string;
  @ApiProperty({
    description: 'The full http://127.0.0.1:1455/auth/callback?code=…&state=… address the browser ended on.',
  })
  callbackUrl!: string;
}

export class ImportAuthJsonDto {
  @ApiPropertyOptional({
    description:
      'The Codex CLI auth.json (object or string). The auth.json itself may also be the whole body.',
  })
  authJson?: unknown;
  @ApiPropertyOptional() label?: string;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description:
      'Egress proxy of the imported account (as PATCH proxyUrl); the refresh already goes through it.',
  })
  proxyUrl?: string | null;
  @ApiPropertyOptional({ description: 'auth.json tokens (when the body is the auth.json itself).' })
  tokens?: unknown;
}

export class AccountUsageTodayDto {
  @ApiProperty() requests!: number;
  @ApiProperty() tokens!: number;
}

export class AccountUsageWindowDto {
  @ApiProperty({ enum: ['short', 'weekly'] }) kind!: string;
  @ApiProperty() usedPercent!: number;
  @ApiProperty() windowSeconds!: number;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) resetsAt!: string | null;
  @ApiProperty({ format: 'date-time', description: 'When this window was read (poll or answer).' })
  asOf!: string;
}

export class AccountUsageDto {
  @ApiProperty({ nullable: true, type: String }) plan!: string | null;
  @ApiProperty({ type: [AccountUsageWindowDto] }) windows!: AccountUsageWindowDto[];
  @ApiProperty({ nullable: true, type: Number }) headroomPercent!: number | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) asOf!: string | null;
}

export class AccountHealthDto {
  @ApiProperty({
    enum: [
      'active',
      'needs_reauth',
      'deactivated',
      'unusable',
      'usage_limit',
      'proxy_unreachable',
      'transient',
      'disabled',
    ],
  })
  cause!: string;
  @ApiProperty({ description: 'false: the pool does not route to it until the cause is fixed or over.' })
  serving!: boolean;
  @ApiProperty() message!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) since!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) until!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'What to do about it.' }) fix!: string | null;
}

/** A model pair the account answered with another model than the one asked for (gateway/served-model.ts). */
export class AccountDowngradeDto {
  @ApiProperty() requested!: string;
  @ApiProperty() served!: string;
  @ApiProperty() count!: number;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastAt!: string | null;
}

export class AccountProxyDto {
  @ApiProperty({
    enum: ['proxy', 'environment', 'direct'],
    description: 'proxy: its own; environment: the gateway’s HTTPS_PROXY/HTTP_PROXY; direct: neither.',
  })
  via!: string;
  @ApiProperty({ nullable: true, type: String, description: 'scheme://host:port, never a credential.' })
  endpoint!: string | null;
  @ApiProperty({ nullable: true, type: String }) scheme!: string | null;
  @ApiProperty({ nullable: true, type: String }) host!: string | null;
  @ApiProperty({ nullable: true, type: Number }) port!: number | null;
  @ApiProperty({
    type: [String],
    description: 'Ids of other accounts leaving through the same proxy endpoint (they share one address).',
  })
  sharedWith!: string[];
}

export class AccountDto {
  @ApiProperty() id!: string;
  @ApiProperty() label!: string;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ enum: ['active', 'needs_reauth', 'unusable', 'deactivated', 'proxy_unreachable'] })
  status!: string;
  @ApiProperty({ nullable: true, type: String }) statusReason!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) statusSince!: string | null;
  @ApiProperty({ type: AccountHealthDto, description: 'The cause in words, since when, and the fix.' })
  health!: AccountHealthDto;
  @ApiProperty({ type: AccountProxyDto, description: 'How its upstream calls leave the gateway.' })
  proxy!: AccountProxyDto;
  @ApiProperty() priority!: number;
  @ApiProperty() weight!: number;
  @ApiProperty() reservePercent!: number;
  @ApiProperty({ nullable: true, type: Number }) maxConcurrent!: number | null;
  @ApiProperty({ nullable: true, type: String }) email!: string | null;
  @ApiProperty() chatgptAccountId!: string;
  @ApiProperty() chatgptUserId!: string;
  @ApiProperty({ nullable: true, type: String }) planType!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) accessTokenExpiresAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastRefreshAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastErrorAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) cooldownUntil!: string | null;
  @ApiProperty({ nullable: true, type: Object, description: 'Latest usage-limit snapshot from upstream.' })
  usageSnapshot!: unknown;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) usageSnapshotAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: AccountUsageTodayDto }) today!: AccountUsageTodayDto;
  @ApiPropertyOptional({
    nullable: true,
    type: AccountUsageDto,
    description: 'Usage windows from wham/usage polls and answers (null: nothing read yet).',
  })
  usage?: AccountUsageDto | null;
  @ApiPropertyOptional({
    type: [AccountDowngradeDto],
    description: 'Answers the backend served with another model than requested (beyond the alias table).',
  })
  downgrades?: AccountDowngradeDto[];
}

export class AccountListDto {
  @ApiProperty({ enum: ['list'] }) object!: 'list';
  @ApiProperty({ type: [AccountDto] }) data!: AccountDto[];
}

export class LoginResultDto {
  @ApiProperty({ type: AccountDto }) account!: AccountDto;
  @ApiProperty({ description: 'false when an existing account (same ChatGPT account and user) was updated.' })
  created!: boolean;
}

export class OAuthStartDto {
  @ApiProperty() loginId!: string;
  @ApiProperty() authorizeUrl!: string;
  @ApiProperty() redirectUri!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
}

export class DeviceStartDto {
  @ApiProperty() loginId!: string;
  @ApiProperty() userCode!: string;
  @ApiProperty() verificationUri!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ description: 'Polling interval in seconds.' }) interval!: number;
}

export class LoginStatusDto {
  @ApiProperty() loginId!: string;
  @ApiProperty({ enum: ['pkce', 'device'] }) kind!: string;
  @ApiProperty({ enum: ['pending', 'completed', 'expired', 'failed'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ nullable: true, type: String }) accountId!: string | null;
  @ApiProperty({ nullable: true, type: Object }) error!: { code: string; message: string } | null;
  @ApiPropertyOptional() userCode?: string;
  @ApiPropertyOptional() verificationUri?: string;
  @ApiPropertyOptional() interval?: number;
}
