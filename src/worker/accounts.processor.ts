import { OnApplicationBootstrap, OnApplicationShutdown, Logger } from '@nestjs/common';
import { Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { RefreshScheduler } from '../accounts/refresh-scheduler.js';
import { TokenRefreshService } from '../accounts/token-refresh.service.js';
import { AccountLoginService } from '../accounts/login/account-login.service.js';
import {
  AccountNotFoundError,
  AccountRefreshError,
  AccountUnavailableError,
} from '../accounts/account-errors.js';
import {
  ACCOUNTS_QUEUE,
  JOB_DEVICE_POLL,
  JOB_REFRESH,
  JOB_SWEEP,
  type DevicePollJobData,
  type RefreshJobData,
} from '../accounts/accounts.queue.js';

/**
 * Worker side of the accounts queue: proactive refresh (transient failures throw → BullMQ retries with exponential
 * backoff + jitter; permanent ones have marked the account needs_reauth and end the job), the sweep, device polls.
 */
@Processor(ACCOUNTS_QUEUE, { concurrency: 8 })
export class AccountsProcessor extends WorkerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('accounts-worker');
  private healer?: NodeJS.Timeout;

  constructor(
    private readonly scheduler: RefreshScheduler,
    private readonly refresher: TokenRefreshService,
    private readonly logins: AccountLoginService,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // Not awaited: BullMQ's connection waits for Redis without limit, and a Redis that is down at start must not
    // keep the process from starting (readiness reports it); the sweep is set up as soon as Redis answers.
    void (async () => {
      await this.scheduler.ensureSweepScheduler();
      await this.scheduler.runSweepSoon();
    })().catch((err: Error) => this.logger.error({ err: err.message }, 'could not set up the account sweep'));
    // A Redis flush (or a restart without persistence) deletes the sweep scheduler with everything else: check
    // for it regularly and re-create it, which re-creates every refresh job (docs/reliability.md).
    this.healer = setInterval(
      () => void this.scheduler.healSweepScheduler().catch(() => false),
      Math.min(this.scheduler.sweepEveryMs, 30_000),
    );
    this.healer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.healer);
  }

  async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case JOB_REFRESH:
        return this.refresh(job as Job<RefreshJobData>);
      case JOB_SWEEP:
        // Refreshed tokens held in Redis during a Postgres outage are written first (the row must have them).
        await this.refresher.persistAllPending().catch((err: Error) => {
          this.logger.warn({ err: err.message }, 'could not write pending tokens');
        });
        return this.scheduler.sweep();
      case JOB_DEVICE_POLL: {
        const d = job.data as DevicePollJobData;
        return { status: await this.logins.pollDevice(d.loginId, d.attempt) };
      }
      default:
        this.logger.warn({ name: job.name }, 'unknown job in the accounts queue');
        return null;
    }
  }

  private async refresh(job: Job<RefreshJobData>): Promise<unknown> {
    const { accountId } = job.data;
    try {
      const l = await this.refresher.refresh(accountId, { kind: 'due' }, 'proactive_expiry');
      return { expiresAt: l.row.accessTokenExpiresAt?.toISOString() ?? null };
    } catch (err) {
      if (err instanceof AccountRefreshError && err.permanent)
        return { needsReauth: true, reason: err.reason };
      if (err instanceof AccountUnavailableError) return { skipped: err.accountStatus };
      if (err instanceof AccountNotFoundError) return { skipped: 'deleted' };
      // Transient: let BullMQ retry (attempts/backoff set when the job was added).
      throw err;
    }
  }
}
