import { ApiProperty } from '@nestjs/swagger';

/** OpenAPI shapes of limits and usage counters, shared by the keys and users endpoints (validation is zod). */
export class LimitsDto {
  @ApiProperty({ nullable: true, type: Number, description: 'Requests per minute' }) rpm!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Tokens per minute' }) tpm!: number | null;
  @ApiProperty({ nullable: true, type: Number }) dailyTokenQuota!: number | null;
  @ApiProperty({ nullable: true, type: Number }) monthlyTokenQuota!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'Monthly budget in equivalent metered-API USD (docs/cost.md); null = none',
  })
  monthlyBudgetUsd!: number | null;
}

export class KeyUsageDto {
  @ApiProperty() requestsThisMinute!: number;
  @ApiProperty() tokensThisMinute!: number;
  @ApiProperty() tokensToday!: number;
  @ApiProperty() tokensThisMonth!: number;
  @ApiProperty({ description: 'Equivalent USD reserved and spent this month (UTC), as the budget counts it' })
  spentThisMonthUsd!: number;
}

/** Limits in a request body: positive integers, null clears one, absent leaves it. */
export class LimitsInputDto {
  @ApiProperty({ required: false, nullable: true, type: Number }) rpm?: number | null;
  @ApiProperty({ required: false, nullable: true, type: Number }) tpm?: number | null;
  @ApiProperty({ required: false, nullable: true, type: Number }) dailyTokenQuota?: number | null;
  @ApiProperty({ required: false, nullable: true, type: Number }) monthlyTokenQuota?: number | null;
  @ApiProperty({
    required: false,
    nullable: true,
    type: Number,
    description: 'Monthly budget in equivalent USD, > 0, at most 6 decimals, at most 1000000; null clears it',
  })
  monthlyBudgetUsd?: number | null;
}
