import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { ApiError } from '../../common/errors.js';
import { RedisService } from '../../redis/redis.service.js';
import { AccountSource, type PoolAccount } from '../account-source.js';
import { chooseAccount, type Candidate, type PoolStrategy } from './pool-choice.js';
import { MetricsService } from '../../metrics/metrics.service.js';

/**
 * Pool state shared by every replica through Redis: per-account cooldown (until the reset time the upstream gave),
 * in-flight counters, latest used-percent, and stickiness of a conversation to its account (TTL).
 */
/** How long an unchanged used-percent is not written again (per account, per process). */
const USED_REWRITE_MS = 5000;

/** The pool's clock (epoch ms). Injectable so the simulator and tests can run scaled time; default Date.now. */
export const POOL_CLOCK = Symbol('POOL_CLOCK');
export type PoolClock = () => number;

@Injectable()
export class PoolService {
  private readonly usedWritten = new Map<string, { percent: number; at: number }>();
  constructor(
    private readonly accounts: AccountSource,
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    @Optional() @Inject(POOL_CLOCK) private readonly clock: PoolClock = Date.now,
  ) {}

  private k(...p: string[]) {
    return this.redis.key('pool', ...p);
  }

  /**
   * Picks an account for one attempt, excluding those already tried. Throws 429 (all cooling down, Retry-After =
   * soonest reset) or 503 (none healthy) when nothing can serve.
   */
  async pick(
    stickyKey: string | null,
    tried: Set<string>,
    preferredId?: string | null,
  ): Promise<PoolAccount> {
    const all = await this.accounts.listRoutable();
    if (all.length === 0) {
      throw ApiError.unavailable(
        'No subscription account is available: none is enabled and healthy.',
        'no_accounts',
      );
    }
    const ids = all.map((a) => a.id);
    const r = this.redis.client;
    // One MGET for the whole pool state (cooldown, in-flight, used % per account, then the sticky account).
    const keys: string[] = [];
    for (const id of ids) keys.push(this.k('cooldown', id), this.k('inflight', id), this.k('used', id));
    if (stickyKey) keys.push(this.k('sticky', stickyKey));
    const [values, counter] = await Promise.all([
      r.mget(...keys),
      this.config.POOL_STRATEGY === 'round-robin' ? r.incr(this.k('rr')) : Promise.resolve(0),
    ]);
    const cool = ids.map((_, i) => values[3 * i]);
    const infl = ids.map((_, i) => values[3 * i + 1]);
    const used = ids.map((_, i) => values[3 * i + 2]);
    const sticky = stickyKey ? values[3 * ids.length] : null;
    const now = this.clock();
    const candidates: Candidate[] = [];
    let soonest = Infinity;
    all.forEach((a, i) => {
      const until = Number(cool[i] ?? 0);
      if (until > now) {
        soonest = Math.min(soonest, until);
        return;
      }
      if (tried.has(a.id)) return;
      candidates.push({
        ...a,
        inFlight: Number(infl[i] ?? 0),
        usedPercent: used[i] === null ? null : Number(used[i]),
      });
    });
    const chosen = chooseAccount(candidates, this.config.POOL_STRATEGY as PoolStrategy, {
      stickyId: preferredId ?? sticky,
      counter,
      now,
    });
    if (chosen) return chosen;
    if (soonest !== Infinity && tried.size === 0) {
      const secs = Math.ceil((soonest - now) / 1000);
      throw ApiError.rateLimited(
        `Every subscription account has reached its usage limit; the first resets in ${secs} s.`,
        secs,
        'usage_limit_reached',
      );
    }
    throw ApiError.unavailable('No subscription account could serve the request.', 'no_healthy_account');
  }

  async stick(stickyKey: string | null, accountId: string): Promise<void> {
    if (!stickyKey) return;
    await this.redis.client.set(
      this.k('sticky', stickyKey),
      accountId,
      'EX',
      Math.max(1, this.config.POOL_STICKY_TTL_SECONDS),
    );
  }

  /** The account that issued a Codex turn state (`x-codex-turn-state`): the rest of the turn goes there. */
  async turnAccount(turnState: string): Promise<string | null> {
    return this.redis.client.get(this.k('turn', turnKey(turnState))).catch(() => null);
  }

  async stickTurn(turnState: string, accountId: string): Promise<void> {
    const ttl = Math.max(1, this.config.POOL_STICKY_TTL_SECONDS);
    await this.redis.client.set(this.k('turn', turnKey(turnState)), accountId, 'EX', ttl);
  }

  async coolDown(account: PoolAccount, untilMs: number | null): Promise<number> {
    const accountId = account.id;
    const now = this.clock();
    const until = untilMs && untilMs > now ? untilMs : now + this.config.POOL_DEFAULT_COOLDOWN_SECONDS * 1000;
    await this.redis.client.set(this.k('cooldown', accountId), String(until), 'PX', Math.max(1, until - now));
    const gauge = this.metrics.accountCooldown.labels({ account: accountLabel(account) });
    gauge.set(Math.ceil((until - now) / 1000));
    // Back to 0 once the reset time passed (the gauge is per process; good enough for dashboards).
    setTimeout(() => gauge.set(0), Math.max(0, until - now)).unref();
    return until;
  }

  async cooldownUntil(accountId: string): Promise<number | null> {
    const v = await this.redis.client.get(this.k('cooldown', accountId));
    return v ? Number(v) : null;
  }

  /**
   * Stores an account's latest used-percent. Every response reports it (headers and the codex.rate_limits
   * event); an unchanged value is written at most every few seconds per process, not twice per request.
   */
  async setUsedPercent(account: PoolAccount, percent: number): Promise<void> {
    const now = this.clock();
    const last = this.usedWritten.get(account.id);
    if (last && last.percent === percent && now - last.at < USED_REWRITE_MS) return;
    this.usedWritten.set(account.id, { percent, at: now });
    this.metrics.accountUsed.set({ account: accountLabel(account) }, percent);
    await this.redis.client.set(this.k('used', account.id), String(percent), 'EX', 6 * 3600);
  }

  /** The request got its account: stickiness (when keyed) and the in-flight count, in one round trip. */
  async begin(accountId: string, stickyKey: string | null = null): Promise<void> {
    const key = this.k('inflight', accountId);
    const r = this.redis.client;
    // Plain commands issued together: one auto-pipelined write (a MULTI would be a write of its own).
    await Promise.all([
      stickyKey
        ? r.set(
            this.k('sticky', stickyKey),
            accountId,
            'EX',
            Math.max(1, this.config.POOL_STICKY_TTL_SECONDS),
          )
        : null,
      r.incr(key),
      r.expire(key, 3600),
    ]);
  }

  async end(accountId: string): Promise<void> {
    await this.redis.client.decr(this.k('inflight', accountId));
  }
}

/** Turn states are opaque upstream strings of any length: the Redis key holds a hash. */
const turnKey = (turnState: string) =>
  createHash('sha256').update(turnState).digest('base64url').slice(0, 32);

/** Metric label of an account: its label unless that is an email address (the default on import), else its id. */
export function accountLabel(a: { id: string; label: string }): string {
  return a.label && !a.label.includes('@') ? a.label : a.id;
}
