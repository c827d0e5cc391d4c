import { Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ApiError } from '../common/errors.js';
import { RedisService } from '../redis/redis.service.js';
import type { KeyLimits, RequestAuth } from '../common/auth-context.js';
import { formatReset, period } from './limit-math.js';
import { ADMIT, SETTLE } from './admit-scripts.js';
import { costNano, nanoToUsd, usdToNano } from './budget-math.js';
import { PricingService } from '../pricing/pricing.service.js';
import { SpendSeeder, type SpendCounter } from './spend-seed.js';
import type { TokenCounts } from '../pricing/price-math.js';

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
 * Money (issue 28 item 2): monthly budgets in equivalent USD are one more dimension of the same script, counted in
 * nano-dollars: the reservation is the input estimate at the uncached input price plus the output estimate at the
 * output price; settle() replaces it by the real cost (cached tokens at the cached price). A budget is strict: no
 * request is admitted whose reservation does not fit, the first of the month included. With a budget set, a model
 * without a price is refused (403 model_not_priced): an unpriced model would be a hole in the cap (docs/cost.md).
 * The month spend counters (a key's always, a user's always: a budget set mid-month sees the month so far) are
 * seeded from the usage rows when missing (spend-seed.ts): the script reports them, they are seeded SET-NX style,
 * and the admission is asked again.
 * CONTRACT: admit(auth, tokens, priced?) → Admission{headers, settle(actualTotalTokens, counts?)}; usage(keyId).
 */
export interface KeyUsage {
  requestsThisMinute: number;
  tokensThisMinute: number;
  tokensToday: number;
  tokensThisMonth: number;
  /** Equivalent USD reserved and spent this month (UTC), as the budget counts it. */
  spentThisMonthUsd: number;
}

/** What the money dimension needs to price a reservation: the model going upstream and the token estimates. */
export interface PricedEstimate {
  model: string;
  inputTokens: number;
  outputTokens: number;
}

export interface Admission {
  headers: Record<string, string>;
  /** `counts`: the real input/cached/output split (prices the money budgets); absent = all input tokens. */
  settle(actualTotalTokens: number, counts?: TokenCounts): Promise<void>;
}

/** A key's or user's monthly budget: spent, limit and what is left (USD); null budget = none set. */
export interface BudgetState {
  budgetUsd: number | null;
  spentUsd: number;
  remainingUsd: number | null;
  resetsAt: string;
}

type BudgetKind = 'rpm' | 'tpm' | 'day' | 'month' | 'usd';
interface Budget {
  kind: BudgetKind;
  owner: 'key' | 'user';
  key: string;
  limit: number;
  cost: number;
  /** Money: the budget was set (strict admission); a key's money counter is kept without one too. */
  strict?: boolean;
  /** Fixed window: TTL in ms set when the window starts; calendar period: absolute expiry (epoch ms). */
  ttlMs?: number;
  endsAt?: number;
}

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

  constructor(
    private readonly redis: RedisService,
    private readonly pricing: PricingService,
    private readonly seeder: SpendSeeder,
  ) {
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

  private quotaKey(kind: 'day' | 'month' | 'usd', owner: 'key' | 'user', id: string, now = Date.now()) {
    const p = period(kind === 'usd' ? 'month' : kind, now);
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
    nano: number,
  ): Budget[] {
    if (!l) return owner === 'user' ? [this.money(owner, id, null, nano)] : [];
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
    // Money: the month spend is counted without a budget too (/v1/me, the keys and users pages, a budget set later).
    out.push(this.money(owner, id, l.monthlyBudgetUsd ?? null, nano));
    return out;
  }

  private money(owner: 'key' | 'user', id: string, budget: number | null, nano: number): Budget {
    const q = this.quotaKey('usd', owner, id);
    return {
      kind: 'usd',
      owner,
      key: q.key,
      limit: budget === null ? Number.MAX_SAFE_INTEGER : usdToNano(budget),
      cost: nano,
      strict: budget !== null,
      endsAt: q.endsAt,
    };
  }

  private counter(b: { owner: 'key' | 'user'; key: string; endsAt?: number }, id: string): SpendCounter {
    return { owner: b.owner, id, key: b.key, endsAt: b.endsAt ?? Date.now() };
  }

  /**
   * One admission round trip, plus, when money counters are missing, their seeding and a second one. A counter
   * Postgres cannot seed: a budget's refuses the request (503, like Redis down: a budget is not guessed from 0);
   * a counter without a budget leaves this request out of it (its row seeds it later, this request included).
   */
  private async run(budgets: Budget[], auth: RequestAuth): Promise<{ res: number[]; budgets: Budget[] }> {
    for (let round = 0; ; round++) {
      const args: (string | number)[] = [];
      for (const b of budgets) {
        const mode = b.kind === 'usd' ? (b.strict ? 's' : 'm') : b.endsAt ? 'p' : 'w';
        args.push(b.limit, b.cost, mode, b.endsAt ?? b.ttlMs ?? 60_000);
      }
      args.push(round < 2 ? '1' : '0');
      const res = await this.r.cgAdmit(budgets.length, ...budgets.map((b) => b.key), ...args);
      if (res[0] !== -1) return { res, budgets };
      const missing = res.slice(1).map((i) => budgets[Number(i) - 1]);
      const ok = await this.seeder.seed(
        missing.map((b) => this.counter(b, b.owner === 'key' ? auth.keyId! : auth.userId)),
      );
      const failed = missing.filter((_, i) => !ok[i]);
      if (failed.some((b) => b.strict)) throw new Error('month spend could not be read from Postgres');
      budgets = budgets.filter((b) => !failed.includes(b));
      if (budgets.length === 0) return { res: [0], budgets };
    }
  }

  /**
   * Checks and reserves every budget of the key (and of its user, when the admin set user limits) atomically.
   * `estimatedTokens` is the whole reservation: input estimate plus output estimate.
   */
  async admit(auth: RequestAuth, estimatedTokens: number, priced?: PricedEstimate): Promise<Admission> {
    const keyId = auth.keyId;
    if (!keyId) return { headers: {}, settle: async () => {} };
    const estimate = Math.max(0, Math.ceil(estimatedTokens));
    const price = priced ? this.pricing.priceOf(priced.model) : null;
    const budgeted = auth.limits.monthlyBudgetUsd != null || auth.userLimits?.monthlyBudgetUsd != null;
    if (priced && !price && budgeted)
      throw ApiError.forbidden(
        `The model '${priced.model}' has no price, and this key has a monthly budget in USD that must count every request; ask an admin to set its price (/admin/api/pricing).`,
        'model_not_priced',
      );
    const whole = (n: number) => Math.max(0, Math.ceil(n));
    const nano =
      priced && price
        ? costNano(price, { input: whole(priced.inputTokens), cached: 0, output: whole(priced.outputTokens) })
        : 0;
    const wanted = [
      ...this.budgets('key', keyId, auth.limits, estimate, nano),
      ...this.budgets('user', auth.userId, auth.userLimits, estimate, nano),
    ].filter((b) => b.cost > 0 || b.kind === 'rpm' || (b.strict && estimate > 0));
    const headers: Record<string, string> = {};
    if (wanted.length === 0) return { headers, settle: async () => {} };
    let res: number[];
    let budgets: Budget[];
    try {
      ({ res, budgets } = await this.run(wanted, auth));
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
    const counted = budgets.filter((b) => b.kind !== 'rpm');
    let settled = false;
    return {
      headers,
      settle: async (actual: number, counts?: TokenCounts) => {
        if (settled) return;
        settled = true;
        const tokens = Math.max(0, Math.ceil(actual));
        const realNano = price ? costNano(price, counts ?? { input: tokens, cached: 0, output: 0 }) : 0;
        const deltas = counted.map((b) => (b.kind === 'usd' ? realNano : tokens) - b.cost);
        if (deltas.every((d) => d === 0)) return;
        try {
          await this.r.cgSettle(counted.length, ...counted.map((b) => b.key), ...deltas);
        } catch (err) {
          this.logger.warn({ err: (err as Error).message }, 'could not settle token usage');
        }
      },
    };
  }

  private refusal(b: Budget, pttl: number): ApiError {
    const who = b.owner === 'key' ? 'this key' : "this key's user";
    if (b.kind === 'usd') {
      const endsAt = b.endsAt ?? Date.now();
      return new ApiError(
        429,
        `The monthly budget of ${who} (${nanoToUsd(b.limit)} USD of equivalent API cost) does not cover this request; it resets at ${new Date(endsAt).toISOString()}.`,
        'insufficient_quota',
        null,
        'budget_exceeded',
        { 'retry-after': String(Math.max(1, Math.ceil((endsAt - Date.now()) / 1000))) },
      );
    }
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
    const [rpm, tpm, day, month, usd] = await Promise.all([
      r.get(this.windowKey('rpm', 'key', keyId)),
      r.get(this.windowKey('tpm', 'key', keyId)),
      r.get(this.quotaKey('day', 'key', keyId).key),
      r.get(this.quotaKey('month', 'key', keyId).key),
      this.seeder.read(this.counter({ owner: 'key', ...this.quotaKey('usd', 'key', keyId) }, keyId)),
    ]);
    return {
      requestsThisMinute: Number(rpm ?? 0),
      tokensThisMinute: Number(tpm ?? 0),
      tokensToday: Math.max(0, Number(day ?? 0)),
      tokensThisMonth: Math.max(0, Number(month ?? 0)),
      spentThisMonthUsd: nanoToUsd(Math.max(0, Number(usd ?? 0))),
    };
  }

  /**
   * The monthly money budget of a key or a user as the admission counts it (reservations in flight included).
   * Seeded from the usage rows when missing, so a budget set mid-month starts from the month's real spend.
   */
  async budget(
    owner: 'key' | 'user',
    id: string,
    budgetUsd: number | null | undefined,
  ): Promise<BudgetState> {
    const q = this.quotaKey('usd', owner, id);
    const spentNano = await this.seeder.read(this.counter({ owner, ...q }, id));
    const budget = budgetUsd ?? null;
    return {
      budgetUsd: budget,
      spentUsd: nanoToUsd(spentNano),
      remainingUsd: budget === null ? null : nanoToUsd(Math.max(0, usdToNano(budget) - spentNano)),
      resetsAt: new Date(q.endsAt).toISOString(),
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
