import { ApiProperty } from '@nestjs/swagger';

/** OpenAPI shapes of /admin/api/usage and /admin/api/usage/savings (the web admin's typed client reads them). */
export class UsageGroupDto {
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Day (YYYY-MM-DD), key/user/account id or model',
  })
  group!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: "Display name: the key's name (prefix), the user's email, the account's label",
  })
  label!: string | null;
  @ApiProperty() requests!: number;
  @ApiProperty() errors!: number;
  @ApiProperty() input_tokens!: number;
  @ApiProperty() cached_tokens!: number;
  @ApiProperty() output_tokens!: number;
  @ApiProperty() reasoning_tokens!: number;
  @ApiProperty() total_tokens!: number;
  @ApiProperty({
    description: "Sum of the rows' equivalent costs (USD, as recorded); unpriced rows add nothing",
  })
  cost_usd!: number;
  @ApiProperty({ description: 'Requests whose model had no price when written' })
  unpriced_requests!: number;
}

export class UsageAggregateDto {
  @ApiProperty({ enum: ['list'] }) object!: 'list';
  @ApiProperty({ enum: ['day', 'key', 'user', 'account', 'model'] }) group_by!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ type: [UsageGroupDto] }) data!: UsageGroupDto[];
}

export class SavingsAccountDto {
  @ApiProperty() id!: string;
  @ApiProperty() label!: string;
  @ApiProperty({ nullable: true, type: String }) plan!: string | null;
  @ApiProperty({ nullable: true, type: Number, description: 'null = unknown (no plan default, none set)' })
  monthly_usd!: number | null;
  @ApiProperty({ nullable: true, enum: ['account', 'plan'], type: String })
  monthly_origin!: 'account' | 'plan' | null;
  @ApiProperty() requests!: number;
  @ApiProperty() equivalent_cost_usd!: number;
  @ApiProperty() unpriced_requests!: number;
}

export class SavingsDto {
  @ApiProperty({ enum: ['usage.savings'] }) object!: 'usage.savings';
  @ApiProperty({ description: 'YYYY-MM (UTC)' }) month!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ enum: ['USD'] }) currency!: 'USD';
  @ApiProperty() equivalent_cost_usd!: number;
  @ApiProperty() subscriptions_usd!: number;
  @ApiProperty({ description: 'equivalent_cost_usd − subscriptions_usd (negative: the pool cost more)' })
  saved_usd!: number;
  @ApiProperty() unpriced_requests!: number;
  @ApiProperty({ description: 'false when an account has no known price or requests had no price' })
  complete!: boolean;
  @ApiProperty({ type: [SavingsAccountDto] }) accounts!: SavingsAccountDto[];
}

export class UserBudgetDto {
  @ApiProperty() userId!: string;
  @ApiProperty({ description: 'Monthly budget in equivalent USD' }) budgetUsd!: number;
  @ApiProperty({ description: 'Reserved and spent this month (UTC), as the admission counts it' })
  spentUsd!: number;
  @ApiProperty() remainingUsd!: number;
  @ApiProperty({ format: 'date-time' }) resetsAt!: string;
}

export class UserBudgetListDto {
  @ApiProperty({ enum: ['list'] }) object!: 'list';
  @ApiProperty({ type: [UserBudgetDto] }) data!: UserBudgetDto[];
}
