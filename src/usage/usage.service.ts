import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PricingService } from '../pricing/pricing.service.js';
import { UsageRepository, type UsageRow } from './usage.repository.js';

/**
 * Usage records written off the hot path: requests append to an in-memory buffer that is flushed in batched
 * INSERTs every second (or at BATCH rows), and on shutdown, so no record is lost on a graceful stop.
 *
 * Failure handling (docs/reliability.md):
 * - Postgres unreachable: rows stay in the buffer (bounded by USAGE_BUFFER_MAX_ROWS; beyond it the oldest rows
 *   are dropped and counted) and are written once Postgres answers again.
 * - Postgres refuses a row (bad data): the failed batch is split in halves until the refused rows are isolated;
 *   those are logged, counted and dropped, every other row is written. One bad row never blocks the others.
 */
export const FLUSH_MS = 1000;
const BATCH = 500;

/** Strings Postgres refuses in text columns (NUL) are stripped so the row is still accounted for. */
function sanitize(row: UsageRow): UsageRow {
  const clean = (s: string) => (s.includes('\u0000') ? s.replaceAll('\u0000', '') : s);
  return {
    ...row,
    requestId: clean(row.requestId),
    model: clean(row.model),
    endpoint: clean(row.endpoint),
    errorClass: row.errorClass === null ? null : clean(row.errorClass),
  };
}

@Injectable()
export class UsageService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('usage');
  private buffer: UsageRow[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly maxHeld: number;
  private outage = false;
  readonly held: Gauge<string>;
  readonly written: Counter<string>;
  readonly dropped: Counter<string>;

  constructor(
    private readonly repo: UsageRepository,
    metrics: MetricsService,
    private readonly pricing: PricingService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.maxHeld = config.USAGE_BUFFER_MAX_ROWS;
    const registers = [metrics.registry];
    this.held = new Gauge({
      name: 'cg_usage_rows_held',
      help: 'Usage rows waiting in memory to be written (grows while Postgres is unreachable)',
      registers,
      collect: () => this.held.set(this.buffer.length),
    });
    this.written = new Counter({
      name: 'cg_usage_rows_written_total',
      help: 'Usage rows written to Postgres',
      registers,
    });
    this.dropped = new Counter({
      name: 'cg_usage_rows_dropped_total',
      help: 'Usage rows lost: refused by Postgres (rejected) or beyond the in-memory bound (overflow)',
      labelNames: ['reason'],
      registers,
    });
    this.dropped.inc({ reason: 'rejected' }, 0);
    this.dropped.inc({ reason: 'overflow' }, 0);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** A key's equivalent spend this calendar month (UTC), rows still in the buffer included (flushed first). */
  async monthSpend(keyId: string, now = new Date()) {
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    await this.flush();
    return {
      month: from.toISOString().slice(0, 7),
      currency: 'USD',
      ...(await this.repo.keyCost(keyId, from, to)),
    };
  }

  /** Rows waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  /**
   * Appends a row; its equivalent cost is computed now, at the prices in force (a later change never rewrites it),
   * for `pricedModel` (the model that went upstream, as the money budget prices it) when given, else `model`
   * (which stays the client's name, for display).
   */
  record({
    pricedModel,
    ...row
  }: Omit<UsageRow, 'createdAt' | 'costUsd'> & { pricedModel?: string | null }): void {
    const costUsd = this.pricing.costOf(pricedModel || row.model, {
      input: row.inputTokens,
      cached: row.cachedTokens,
      output: row.outputTokens,
    });
    this.buffer.push(sanitize({ ...row, costUsd, createdAt: new Date() }));
    this.enforceBound();
    if (this.buffer.length >= BATCH && !this.outage) void this.flush();
  }

  private enforceBound(): void {
    const over = this.buffer.length - this.maxHeld;
    if (over <= 0) return;
    this.buffer.splice(0, over);
    this.dropped.inc({ reason: 'overflow' }, over);
    this.logger.error({ dropped: over, held: this.buffer.length }, 'usage buffer full: oldest rows dropped');
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.drain());
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length) {
      const rows = this.buffer.splice(0, BATCH);
      try {
        await this.repo.insertMany(rows);
        this.written.inc(rows.length);
        if (this.outage) {
          this.outage = false;
          this.logger.log({ pending: this.buffer.length }, 'usage writes resumed');
        }
        continue;
      } catch (err) {
        if (!(await this.repo.reachable())) {
          // Postgres is down: keep every row (in order) for the next flush.
          this.buffer = [...rows, ...this.buffer];
          this.enforceBound();
          if (!this.outage)
            this.logger.error(
              { err: (err as Error).message, held: this.buffer.length },
              'usage flush failed: Postgres unreachable, holding rows',
            );
          this.outage = true;
          return;
        }
      }
      // Postgres answers but refused the batch: isolate the refused rows.
      const requeue = await this.isolate(rows);
      if (requeue.length) {
        // Postgres went away while splitting: keep what is not written yet.
        this.buffer = [...requeue, ...this.buffer];
        this.enforceBound();
        this.outage = true;
        return;
      }
    }
  }

  /** Writes `rows` by halves; drops the single rows Postgres refuses. Returns rows left unwritten by an outage. */
  private async isolate(rows: UsageRow[]): Promise<UsageRow[]> {
    try {
      await this.repo.insertMany(rows);
      this.written.inc(rows.length);
      return [];
    } catch (err) {
      if (!(await this.repo.reachable())) return rows;
      if (rows.length === 1) {
        const r = rows[0];
        this.dropped.inc({ reason: 'rejected' });
        this.logger.error(
          {
            err: (err as Error).message.slice(-300),
            requestId: r.requestId,
            keyId: r.keyId,
            model: JSON.stringify(r.model.slice(0, 80)),
          },
          'usage row refused by Postgres: dropped',
        );
        return [];
      }
      const mid = rows.length >> 1;
      const left = await this.isolate(rows.slice(0, mid));
      if (left.length) return [...left, ...rows.slice(mid)];
      return this.isolate(rows.slice(mid));
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.buffer.length)
      this.logger.error({ lost: this.buffer.length }, 'usage rows not written at shutdown (Postgres down)');
  }
}
