import { Controller, Get, Inject, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { AdminGuard, UserGuard } from '../common/admin-guards.js';
import { UsersRepository } from '../auth/users.repository.js';
import { SettingsService } from '../settings/settings.service.js';
import { presentUser } from '../auth/users.service.js';
import { ModelsService } from '../models/models.service.js';
import { AuditListDto, ModelIdsDto, OverviewDto, RequestListDto, SeriesDto, UiContextDto } from './dto.js';
import { InsightsService } from './insights.service.js';
import { USAGE_FILTERS, auditQuery, isAdmin, requestsQuery, seriesQuery, usageQuery } from './usage-query.js';

function UsageFilters(): MethodDecorator {
  return (target, key, desc) => {
    for (const name of USAGE_FILTERS)
      ApiQuery({
        name,
        required: false,
        description: name === 'from' || name === 'to' ? 'ISO date-time' : undefined,
      })(target, key, desc);
  };
}

/**
 * Read APIs of the web admin's pages: overview (pool health, traffic, what needs action), usage over time,
 * latest requests and CSV export (members: only their own), the audit log, and who is signed in with what
 * they may do.
 */
@ApiTags('web admin')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@Controller('admin/api')
export class InsightsController {
  constructor(
    private readonly service: InsightsService,
    private readonly users: UsersRepository,
    private readonly settings: SettingsService,
    private readonly models: ModelsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('ui/context')
  @UseGuards(UserGuard)
  @ApiOperation({ summary: 'Who is signed in and what the web admin may show them' })
  @ApiOkResponse({ type: UiContextDto })
  async context(@CurrentAuth() auth: RequestAuth): Promise<UiContextDto> {
    const user = await this.users.findUser(auth.userId);
    if (!user) throw ApiError.unauthorized('Your session expired. Sign in again.', 'session_expired');
    const membersCanCreateKeys = await this.settings.membersCanCreateKeys();
    return {
      user: presentUser(user),
      canManageKeys: isAdmin(auth) || membersCanCreateKeys,
      membersCanCreateKeys,
      publicUrl: this.config.PUBLIC_URL.replace(/\/+$/, ''),
    };
  }

  @Get('ui/models')
  @UseGuards(UserGuard)
  @ApiOperation({ summary: 'Model ids the gateway serves (for snippets and the allowed-models field)' })
  @ApiOkResponse({ type: ModelIdsDto })
  async modelIds(): Promise<ModelIdsDto> {
    return { data: (await this.models.catalog()).map((m) => m.slug) };
  }

  @Get('overview')
  @UseGuards(AdminGuard)
  @ApiOperation({ summary: 'Pool health, usage-limit windows, last hour of traffic and what needs action' })
  @ApiOkResponse({ type: OverviewDto })
  overview(): Promise<OverviewDto> {
    return this.service.overview();
  }

  @Get('usage/series')
  @UseGuards(UserGuard)
  @UsageFilters()
  @ApiQuery({ name: 'bucket', required: false, enum: ['minute', 'hour', 'day'] })
  @ApiOperation({
    summary:
      'Requests and tokens (by kind) over time; members get only their own (default: last 24 h by hour)',
  })
  @ApiOkResponse({ type: SeriesDto })
  series(@CurrentAuth() auth: RequestAuth, @Query() query: unknown): Promise<SeriesDto> {
    return this.service.series(auth, parseOrThrow(seriesQuery, query ?? {}, 'query'));
  }

  @Get('usage/requests')
  @UseGuards(UserGuard)
  @UsageFilters()
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'before', required: false, type: Number, description: 'id cursor from `next`' })
  @ApiOperation({
    summary: 'Latest requests, newest first; members get only their own (default: last 30 days)',
  })
  @ApiOkResponse({ type: RequestListDto })
  requests(@CurrentAuth() auth: RequestAuth, @Query() query: unknown): Promise<RequestListDto> {
    return this.service.requests(auth, parseOrThrow(requestsQuery, query ?? {}, 'query'));
  }

  @Get('usage/export.csv')
  @UseGuards(UserGuard)
  @UsageFilters()
  @ApiProduces('text/csv')
  @ApiOperation({ summary: 'The requests of a range as CSV (at most 100 000 rows; default: last 30 days)' })
  async csv(@CurrentAuth() auth: RequestAuth, @Query() query: unknown, @Res() reply: FastifyReply) {
    const body = await this.service.csv(auth, parseOrThrow(usageQuery, query ?? {}, 'query'));
    const day = new Date().toISOString().slice(0, 10);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="usage-${day}.csv"`)
      .header('cache-control', 'no-store')
      .send(body);
  }

  @Get('audit')
  @UseGuards(AdminGuard)
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiQuery({ name: 'action', required: false, description: 'prefix, e.g. `key.` or `account.patch`' })
  @ApiQuery({ name: 'actorId', required: false })
  @ApiQuery({ name: 'targetType', required: false })
  @ApiQuery({ name: 'targetId', required: false })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'before', required: false, type: Number })
  @ApiOperation({ summary: 'Audit log (who did what, when), newest first, filterable' })
  @ApiOkResponse({ type: AuditListDto })
  audit(@Query() query: unknown): Promise<AuditListDto> {
    return this.service.audit(parseOrThrow(auditQuery, query ?? {}, 'query'));
  }
}
