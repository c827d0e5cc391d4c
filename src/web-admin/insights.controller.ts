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
import { z } from 'zod';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { AdminGuard, UserGuard } from '../common/admin-guards.js';
import { UsersRepository } from '../auth/users.repository.js';
import { SettingsService } from '../settings/settings.service.js';
import { presentUser } from '../auth/users.service.js';
import { UsageService } from '../usage/usage.service.js';
import { ModelsService } from '../models/models.service.js';
import {
  AuditListDto,
  ModelIdsDto,
  OverviewDto,
  PoolAccountDto,
  RequestListDto,
  SeriesDto,
  UiContextDto,
  UsageWindowDto,
} from './dto.js';
import { InsightsRepository, type UsageFilter } from './insights.repository.js';
import { PoolService } from '../accounts/pool/pool.service.js';
import type { UsageWindow } from '../accounts/pool/usage-state.js';

const uuid = z.string().uuid();
const usageQuery = z
  .object({
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    keyId: uuid.optional(),
    userId: uuid.optional(),
    accountId: uuid.optional(),
    model: z.string().max(200).optional(),
  })
  .strict();
const seriesQuery = usageQuery.extend({ bucket: z.enum(['minute', 'hour', 'day']).optional() }).strict();
const requestsQuery = usageQuery
  .extend({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();
const auditQuery = z
  .object({
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    action: z.string().max(100).optional(),
    actorId: z.string().max(100).optional(),
    targetType: z.string().max(50).optional(),
    targetId: z.string().max(100).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();

const USAGE_FILTERS = ['from', 'to', 'keyId', 'userId', 'accountId', 'model'] as const;
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

const isAdmin = (a: RequestAuth) => a.role === 'admin' && (a.kind === 'session' || a.scope === 'admin');
const DAY = 86400_000;

function windowOf(w: unknown): UsageWindowDto | null {
  if (!w || typeof w !== 'object') return null;
  const o = w as { usedPercent?: unknown; windowMinutes?: unknown; resetsAt?: unknown };
  if (typeof o.usedPercent !== 'number') return null;
  return {
    usedPercent: o.usedPercent,
    windowMinutes: typeof o.windowMinutes === 'number' ? o.windowMinutes : null,
    resetsAt: typeof o.resetsAt === 'number' ? new Date(o.resetsAt).toISOString() : null,
  };
}

/** A window of the pool's usage state, as the overview shows it (0 % once its reset time passed). */
function stateWindow(w: UsageWindow | null | undefined, now: number): UsageWindowDto | null {
  if (!w) return null;
  const reset = w.resetsAt !== null && w.resetsAt <= now;
  return {
    usedPercent: reset ? 0 : w.usedPercent,
    windowMinutes: Math.round(w.windowSeconds / 60),
    resetsAt: w.resetsAt !== null && !reset ? new Date(w.resetsAt).toISOString() : null,
    asOf: new Date(w.asOf).toISOString(),
  };
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote, and neutralise spreadsheet formulas (a cell starting with = + - @).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
};

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
    private readonly insights: InsightsRepository,
    private readonly users: UsersRepository,
    private readonly settings: SettingsService,
    private readonly usage: UsageService,
    private readonly models: ModelsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly pool: PoolService,
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
  async overview(): Promise<OverviewDto> {
    const now = Date.now();
    await this.usage.flush();
    const [rows, lastHour] = await Promise.all([
      this.insights.accountsForOverview(),
      this.insights.totals({ from: new Date(now - 3600_000), to: new Date(now + 1000) }),
    ]);
    // The pool's usage state (polled from wham/usage and fed by every answer) first; the stored snapshot of the
    // last answer's headers for an account the poller has not read yet.
    const [states, forecast] = await Promise.all([
      this.pool.usage.getMany(rows.map((r) => r.id)).catch(() => new Map()),
      this.pool.forecast().catch(() => []),
    ]);
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    const pool: PoolAccountDto[] = rows.map((r) => {
      const snap = (r.usageSnapshot ?? null) as { short?: unknown; long?: unknown } | null;
      const state: PoolAccountDto['state'] = !r.enabled
        ? 'disabled'
        : r.status === 'needs_reauth'
          ? 'needs_reauth'
          : r.status === 'unusable'
            ? 'unusable'
            : r.cooldownUntil && r.cooldownUntil.getTime() > now
              ? 'cooling_down'
              : 'healthy';
      return {
        id: r.id,
        label: r.label,
        email: r.email,
        planType: r.planType,
        state,
        statusReason: r.statusReason,
        cooldownUntil: state === 'cooling_down' ? iso(r.cooldownUntil) : null,
        accessTokenExpiresAt: iso(r.accessTokenExpiresAt),
        lastRefreshAt: iso(r.lastRefreshAt),
        lastError: r.lastError,
        short: stateWindow(states.get(r.id)?.short, now) ?? windowOf(snap?.short),
        long: stateWindow(states.get(r.id)?.weekly, now) ?? windowOf(snap?.long),
        usageSnapshotAt: iso(r.usageSnapshotAt),
      };
    });
    const count = (s: PoolAccountDto['state']) => pool.filter((p) => p.state === s).length;
    const accounts = {
      total: pool.length,
      healthy: count('healthy'),
      coolingDown: count('cooling_down'),
      needsReauth: count('needs_reauth'),
      disabled: count('disabled'),
      unusable: count('unusable'),
    };
    const resets = pool
      .flatMap((p) => [p.cooldownUntil, p.short?.resetsAt ?? null, p.long?.resetsAt ?? null])
      .filter((t): t is string => !!t && Date.parse(t) > now)
      .sort();
    const actions: OverviewDto['actions'] = [];
    const name = (p: PoolAccountDto) => p.label || p.email || p.id.slice(0, 8);
    if (!pool.length)
      actions.push({
        kind: 'add_account',
        accountId: null,
        message: 'No subscription account yet: add one so keys can be served.',
      });
    for (const p of pool) {
      if (p.state === 'needs_reauth')
        actions.push({
          kind: 'reauth',
          accountId: p.id,
          message: `${name(p)} needs to be logged in again (its refresh token no longer works).`,
        });
      else if (p.state === 'unusable')
        actions.push({
          kind: 'unusable',
          accountId: p.id,
          message: `${name(p)} cannot serve requests${p.statusReason ? ` (${p.statusReason})` : ''}.`,
        });
      else if (
        p.state !== 'disabled' &&
        p.lastError &&
        p.accessTokenExpiresAt &&
        Date.parse(p.accessTokenExpiresAt) < now
      )
        actions.push({
          kind: 'refresh_failing',
          accountId: p.id,
          message: `${name(p)}: its access token expired and the last refresh failed.`,
        });
    }
    if (pool.length && accounts.healthy === 0 && accounts.coolingDown > 0)
      actions.push({
        kind: 'all_cooling',
        accountId: null,
        message: 'Every usable account is cooling down: requests fail until the soonest reset.',
      });
    return {
      accounts,
      lastHour,
      soonestReset: resets[0] ?? null,
      actions,
      pool,
      forecast: forecast.map((f) => ({
        kind: f.kind,
        dryAt: f.dryAt === null ? null : new Date(f.dryAt).toISOString(),
        burnTokensPerHour: f.burnTokensPerHour,
        resetsBefore: f.resetsBefore,
      })),
    };
  }

  private usageFilter(auth: RequestAuth, q: z.infer<typeof usageQuery>, defaultDays: number): UsageFilter {
    const to = q.to ?? new Date(Date.now() + 1000);
    const from = q.from ?? new Date(to.getTime() - defaultDays * DAY);
    if (from >= to) throw ApiError.badRequest("'from' must be before 'to'.", 'from', 'invalid_value');
    return {
      from,
      to,
      keyId: q.keyId,
      // Members see only their own traffic, whatever they ask for.
      userId: isAdmin(auth) ? q.userId : auth.userId,
      accountId: isAdmin(auth) ? q.accountId : undefined,
      model: q.model,
    };
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
  async series(@CurrentAuth() auth: RequestAuth, @Query() query: unknown): Promise<SeriesDto> {
    const q = parseOrThrow(seriesQuery, query ?? {}, 'query');
    const f = this.usageFilter(auth, q, 1);
    const span = f.to.getTime() - f.from.getTime();
    const bucket = q.bucket ?? (span <= 3 * 3600_000 ? 'minute' : span <= 3 * DAY ? 'hour' : 'day');
    if ((bucket === 'minute' && span > 2 * DAY) || (bucket === 'hour' && span > 93 * DAY))
      throw ApiError.badRequest(
        'Too many buckets for this range; use a larger bucket.',
        'bucket',
        'invalid_value',
      );
    await this.usage.flush();
    const [data, totals, models] = await Promise.all([
      this.insights.series(f, bucket),
      this.insights.totals(f),
      this.insights.distinctModels(),
    ]);
    return { bucket, from: f.from.toISOString(), to: f.to.toISOString(), totals, data, models };
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
  async requests(@CurrentAuth() auth: RequestAuth, @Query() query: unknown): Promise<RequestListDto> {
    const q = parseOrThrow(requestsQuery, query ?? {}, 'query');
    await this.usage.flush();
    const data = await this.insights.requests(this.usageFilter(auth, q, 30), q.limit, q.before);
    return { object: 'list', data, next: data.length === q.limit ? data[data.length - 1].id : null };
  }

  @Get('usage/export.csv')
  @UseGuards(UserGuard)
  @UsageFilters()
  @ApiProduces('text/csv')
  @ApiOperation({ summary: 'The requests of a range as CSV (at most 100 000 rows; default: last 30 days)' })
  async csv(@CurrentAuth() auth: RequestAuth, @Query() query: unknown, @Res() reply: FastifyReply) {
    const q = parseOrThrow(usageQuery, query ?? {}, 'query');
    await this.usage.flush();
    const rows = await this.insights.requests(this.usageFilter(auth, q, 30), 100_000);
    const cols = [
      'createdAt',
      'requestId',
      'userEmail',
      'keyName',
      'keyPrefix',
      'accountLabel',
      'model',
      'endpoint',
      'stream',
      'status',
      'errorClass',
      'inputTokens',
      'cachedTokens',
      'outputTokens',
      'reasoningTokens',
      'totalTokens',
      'ttfbMs',
      'durationMs',
      'attempts',
    ] as const;
    const lines = [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))];
    const day = new Date().toISOString().slice(0, 10);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="usage-${day}.csv"`)
      .header('cache-control', 'no-store')
      .send(lines.join('\r\n') + '\r\n');
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
  async audit(@Query() query: unknown): Promise<AuditListDto> {
    const q = parseOrThrow(auditQuery, query ?? {}, 'query');
    const data = await this.insights.audit(q);
    return { object: 'list', data, next: data.length === q.limit ? data[data.length - 1].id : null };
  }
}
