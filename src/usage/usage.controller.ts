import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { parseOrThrow } from '../common/validation.js';
import { AdminGuard } from '../common/admin-guards.js';
import { UsageRepository } from './usage.repository.js';
import { UsageService } from './usage.service.js';
import { PricingService } from '../pricing/pricing.service.js';
import { monthRange, savings } from './savings.js';
import { SavingsDto, UsageAggregateDto, UserBudgetListDto } from './usage.dto.js';
import { LimitsService } from '../limits/limits.service.js';

const query = z.object({
  group_by: z.enum(['day', 'key', 'user', 'account', 'model']).default('day'),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
});

const savingsQuery = z
  .object({
    month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected YYYY-MM')
      .optional(),
  })
  .strict();

@ApiTags('usage')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@Controller('admin/api/usage')
@UseGuards(AdminGuard)
export class UsageController {
  constructor(
    private readonly repo: UsageRepository,
    private readonly usage: UsageService,
    private readonly pricing: PricingService,
    private readonly limits: LimitsService,
  ) {}

  /** Each user with a monthly budget in USD: what this month's admissions reserved and spent of it. */
  @Get('budgets')
  @ApiOkResponse({ type: UserBudgetListDto })
  async budgets(): Promise<UserBudgetListDto> {
    const users = await this.repo.budgetedUsers();
    const data = await Promise.all(
      users.map(async (u) => {
        const b = await this.limits.budget('user', u.id, u.budgetUsd);
        return {
          userId: u.id,
          budgetUsd: u.budgetUsd,
          spentUsd: b.spentUsd,
          remainingUsd: b.remainingUsd ?? 0,
          resetsAt: b.resetsAt,
        };
      }),
    );
    return { object: 'list', data };
  }

  /**
   * "What the pool saved" in a calendar month (UTC; default: this one): the equivalent metered-API cost of its
   * requests (as recorded per row) against the subscriptions' monthly prices.
   */
  @Get('savings')
  @ApiQuery({ name: 'month', required: false, description: 'YYYY-MM (UTC); default: the current month' })
  @ApiOkResponse({ type: SavingsDto })
  async savings(@Query() q: unknown): Promise<SavingsDto> {
    const { month } = parseOrThrow(savingsQuery, q ?? {}, 'query');
    const range = monthRange(month ?? new Date().toISOString().slice(0, 7));
    await this.usage.flush();
    const [byAccount, accounts] = await Promise.all([
      this.repo.aggregate('account', range.from, range.to),
      this.pricing.accountPrices(),
    ]);
    return { object: 'usage.savings', ...savings(range, byAccount, accounts), currency: 'USD' };
  }

  /** Sums of requests and tokens grouped by day/key/user/account/model over [from, to) (default: last 30 days). */
  @Get()
  @ApiQuery({ name: 'group_by', required: false, enum: ['day', 'key', 'user', 'account', 'model'] })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiOkResponse({ type: UsageAggregateDto })
  async aggregate(@Query() q: unknown): Promise<UsageAggregateDto> {
    const { group_by, from, to } = parseOrThrow(query, q ?? {}, 'query');
    const end = to ?? new Date();
    const start = from ?? new Date(end.getTime() - 30 * 86400_000);
    await this.usage.flush();
    return {
      object: 'list',
      group_by,
      from: start.toISOString(),
      to: end.toISOString(),
      data: await this.repo.labelled(group_by, await this.repo.aggregate(group_by, start, end)),
    };
  }
}
