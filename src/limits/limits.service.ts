import { Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ApiError } from '../common/errors.js';
import { RedisService } from '../redis/redis.service.js';
import type { KeyLimits, RequestAuth } from '../common/auth-context.js';
import { formatReset, period } from './limit-math.js';

/**
 * Per-key (and per-user) limits on the API path, shared by all replicas through Redis:
 * - RPM and TPM in fixed one-minute windows (the window starts with its first request);
 * - daily and monthly token quotas (UTC calendar periods) as counters expiring at the period's end.
 * Every budget of a request is checked and reserved in ONE Redis round trip (the `cgAdmit` Lua script), so
 * parallel requests cannot all pass a check that only one of them fits. A request is admitted when, for every
 * budget, nothing is used yet, or the used amount plus its reservation stays within the limit; the reservation
 * is the input estimate plus an output estimate. When the request ends, `settle(actual)` replaces the
 * reservation by the real tokens (one more round trip). Only the first request of an empty window/period can
 * exceed a limit, by its own size. Redis errors fail closed (503).
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

type BudgetKind = 'rpm' | 'tpm' | 'day' | 'month';
interface Budget {
  kind: BudgetKind;
  owner: 'key' | 'user';
  key: string;
  limit: number;
  cost: number;
  /** Fixed window: TTL in ms set when the window starts; calendar period: absolute expiry (epoch ms). */
  ttlMs?: number;
  endsAt?: number;
}

/**
 * KEYS: budget counters. ARGV: per budget, 4 values: limit, cost, mode ('w' window / 'p' period), ms.
 * Returns {0, used1, pttl1, used2, pttl2, …} when admitted (after reserving), or {i, used, pttl} for the
 * first budget i (1-based) that refuses; nothing is reserved then.
 */
const ADMIT = `
local n = #KEYS
for i = 1, n do
  local limit = tonumber(ARGV[(i - 1) * 4 + 1])
  local cost = tonumber(ARGV[(i - 1) * 4 + 2])
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= limit or (used > 0 and used + cost > limit) then
    return {i, used, redis.call('PTTL', KEYS[i])}
  end
end
local out = {0}
for i = 1, n do
  local cost = tonumber(ARGV[(i - 1) * 4 + 2])
  local mode = ARGV[(i - 1) * 4 + 3]
  local ms = tonumber(ARGV[(i - 1) * 4 + 4])
  local used = redis.call('INCRBY', KEYS[i], cost)
  if mode == 'p' then
    redis.call('PEXPIREAT', KEYS[i], ms)
  elseif redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ms)
  end
  out[#out + 1] = used
  out[#out + 1] = redis.call('PTTL', KEYS[i])
end
return out`;

/** KEYS: counters; ARGV[1]: delta. Applies the delta to counters that still exist (a window that ended stays ended). */
const SETTLE = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local v = redis.call('INCRBY', KEYS[i], ARGV[1])
    if v < 0 then redis.call('DECRBY', KEYS[i], v) end
  end
end
return 1`;

type LimitsRedis = Redis & {
  cgAdmit(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  cgSettle(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

/**
 * Tokens reserved for the answer of every model request. The client's max_output_tokens does not lower it: the
 * upstream refuses that cap, so the answer is not bounded by it (issue 22, item 3).
 */
export const DEFAULT_OUTPUT_ESTIMATE = 512;

@Injectable()
export class LimitsService {
  private readonly logger = new Logger('limits');
  private readonly r: LimitsRedis;

  constructor(private readonly redis: RedisService) {
    const client = redis.client as LimitsRedis;
    if (typeof client.cgAdmit !== 'function') {
      client.defineCommand('cgAdmit', { lua: ADMIT });
      client.defineCommand('cgSettle', { lua: SETTLE });
    }
    this.r = client;
  }

  private windowKey(kind: 'rpm' | 'tpm', owner: 'key' | 'user', id: string): string {
    return owner === 'key'
      ? `${this.redis.key('rl', kind)}:${id}`
      : `${this.redis.key('rl', 'user', kind)}:${id}`;
  }

  private quotaKey(kind: 'day' | 'month', owner: 'key' | 'user', id: string, now = Date.now()) {
    const p = period(kind, now);
    const key =
      owner === 'key'
        ? this.redis.key('quota', kind, p.id, id)
        : this.redis.key('quota', 'user', kind, p.id, id);
    return { key, endsAt: p.endsAt };
  }

  private budgets(
    owner: 'key' | 'user',
    id: string,
    l: KeyLimits | null | undefined,
    tokens: number,
  ): Budget[] {
    if (!l) return [];
    const out: Budget[] = [];
    if (l.rpm)
      out.push({
        kind: 'rpm',
        owner,
        key: this.windowKey('rpm', owner, id),
        limit: l.rpm,
        cost: 1,
        ttlMs: 60_000,
      });
    if (l.tpm)
      out.push({
        kind: 'tpm',
        owner,
        key: this.windowKey('tpm', owner, id),
        limit: l.tpm,
        cost: tokens,
        ttlMs: 60_000,
      });
    for (const [kind, quota] of [
      ['day', l.dailyTokenQuota],
      ['month', l.monthlyTokenQuota],
    ] as const) {
      // A key's day and month counters are kept even without a quota (they show in /v1/me and the key list).
      if ((quota === null || quota === undefined) && owner === 'user') continue;
      const q = this.quotaKey(kind, owner, id);
      const limit = quota ?? Number.MAX_SAFE_INTEGER;
      out.push({ kind, owner, key: q.key, limit, cost: tokens, endsAt: q.endsAt });
    }
    return out;
  }

  /**
   * Checks and reserves every budget of the key (and of its user, when the admin set user limits) atomically.
   * `estimatedTokens` is the whole reservation: input estimate plus output estimate.
   */
  async admit(auth: RequestAuth, estimatedTokens: number): Promise<Admission> {
    const keyId = auth.keyId;
    if (!keyId) return { headers: {}, settle: async () => {} };
    const estimate = Math.max(0, Math.ceil(estimatedTokens));
    const budgets = [
      ...this.budgets('key', keyId, auth.limits, estimate),
      ...this.budgets('user', auth.userId, auth.userLimits, estimate),
    ].filter((b) => b.cost > 0 || b.kind === 'rpm');
    const headers: Record<string, string> = {};
    if (budgets.length === 0) return { headers, settle: async () => {} };
    let res: number[];
    try {
      const args: (string | number)[] = [];
      for (const b of budgets)
        args.push(b.limit, b.cost, b.endsAt ? 'p' : 'w', b.endsAt ?? b.ttlMs ?? 60_000);
      res = await this.r.cgAdmit(budgets.length, ...budgets.map((b) => b.key), ...args);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'limits unavailable');
      throw ApiError.unavailable(
        'Rate limits cannot be checked right now; try again shortly.',
        'limits_unavailable',
      );
    }
    if (res[0] !== 0) throw this.refusal(budgets[res[0] - 1], Number(res[2]));
    budgets.forEach((b, i) => {
      if (b.owner !== 'key' || (b.kind !== 'rpm' && b.kind !== 'tpm')) return;
      const what = b.kind === 'rpm' ? 'requests' : 'tokens';
      headers[`x-ratelimit-limit-${what}`] = String(b.limit);
      headers[`x-ratelimit-remaining-${what}`] = String(Math.max(0, b.limit - Number(res[1 + i * 2])));
      headers[`x-ratelimit-reset-${what}`] = formatReset(Math.max(0, Number(res[2 + i * 2])));
    });
    const tokenKeys = budgets.filter((b) => b.kind !== 'rpm').map((b) => b.key);
    let settled = false;
    return {
      headers,
      settle: async (actual: number) => {
        if (settled) return;
        settled = true;
        const delta = Math.max(0, Math.ceil(actual)) - estimate;
        if (delta === 0 || tokenKeys.length === 0) return;
        try {
          await this.r.cgSettle(tokenKeys.length, ...tokenKeys, delta);
        } catch (err) {
          this.logger.warn({ err: (err as Error).message }, 'could not settle token usage');
        }
      },
    };
  }

  private refusal(b: Budget, pttl: number): ApiError {
    const who = b.owner === 'key' ? 'this key' : "this key's user";
    if (b.kind === 'day' || b.kind === 'month') {
      const endsAt = b.endsAt ?? Date.now();
      return ApiError.quotaExceeded(
        `The ${b.kind === 'day' ? 'daily' : 'monthly'} token quota of ${who} (${b.limit} tokens) is used up; it resets at ${new Date(endsAt).toISOString()}.`,
        (endsAt - Date.now()) / 1000,
      );
    }
    const what = b.kind === 'rpm' ? 'requests' : 'tokens';
    const ms = pttl > 0 ? pttl : 1000;
    const secs = Math.max(1, Math.ceil(ms / 1000));
    return ApiError.rateLimited(
      `Rate limit reached for ${who}: ${b.limit} ${what} per minute. Try again in ${secs}s.`,
      secs,
      'rate_limit_exceeded',
      {
        [`x-ratelimit-limit-${what}`]: String(b.limit),
        [`x-ratelimit-remaining-${what}`]: '0',
        [`x-ratelimit-reset-${what}`]: formatReset(ms),
        'retry-after-ms': String(ms),
      },
    );
  }

  async usage(keyId: string): Promise<KeyUsage> {
    const r = this.redis.client;
    const [rpm, tpm, day, month] = await Promise.all([
      r.get(this.windowKey('rpm', 'key', keyId)),
      r.get(this.windowKey('tpm', 'key', keyId)),
      r.get(this.quotaKey('day', 'key', keyId).key),
      r.get(this.quotaKey('month', 'key', keyId).key),
    ]);
    return {
      requestsThisMinute: Number(rpm ?? 0),
      tokensThisMinute: Number(tpm ?? 0),
      tokensToday: Math.max(0, Number(day ?? 0)),
      tokensThisMonth: Math.max(0, Number(month ?? 0)),
    };
  }

  /** A user's shared day and month counters (kept only while the admin set a user quota; else 0). */
  async userUsage(userId: string): Promise<{ tokensToday: number; tokensThisMonth: number }> {
    const r = this.redis.client;
    const [day, month] = await Promise.all([
      r.get(this.quotaKey('day', 'user', userId).key),
      r.get(this.quotaKey('month', 'user', userId).key),
    ]);
    return { tokensToday: Math.max(0, Number(day ?? 0)), tokensThisMonth: Math.max(0, Number(month ?? 0)) };
  }
}
