import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { RedisService } from '../redis/redis.service.js';
import { jwtExpiry } from './oauth/claims.js';
import { AccountsRepository } from './accounts.repository.js';
import { CredentialsCipher } from './credentials.js';
import {
  ACCOUNTS_QUEUE,
  JOB_REFRESH,
  JOB_SWEEP,
  refreshJobId,
  SWEEP_SCHEDULER_ID,
  type RefreshJobData,
} from './accounts.queue.js';
import { refreshDueAt, type RefreshTiming } from './refresh-due.js';
import { spreadRefreshes, type DueRefresh } from './refresh-spread.js';

/**
 * Proactive refresh jobs (BullMQ): one delayed job per account when its token is due (`refresh-due.ts`), id
 * `refresh-<account>-<dueAt>` so adding the same schedule twice (two replicas, the sweep) is a no-op. A new
 * schedule (after a refresh or a login) replaces the previous delayed job. Transient failures retry with BullMQ's
 * exponential backoff with jitter; failed and completed jobs are removed so the sweep can re-create them.
 * Stale jobs that still fire are harmless: the processor refreshes only when the stored token is due.
 */
@Injectable()
export class RefreshScheduler {
  private readonly logger = new Logger('accounts');

  constructor(
    @InjectQueue(ACCOUNTS_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly repo: AccountsRepository,
    private readonly cipher: CredentialsCipher,
  ) {}

  get sweepEveryMs(): number {
    return this.config.ACCOUNT_SWEEP_SECONDS * 1000;
  }

  private pointerKey(accountId: string): string {
    return this.redis.key('accounts', 'refresh-job', accountId);
  }

  private dueAt(t: RefreshTiming): number | null {
    if (!t.accessTokenExpiresAt) return null;
    return refreshDueAt(t.accessTokenExpiresAt, this.config.REFRESH_LEAD_SECONDS, t.lastRefreshAt);
  }

  /**
   * Schedules (or re-schedules) the refresh job of an account, when its token is due (`refresh-due.ts`), or at
   * `runAt` when the sweep spread the pool (`refresh-spread.ts`: only ever later than due).
   */
  async schedule(accountId: string, t: RefreshTiming, runAt?: number): Promise<string | null> {
    const dueAt = this.dueAt(t);
    if (dueAt === null) return null;
    // A spread run time is part of the id, so a sweep that moves an existing job (same due time) replaces it.
    const at = Math.max(dueAt, runAt ?? 0);
    const jobId = at > dueAt ? `${refreshJobId(accountId, dueAt)}-${at}` : refreshJobId(accountId, dueAt);
    const data: RefreshJobData = { accountId, dueAt };
    await this.queue.add(JOB_REFRESH, data, {
      jobId,
      delay: Math.max(0, at - Date.now()),
      attempts: this.config.REFRESH_RETRY_ATTEMPTS,
      backoff: { type: 'exponential', delay: this.config.REFRESH_RETRY_BASE_MS, jitter: 0.5 },
      removeOnComplete: true,
      removeOnFail: true,
    });
    const prev = await this.redis.client.getset(this.pointerKey(accountId), jobId);
    if (prev && prev !== jobId) {
      // An active job cannot be removed (it is locked); it finishes and is removed on completion.
      await this.queue.remove(prev).catch(() => 0);
    }
    return jobId;
  }

  async unschedule(accountId: string): Promise<void> {
    const prev = await this.redis.client.get(this.pointerKey(accountId));
    if (prev) await this.queue.remove(prev).catch(() => 0);
    await this.redis.client.del(this.pointerKey(accountId));
  }

  /** The periodic sweep (a BullMQ job scheduler), upserted by the worker at start. */
  async ensureSweepScheduler(): Promise<void> {
    await this.queue.upsertJobScheduler(
      SWEEP_SCHEDULER_ID,
      { every: this.config.ACCOUNT_SWEEP_SECONDS * 1000 },
      { name: JOB_SWEEP, data: {}, opts: { removeOnComplete: true, removeOnFail: true } },
    );
  }

  /**
   * Re-creates the sweep scheduler when Redis lost it (flushed, or restarted without persistence) and runs a sweep
   * at once, so refresh jobs come back without a restart. Returns whether it had to.
   */
  async healSweepScheduler(): Promise<boolean> {
    if (await this.queue.getJobScheduler(SWEEP_SCHEDULER_ID)) return false;
    await this.ensureSweepScheduler();
    await this.runSweepSoon();
    this.logger.warn('sweep scheduler was missing (Redis flushed or restarted empty): re-created');
    return true;
  }

  async runSweepSoon(): Promise<void> {
    await this.queue.add(JOB_SWEEP, {}, { removeOnComplete: true, removeOnFail: true });
  }

  /**
   * Re-creates every missing refresh job (after a Redis flush, a lost job, exhausted retries). Rows without a
   * stored expiry (e.g. written by another tool) get it from the access token's `exp`.
   */
  async sweep(): Promise<{ scheduled: number }> {
    const rows = await this.repo.findForSweep();
    const timings = new Map<string, RefreshTiming>();
    for (const r of rows) {
      try {
        let exp = r.accessTokenExpiresAt;
        if (!exp) {
          const full = await this.repo.findById(r.id);
          if (!full) continue;
          exp = jwtExpiry(this.cipher.open(full.id, full.credentials, full.credentialsKeyId).access_token);
          if (exp) await this.repo.update(r.id, { accessTokenExpiresAt: exp });
        }
        timings.set(r.id, { accessTokenExpiresAt: exp, lastRefreshAt: r.lastRefreshAt });
      } catch (err) {
        this.logger.warn(
          { accountId: r.id, err: (err as Error).message },
          'sweep could not read account expiry',
        );
      }
    }
    // Spread the pool so that no two accounts refresh in the same second (refresh-spread.ts).
    const due: DueRefresh[] = [];
    for (const [id, t] of timings) {
      const at = this.dueAt(t);
      if (at !== null) due.push({ id, dueAt: at });
    }
    const plan = spreadRefreshes(due, Date.now());
    let scheduled = 0;
    for (const [id, t] of timings) {
      try {
        if (await this.schedule(id, t, plan.get(id))) scheduled++;
      } catch (err) {
        this.logger.warn({ accountId: id, err: (err as Error).message }, 'sweep could not schedule account');
      }
    }
    return { scheduled };
  }
}
