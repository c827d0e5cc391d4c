import { Injectable } from '@nestjs/common';
import { UsageService } from '../usage/usage.service.js';
import { PoolService } from '../accounts/pool/pool.service.js';
import type { RequestAuth } from '../common/auth-context.js';
import type { AuditListDto, OverviewDto, RequestListDto, SeriesDto } from './dto.js';
import { InsightsRepository } from './insights.repository.js';
import { buildOverview } from './overview.js';
import {
  isAdmin,
  seriesBucket,
  toCsv,
  usageFilter,
  type AuditQuery,
  type RequestsQuery,
  type SeriesQuery,
  type UsageQuery,
} from './usage-query.js';

/**
 * A request row as its viewer may see it: members never learn which subscription account served them (its
 * label defaults to the owner's email; issue 22 item 7).
 */
function forViewer<R extends { accountId: string | null; accountLabel: string | null }>(
  auth: RequestAuth,
  row: R,
): R {
  return isAdmin(auth) ? row : { ...row, accountId: null, accountLabel: null };
}

/**
 * The I/O behind the web admin's read pages: flush buffered usage rows, query, and hand the rows to the pure
 * rules (overview.ts, usage-query.ts).
 */
@Injectable()
export class InsightsService {
  constructor(
    private readonly insights: InsightsRepository,
    private readonly usage: UsageService,
    private readonly pool: PoolService,
  ) {}

  async overview(): Promise<OverviewDto> {
    const now = Date.now();
    await this.usage.flush();
    const [rows, lastHour] = await Promise.all([
      this.insights.accountsForOverview(),
      this.insights.totals({ from: new Date(now - 3600_000), to: new Date(now + 1000) }),
    ]);
    const [states, forecast] = await Promise.all([
      this.pool.usage.getMany(rows.map((r) => r.id)).catch(() => new Map()),
      this.pool.forecast().catch(() => []),
    ]);
    return buildOverview(
      rows,
      lastHour,
      now,
      states,
      forecast.map((f) => ({
        kind: f.kind,
        dryAt: f.dryAt === null ? null : new Date(f.dryAt).toISOString(),
        burnTokensPerHour: f.burnTokensPerHour,
        resetsBefore: f.resetsBefore,
      })),
    );
  }

  async series(auth: RequestAuth, q: SeriesQuery): Promise<SeriesDto> {
    const f = usageFilter(auth, q, 1, Date.now());
    const bucket = seriesBucket(f, q.bucket);
    await this.usage.flush();
    const [data, totals, models] = await Promise.all([
      this.insights.series(f, bucket),
      this.insights.totals(f),
      this.insights.distinctModels(isAdmin(auth) ? undefined : auth.userId),
    ]);
    return { bucket, from: f.from.toISOString(), to: f.to.toISOString(), totals, data, models };
  }

  async requests(auth: RequestAuth, q: RequestsQuery): Promise<RequestListDto> {
    await this.usage.flush();
    const rows = await this.insights.requests(usageFilter(auth, q, 30, Date.now()), q.limit, q.before);
    const data = rows.map((r) => forViewer(auth, r));
    return { object: 'list', data, next: data.length === q.limit ? data[data.length - 1].id : null };
  }

  /** The CSV export (at most 100 000 rows). */
  async csv(auth: RequestAuth, q: UsageQuery): Promise<string> {
    await this.usage.flush();
    const rows = await this.insights.requests(usageFilter(auth, q, 30, Date.now()), 100_000);
    return toCsv(rows.map((r) => forViewer(auth, r)));
  }

  async audit(q: AuditQuery): Promise<AuditListDto> {
    const data = await this.insights.audit(q);
    return { object: 'list', data, next: data.length === q.limit ? data[data.length - 1].id : null };
  }
}
