import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { parseOrThrow } from '../common/validation.js';
import { AdminGuard } from '../common/admin-guards.js';
import { UsageRepository } from './usage.repository.js';
import { UsageService } from './usage.service.js';

const query = z.object({
  group_by: z.enum(['day', 'key', 'user', 'account', 'model']).default('day'),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
});

@ApiTags('usage')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@Controller('admin/api/usage')
@UseGuards(AdminGuard)
export class UsageController {
  constructor(
    private readonly repo: UsageRepository,
    private readonly usage: UsageService,
  ) {}

  /** Sums of requests and tokens grouped by day/key/user/account/model over [from, to) (default: last 30 days). */
  @Get()
  @ApiQuery({ name: 'group_by', required: false, enum: ['day', 'key', 'user', 'account', 'model'] })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  async aggregate(@Query() q: unknown) {
    const { group_by, from, to } = parseOrThrow(query, q ?? {}, 'query');
    const end = to ?? new Date();
    const start = from ?? new Date(end.getTime() - 30 * 86400_000);
    await this.usage.flush();
    return {
      object: 'list',
      group_by,
      from: start.toISOString(),
      to: end.toISOString(),
      data: await this.repo.aggregate(group_by, start, end),
    };
  }
}
