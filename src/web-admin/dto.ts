import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { UserDto } from '../auth/dto/users.response.js';

/** OpenAPI shapes of the web admin's endpoints (docs and the generated client; validation is zod). */
export { UserDto };

export class UsageWindowDto {
  @ApiProperty() usedPercent!: number;
  @ApiProperty({ nullable: true, type: Number }) windowMinutes!: number | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) resetsAt!: string | null;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'When this window was read (wham/usage poll or an answer)',
  })
  asOf?: string | null;
}

export class PoolAccountDto {
  @ApiProperty() id!: string;
  @ApiProperty() label!: string;
  @ApiProperty({ nullable: true, type: String }) email!: string | null;
  @ApiProperty({ nullable: true, type: String }) planType!: string | null;
  @ApiProperty({ enum: ['healthy', 'cooling_down', 'needs_reauth', 'disabled', 'unusable'] })
  state!: 'healthy' | 'cooling_down' | 'needs_reauth' | 'disabled' | 'unusable';
  @ApiProperty({ nullable: true, type: String }) statusReason!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) cooldownUntil!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) accessTokenExpiresAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastRefreshAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ nullable: true, type: UsageWindowDto, description: 'The short (5-hour) usage-limit window' })
  short!: UsageWindowDto | null;
  @ApiProperty({ nullable: true, type: UsageWindowDto, description: 'The long (weekly) usage-limit window' })
  long!: UsageWindowDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) usageSnapshotAt!: string | null;
}

export class PoolCountsDto {
  @ApiProperty() total!: number;
  @ApiProperty() healthy!: number;
  @ApiProperty() coolingDown!: number;
  @ApiProperty() needsReauth!: number;
  @ApiProperty() disabled!: number;
  @ApiProperty() unusable!: number;
}

export class TrafficDto {
  @ApiProperty() requests!: number;
  @ApiProperty() errors!: number;
  @ApiProperty() tokens!: number;
}

export class ActionDto {
  @ApiProperty({ enum: ['add_account', 'reauth', 'unusable', 'refresh_failing', 'all_cooling'] })
  kind!: 'add_account' | 'reauth' | 'unusable' | 'refresh_failing' | 'all_cooling';
  @ApiProperty({ nullable: true, type: String }) accountId!: string | null;
  @ApiProperty() message!: string;
}

export class WindowForecastDto {
  @ApiProperty({ enum: ['short', 'weekly'] }) kind!: 'short' | 'weekly';
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description:
      "When the pool's headroom in this window is gone at the last hour's rate (null: nothing spent)",
  })
  dryAt!: string | null;
  @ApiProperty() burnTokensPerHour!: number;
  @ApiProperty({ description: 'Accounts whose window resets before dryAt' }) resetsBefore!: number;
}

export class OverviewDto {
  @ApiProperty({ type: PoolCountsDto }) accounts!: PoolCountsDto;
  @ApiProperty({ type: TrafficDto }) lastHour!: TrafficDto;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) soonestReset!: string | null;
  @ApiProperty({ type: [ActionDto], description: 'What needs the admin, most urgent first' })
  actions!: ActionDto[];
  @ApiProperty({ type: [PoolAccountDto] }) pool!: PoolAccountDto[];
  @ApiPropertyOptional({
    type: [WindowForecastDto],
    description: "The pool's windows at the last hour's rate",
  })
  forecast?: WindowForecastDto[];
}

export class UiContextDto {
  @ApiProperty({ type: UserDto }) user!: UserDto;
  @ApiProperty({ description: 'Whether this user may list/create their keys here' }) canManageKeys!: boolean;
  @ApiProperty() membersCanCreateKeys!: boolean;
  @ApiProperty({ description: 'The base URL clients use (PUBLIC_URL)' }) publicUrl!: string;
}

export class SeriesPointDto {
  @ApiProperty({ format: 'date-time' }) t!: string;
  @ApiProperty() requests!: number;
  @ApiProperty() errors!: number;
  @ApiProperty() inputTokens!: number;
  @ApiProperty() cachedTokens!: number;
  @ApiProperty() outputTokens!: number;
  @ApiProperty() reasoningTokens!: number;
  @ApiProperty() totalTokens!: number;
}

export class SeriesDto {
  @ApiProperty({ enum: ['minute', 'hour', 'day'] }) bucket!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ type: TrafficDto }) totals!: TrafficDto;
  @ApiProperty({ type: [SeriesPointDto] }) data!: SeriesPointDto[];
  @ApiProperty({ type: [String], description: 'Models seen recently (for the filter)' }) models!: string[];
}

export class RequestRowDto {
  @ApiProperty() id!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty() requestId!: string;
  @ApiProperty({ nullable: true, type: String }) keyId!: string | null;
  @ApiProperty({ nullable: true, type: String }) keyName!: string | null;
  @ApiProperty({ nullable: true, type: String }) keyPrefix!: string | null;
  @ApiProperty({ nullable: true, type: String }) userId!: string | null;
  @ApiProperty({ nullable: true, type: String }) userEmail!: string | null;
  @ApiProperty({ nullable: true, type: String }) accountId!: string | null;
  @ApiProperty({ nullable: true, type: String }) accountLabel!: string | null;
  @ApiProperty() model!: string;
  @ApiProperty() endpoint!: string;
  @ApiProperty() stream!: boolean;
  @ApiProperty() status!: number;
  @ApiProperty({ nullable: true, type: String }) errorClass!: string | null;
  @ApiProperty() inputTokens!: number;
  @ApiProperty() cachedTokens!: number;
  @ApiProperty() outputTokens!: number;
  @ApiProperty() reasoningTokens!: number;
  @ApiProperty() totalTokens!: number;
  @ApiProperty({ nullable: true, type: Number }) ttfbMs!: number | null;
  @ApiProperty() durationMs!: number;
  @ApiProperty() attempts!: number;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Equivalent API cost in USD (decimal); null = no price',
  })
  costUsd!: string | null;
}

export class RequestListDto {
  @ApiProperty({ enum: ['list'] }) object!: 'list';
  @ApiProperty({ type: [RequestRowDto] }) data!: RequestRowDto[];
  @ApiProperty({ nullable: true, type: Number, description: 'Pass as `before` for the next page' })
  next!: number | null;
}

export class AuditEntryDto {
  @ApiProperty() id!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty() actorType!: string;
  @ApiProperty({ nullable: true, type: String }) actorId!: string | null;
  @ApiProperty({ nullable: true, type: String }) actorEmail!: string | null;
  @ApiProperty() action!: string;
  @ApiProperty({ nullable: true, type: String }) targetType!: string | null;
  @ApiProperty({ nullable: true, type: String }) targetId!: string | null;
  @ApiProperty({ nullable: true, type: Object }) details!: Record<string, unknown> | null;
}

export class AuditListDto {
  @ApiProperty({ enum: ['list'] }) object!: 'list';
  @ApiProperty({ type: [AuditEntryDto] }) data!: AuditEntryDto[];
  @ApiProperty({ nullable: true, type: Number }) next!: number | null;
}

export class ModelIdsDto {
  @ApiProperty({ type: [String] }) data!: string[];
}
