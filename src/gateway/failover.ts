import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { AccountSource, type PoolAccount } from '../accounts/account-source.js';
import { PoolService } from '../accounts/pool/pool.service.js';
import { AccountHealth } from '../accounts/pool/health.js';
import { accountSignal } from '../upstream/account-signals.js';
import { classifyUpstream, toApiError, type ClassifiedError } from '../upstream/classify.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** The accounts one request has tried, how many attempts it made, and the last attempt's error. */
export interface AccountRun {
  tried: Set<string>;
  attempts: number;
  last: ApiError | null;
}

/** What one failed attempt means for the request: its error, and whether another account could help. */
export interface AttemptFailure {
  error: ApiError;
  final: boolean;
}

/** `response.failed` codes that mean "this account cannot serve now": cooldown and the next account. */
const FAILOVER_CODES = new Set([
  'usage_limit_reached',
  'workspace_member_usage_limit_reached',
  'quota_exceeded',
  'insufficient_quota',
  'rate_limit_exceeded',
  'usage_not_included',
]);

/**
 * A `response.failed` error that arrived before any output, classified like the HTTP 429 it stands for, when its
 * code means the account cannot serve now (usage limit, rate limit, plan without Codex); else null.
 */
export function failoverFailure(error: { code?: unknown } & Record<string, unknown>): ClassifiedError | null {
  const code = typeof error.code === 'string' ? error.code : null;
  if (!code || !FAILOVER_CODES.has(code)) return null;
  return classifyUpstream(429, JSON.stringify({ error: { ...error, type: code } }), {});
}

/**
 * The failover policy: which account an attempt takes (the pool's pick, skipping open circuits), and what a
 * failed attempt does to its account (cooldown, status, circuit) and to the request (next account or stop).
 */
@Injectable()
export class Failover {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: AccountSource,
    private readonly pool: PoolService,
    private readonly metrics: MetricsService,
    private readonly health: AccountHealth,
  ) {}

  /** Pool pick that skips accounts whose circuit is open (accounts/pool/health.ts), unless nothing else is left. */
  private async pick(
    stickyKey: string | null,
    tried: Set<string>,
    preferred: string | null = null,
  ): Promise<PoolAccount> {
    const skip = this.health.skipped();
    let account: PoolAccount | undefined;
    if (skip.size) {
      try {
        account = await this.pool.pick(stickyKey, new Set([...tried, ...skip]), preferred);
      } catch (err) {
        if (!(err instanceof ApiError) || err.httpStatus !== 503) throw err;
      }
    }
    account ??= await this.pool.pick(stickyKey, tried, preferred);
    this.health.chosen(account.id);
    return account;
  }

  /** The next account of a request; with none left, the last attempt's error wins. */
  async next(run: AccountRun, stickyKey: string | null, preferred: string | null): Promise<PoolAccount> {
    let account: PoolAccount;
    try {
      account = await this.pick(stickyKey, run.tried, preferred);
    } catch (err) {
      if (run.last && err instanceof ApiError && err.httpStatus === 503) throw run.last;
      throw err;
    }
    run.tried.add(account.id);
    run.attempts++;
    if (run.attempts > 1) this.metrics.failovers.inc();
    return account;
  }

  /** One attempt failed: remember its error for the client, count it, and stop when no other account helps. */
  failed(run: AccountRun, failure: AttemptFailure): void {
    run.last = failure.error;
    this.metrics.upstreamErrors.inc({ class: String(failure.error.code ?? 'unknown') });
    if (failure.final) throw failure.error;
  }

  /** What a classified refusal does to its account, and the error the client gets if no other account helps. */
  async afterFailure(account: PoolAccount, c: ClassifiedError): Promise<AttemptFailure> {
    switch (c.errorClass) {
      case 'usage_limit': {
        const until = await this.pool.coolDown(account, c.resetAt);
        await this.accounts.recordUsageLimit(account.id, until);
        const secs = Math.ceil((until - Date.now()) / 1000);
        return {
          error: ApiError.rateLimited(
            'Every subscription account has reached its usage limit.',
            secs,
            'usage_limit_reached',
          ),
          final: false,
        };
      }
      case 'rate_limit':
        await this.pool.coolDown(account, c.resetAt);
        return {
          error: ApiError.rateLimited(c.message, Math.ceil(((c.resetAt ?? Date.now()) - Date.now()) / 1000)),
          final: false,
        };
      case 'usage_not_included':
        await this.accounts.markStatus(
          account.id,
          'unusable',
          'plan does not include Codex (usage_not_included)',
        );
        return { error: toApiError(c), final: false };
      case 'account_disabled':
        // The backend's verdict on the account itself (upstream/account-signals.ts): deactivated or signed out.
        await this.accounts.markStatus(
          account.id,
          accountSignal(c.code)?.leadsTo ?? 'needs_reauth',
          `upstream refused the account (${c.code})`,
        );
        return { error: toApiError(c), final: false };
      case 'blocked':
      case 'forbidden':
        // Not a token problem: no refresh (it would spend the single-use refresh token for nothing). Rest it.
        await this.pool.coolDown(
          account,
          Date.now() + this.config.UPSTREAM_FORBIDDEN_COOLDOWN_SECONDS * 1000,
        );
        return { error: toApiError(c), final: false };
      case 'auth':
      case 'server':
        if (c.errorClass === 'server') this.health.failure(account.id, account.label);
        // Back off a little before the next account so a struggling upstream is not hammered.
        await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 150)));
        return { error: toApiError(c), final: false };
      default:
        return { error: toApiError(c), final: true };
    }
  }
}
