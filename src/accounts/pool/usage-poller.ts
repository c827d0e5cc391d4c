import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { RedisService } from '../../redis/redis.service.js';
import { AccountSource, type PoolAccount } from '../account-source.js';
import { AccountEvents } from '../account-events.js';
import { AccountsRepository } from '../accounts.repository.js';
import { PoolService } from './pool.service.js';
import { firstPollDelay, nextPollDelay } from './poll-schedule.js';
import { UsageProbe } from './usage-probe.js';

/** The list of accounts is read again this often (besides every account change event). */
const RESYNC_MS = 60_000;
/** A poll of one account by any worker replica within this long is not repeated by another. */
const POLL_CLAIM_MS = 20_000;

export type PollOutcome = 'ok' | 'http_error' | 'unreadable' | 'network_error' | 'skipped';

/**
 * The usage poller (worker role): reads each routable account's windows from `GET {chatgpt base}/wham/usage`
 * without spending a request — at start and as soon as an account appears (import, login, re-enable), then on
 * the jittered schedule of poll-schedule.ts. One replica polls an account at a time (a Redis claim).
 *
 * A failed poll (4xx, 5xx, timeout, unreadable body) NEVER changes the account's status and never cools it down:
 * it is counted (`cg_usage_poll_total{outcome}`), logged, and the snapshot simply ages until the next poll.
 */
@Injectable()
export class UsagePoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('usage-poller');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly known = new Map<string, PoolAccount>();
  private readonly polls: Counter<string>;
  private readonly dry: Gauge<string>;
  private forecastAt = 0;
  private stopped = false;
  private resync: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: AccountSource,
    private readonly events: AccountEvents,
    private readonly repo: AccountsRepository,
    private readonly pool: PoolService,
    private readonly probe: UsageProbe,
    private readonly redis: RedisService,
    metrics: MetricsService,
  ) {
    this.polls = new Counter({
      name: 'cg_usage_poll_total',
      help: 'wham/usage polls by outcome (a failed poll only ages the snapshot)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    this.dry = new Gauge({
      name: 'cg_pool_window_dry_seconds',
      help: "Seconds until the pool's headroom in a window (short = 5 h, weekly) is gone at the last hour's rate; absent while nothing is spent",
      labelNames: ['window'],
      registers: [metrics.registry],
    });
  }

  /** The forecast gauge, at most every 30 s (after polls). */
  private async updateForecast(): Promise<void> {
    const now = Date.now();
    if (now - this.forecastAt < 30_000) return;
    this.forecastAt = now;
    for (const f of await this.pool.forecast()) {
      if (f.dryAt === null) this.dry.remove({ window: f.kind });
      else this.dry.set({ window: f.kind }, Math.max(0, Math.round((f.dryAt - now) / 1000)));
    }
  }

  onApplicationBootstrap(): void {
    this.events.onChange((id) => void this.sync(id).catch(() => {}));
    void this.sync(null).catch((err: Error) => this.logger.warn({ err: err.message }, 'usage poller start'));
    this.resync = setInterval(() => void this.sync(null).catch(() => {}), RESYNC_MS);
    this.resync.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.resync) clearInterval(this.resync);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** An account changed (or `null`: any): new routable accounts are polled within seconds, gone ones dropped. */
  private async sync(changed: string | null): Promise<void> {
    if (this.stopped) return;
    // Straight from the database, not the routing cache: filling that cache here would hide accounts written by
    // another process until its change event arrives.
    const list: PoolAccount[] = await this.repo.findRoutable();
    const ids = new Set(list.map((a) => a.id));
    for (const id of [...this.known.keys()]) {
      if (ids.has(id)) continue;
      clearTimeout(this.timers.get(id));
      this.timers.delete(id);
      this.known.delete(id);
    }
    for (const a of list) {
      const isNew = !this.known.has(a.id);
      this.known.set(a.id, a);
      if (isNew || a.id === changed) this.schedule(a.id, firstPollDelay(Math.random()));
    }
  }

  private schedule(id: string, delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(id));
    const t = setTimeout(() => void this.tick(id), delayMs);
    t.unref();
    this.timers.set(id, t);
  }

  private async tick(id: string): Promise<void> {
    const a = this.known.get(id);
    if (!a || this.stopped) return;
    let failed = true;
    try {
      const outcome = await this.pollOnce(a);
      failed = outcome !== 'ok' && outcome !== 'skipped';
    } catch (err) {
      this.logger.warn({ account: a.label, err: (err as Error).message }, 'usage poll failed');
    }
    const state = await this.pool.usage.get(id).catch(() => null);
    await this.updateForecast().catch(() => {});
    this.schedule(
      id,
      nextPollDelay(state, Date.now(), Math.random(), { failed, reservePercent: a.reservePercent }),
    );
  }

  /** One poll of one account (exported for tests and `all`): its outcome; the state is written only on success. */
  async pollOnce(a: PoolAccount): Promise<PollOutcome> {
    const claim = await this.redis.client.set(
      this.redis.key('pool', 'polled', a.id),
      '1',
      'PX',
      POLL_CLAIM_MS,
      'NX',
    );
    if (claim === null) return this.count('skipped');
    let outcome: PollOutcome;
    try {
      const endedBefore = await this.pool.endedCount(a.id);
      const res = await this.probe.read(a);
      const report = res.report;
      if (res.status !== 200) outcome = 'http_error';
      else if (!report) outcome = 'unreadable';
      else {
        await this.pool.recordUsage(a, report, res.readAt, endedBefore);
        outcome = 'ok';
      }
      if (outcome !== 'ok')
        this.logger.warn({ account: a.label, status: res.status, outcome }, 'usage poll gave no usage');
    } catch (err) {
      // Nothing but the snapshot's age changes: no status, no cooldown (a poll is not a request).
      await this.redis.client.del(this.redis.key('pool', 'polled', a.id)).catch(() => 0);
      this.logger.warn({ account: a.label, err: (err as Error).message }, 'usage poll failed');
      outcome = 'network_error';
    }
    return this.count(outcome);
  }

  private count(outcome: PollOutcome): PollOutcome {
    this.polls.inc({ outcome });
    return outcome;
  }
}
