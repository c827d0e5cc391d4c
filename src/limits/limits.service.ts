import { Injectable, Logger } from '@nestjs/common';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from '../common/errors.js';
import { RedisService } from '../redis/redis.service.js';
import type { RequestAuth } from '../auth/auth-context.js';
import { formatReset, period } from './limit-math.js';

/**
 * Per-key limits on the API path, shared by all replicas through Redis:
 * - RPM and TPM with rate-limiter-flexible (fixed one-minute windows);
 * - daily and monthly token quotas (UTC calendar periods) as Redis counters expiring at the period's end.
 * Tokens are reserved from an estimate at admission and settled with the real usage when the request ends
 * (the difference is added or given back), so TPM and quotas count real tokens. A request already running may
 * push a counter over its limit; the next ones are refused until the window or period frees.
 * Redis errors fail closed (503): limits that cannot be checked are not enforced silently.
 * CONTRACT: admit() → Admission{headers, settle(actualTotalTokens)}; usage(keyId).
 */
export interface KeyUsage {
  requestsThisMinute: number;
  tokensThisMinute: number;
  tokensToday: number;
  tokensThisMonth: number;
}

export interface Admission {
  headers: Record<string, string>;
  settle(actualTotalTokens: number): Promise<void>;
}

/** Adds to the day and month counters in one round trip; each expires at its own period end. */
const QUOTA_ADD = `for i = 1, 2 do redis.call('INCRBY', KEYS[i], ARGV[1]) redis.call('PEXPIREAT', KEYS[i], ARGV[i + 1]) end return 1`;

@Injectable()
export class LimitsService {
  private readonly logger = new Logger('limits');
  private readonly limiters = new Map<string, RateLimiterRedis>();

  constructor(private readonly redis: RedisService) {}

  private limiter(kind: 'rpm' | 'tpm', points: number): RateLimiterRedis {
    const id = `${kind}:${points}`;
    let l = this.limiters.get(id);
    if (!l) {
      l = new RateLimiterRedis({
        storeClient: this.redis.client,
        keyPrefix: this.redis.key('rl', kind),
        points,
        duration: 60,
        rejectIfRedisNotReady: true,
      });
      this.limiters.set(id, l);
    }
    return l;
  }

  private quotaKey(kind: 'day' | 'month', keyId: string, now = Date.now()) {
    const p = period(kind, now);
    return { key: this.redis.key('quota', kind, p.id, keyId), endsAt: p.endsAt };
  }

  async admit(auth: RequestAuth, estimatedTokens: number): Promise<Admission> {
    const keyId = auth.keyId;
    if (!keyId) return { headers: {}, settle: async () => {} };
    const { rpm, tpm, dailyTokenQuota, monthlyTokenQuota } = auth.limits;
    const headers: Record<string, string> = {};
    const estimate = Math.max(0, Math.ceil(estimatedTokens));
    try {
      for (const [kind, quota] of [
        ['day', dailyTokenQuota],
        ['month', monthlyTokenQuota],
      ] as const) {
        if (quota === null || quota === undefined) continue;
        const { key, endsAt } = this.quotaKey(kind, keyId);
        const used = Number((await this.redis.client.get(key)) ?? 0);
        if (used >= quota) {
          throw ApiError.quotaExceeded(
            `This key has used its ${kind === 'day' ? 'daily' : 'monthly'} token quota (${quota} tokens); it resets at ${new Date(endsAt).toISOString()}.`,
            (endsAt - Date.now()) / 1000,
          );
        }
      }
      if (rpm) {
        const res = await this.take(this.limiter('rpm', rpm), keyId, 1, 'requests', rpm);
        headers['x-ratelimit-limit-requests'] = String(rpm);
        headers['x-ratelimit-remaining-requests'] = String(Math.max(0, res.remainingPoints));
        headers['x-ratelimit-reset-requests'] = formatReset(res.msBeforeNext);
      }
      if (tpm) {
        const res = await this.take(this.limiter('tpm', tpm), keyId, Math.min(estimate, tpm), 'tokens', tpm);
        headers['x-ratelimit-limit-tokens'] = String(tpm);
        headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, res.remainingPoints));
        headers['x-ratelimit-reset-tokens'] = formatReset(res.msBeforeNext);
      }
      await this.addQuota(auth, estimate);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      this.logger.error({ err: (err as Error).message }, 'limits unavailable');
      throw ApiError.unavailable(
        'Rate limits cannot be checked right now; try again shortly.',
        'limits_unavailable',
      );
    }
    let settled = false;
    const reserved = tpm ? Math.min(estimate, tpm) : 0;
    return {
      headers,
      settle: async (actual: number) => {
        if (settled) return;
        settled = true;
        const real = Math.max(0, Math.ceil(actual));
        try {
          if (tpm && real !== reserved) {
            const l = this.limiter('tpm', tpm);
            if (real > reserved) await l.penalty(keyId, real - reserved);
            else await l.reward(keyId, reserved - real);
          }
          if (real !== estimate) await this.addQuota(auth, real - estimate);
        } catch (err) {
          this.logger.warn({ err: (err as Error).message }, 'could not settle token usage');
        }
      },
    };
  }

  private async take(
    l: RateLimiterRedis,
    keyId: string,
    points: number,
    what: 'requests' | 'tokens',
    limit: number,
  ): Promise<RateLimiterRes> {
    try {
      return await l.consume(keyId, points);
    } catch (rej) {
      if (!(rej instanceof RateLimiterRes)) throw rej;
      // consume() counted the refused points: give them back so a refused request costs nothing.
      await l.reward(keyId, points).catch(() => {});
      const secs = Math.max(1, Math.ceil(rej.msBeforeNext / 1000));
      throw ApiError.rateLimited(
        `Rate limit reached for this key: ${limit} ${what} per minute. Try again in ${secs}s.`,
        secs,
        'rate_limit_exceeded',
        {
          [`x-ratelimit-limit-${what}`]: String(limit),
          [`x-ratelimit-remaining-${what}`]: '0',
          [`x-ratelimit-reset-${what}`]: formatReset(rej.msBeforeNext),
          'retry-after-ms': String(rej.msBeforeNext),
        },
      );
    }
  }

  private async addQuota(auth: RequestAuth, tokens: number): Promise<void> {
    if (!auth.keyId || tokens === 0) return;
    const day = this.quotaKey('day', auth.keyId);
    const month = this.quotaKey('month', auth.keyId);
    await this.redis.client.eval(
      QUOTA_ADD,
      2,
      day.key,
      month.key,
      String(tokens),
      String(day.endsAt),
      String(month.endsAt),
    );
  }

  async usage(keyId: string): Promise<KeyUsage> {
    const r = this.redis.client;
    const [rpm, tpm, day, month] = await Promise.all([
      r.get(`${this.redis.key('rl', 'rpm')}:${keyId}`),
      r.get(`${this.redis.key('rl', 'tpm')}:${keyId}`),
      r.get(this.quotaKey('day', keyId).key),
      r.get(this.quotaKey('month', keyId).key),
    ]);
    return {
      requestsThisMinute: Number(rpm ?? 0),
      tokensThisMinute: Number(tpm ?? 0),
      tokensToday: Math.max(0, Number(day ?? 0)),
      tokensThisMonth: Math.max(0, Number(month ?? 0)),
    };
  }
}
