/**
 * The fake backend's WINDOWS MODE (off unless `FakeUpstream.enableWindows()` is called): per account a 5-hour and a
 * weekly usage window with per-plan capacity, in scaled time, plus a per-account prompt-cache model. It is what the
 * pool e2e test (test/pool-team.e2e-spec.ts) runs a team against; the simulator's backend (sim/backend.ts) has the
 * same rules in simulated time.
 *
 * - **Scaled time**: `timeScale` simulated seconds pass per real second (300: a real second is 5 minutes, a 5-hour
 *   window lasts 60 real seconds). Window LENGTHS are reported as they really are (300 and 10 080 minutes, so the
 *   gateway classifies them by length as it does upstream); RESET TIMES are reported in real time (`reset_at` in
 *   epoch seconds, `reset-after-seconds`), so the gateway's clock needs no scaling.
 * - **Windows**: a window starts at its first use after a reset and resets one length later (as sim/backend.ts).
 *   A turn's cost lands in both windows when its answer completes: uncached input + `cachedCost` × cached input +
 *   output tokens. An account with a window at 100 % is refused: a 429 `usage_limit_reached` or, with
 *   `limitAs: 'stream'` (or every other refusal with 'mixed'), a 200 stream ending in `response.failed` with code
 *   `usage_limit_reached` — the shapes docs/upstream-protocol.md §6 gives, as the fake's faults write them.
 * - **Headers and wham/usage** report the same state: integer used % (floored), window minutes, reset after
 *   seconds (rounded up) — the state before the turn, as a real answer's headers are written before it runs.
 * - **Prompt cache** per account: the same account + the same `prompt_cache_key` + the same input prefix (items
 *   compared by their type, role, text and call fields) → `cached_tokens` = the tokens of the common prefix with
 *   the last completed turn's input plus its output. Entries live `cacheTtlSeconds` of SIMULATED time after use.
 * - **Counters** for assertions: requests to an account at its limit (the gateway should send none), refusals,
 *   served turns with their cached tokens.
 */

export type WindowKind = 'short' | 'weekly';
export const SHORT_SECONDS = 5 * 3600;
export const WEEK_SECONDS = 7 * 24 * 3600;

export interface WindowsOptions {
  /** Simulated seconds per real second. */
  timeScale: number;
  /** Capacity per plan, in cost units (tokens) per window. Unknown plans are taken as `plus`. */
  plans: Record<string, Record<WindowKind, number>>;
  /** Cost of a cached input token relative to an uncached one. */
  cachedCost: number;
  /** Output tokens of an answer (its cost in the windows); the text is the fake's usual one. */
  outputTokens: number;
  /** Prompt-cache entries are kept this long after their last use, in simulated seconds. */
  cacheTtlSeconds: number;
  /** How a usage limit is answered: a 429, a `response.failed` stream, or alternately. */
  limitAs: 'http' | 'stream' | 'mixed';
}

/** Defaults: Pro = 6 × Plus, a week holds 6 full 5-hour windows (the simulator's ratios). */
export const DEFAULT_WINDOWS: WindowsOptions = {
  timeScale: 300,
  plans: {
    free: { short: 20_000, weekly: 120_000 },
    plus: { short: 100_000, weekly: 600_000 },
    team: { short: 100_000, weekly: 600_000 },
    pro: { short: 600_000, weekly: 3_600_000 },
  },
  cachedCost: 0.1,
  outputTokens: 150,
  cacheTtlSeconds: 30 * 60,
  limitAs: 'mixed',
};

interface Win {
  kind: WindowKind;
  seconds: number;
  capacity: number;
  used: number;
  /** Real epoch ms of the reset (null: idle, starts at its next use). */
  resetsAt: number | null;
}

interface AccountWindows {
  plan: string;
  /** For the headroom figures only (the backend knows nothing of the gateway's owner reserve). */
  reservePercent: number;
  windows: [Win, Win];
  cache: Map<string, { keys: string[]; tokens: number[]; expires: number }>;
  served: number;
  refused: number;
  atLimitRequests: number;
}

/** A request admitted: what its usage says, and `commit()` to charge it once the answer completed. */
export interface Admitted {
  kind: 'ok';
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  /** The answer completed with these output items (they extend the cached prefix). */
  commit(outputItems: any[]): void;
}

export interface Refused {
  kind: 'limit';
  as: 'http' | 'stream';
  resetsInSeconds: number;
  resetsAt: number;
}

export interface WindowSetup {
  /** Used share of each window at the start, 0–100 (a started window: it resets one length from now). */
  shortUsedPercent?: number;
  weeklyUsedPercent?: number;
  reservePercent?: number;
}

const tokensOf = (s: string) => Math.max(1, Math.ceil(s.length / 4));

function itemParts(item: any): (string | null)[] {
  const content = item.content;
  const text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('')
        : '';
  return [
    item.type ?? 'message',
    item.role ?? null,
    text,
    item.call_id ?? null,
    item.name ?? null,
    item.arguments ?? null,
    typeof item.output === 'string' ? item.output : null,
    item.encrypted_content ?? null,
  ];
}

/** The cache identity of an input item: what a client replays, not ids or statuses the gateway may drop. */
export function itemKey(item: any): string {
  if (typeof item !== 'object' || item === null) return JSON.stringify(item);
  return JSON.stringify(itemParts(item));
}

/** Tokens of an item: its text, arguments and output at about 4 characters a token, plus 4 for its framing. */
export function itemTokens(item: any): number {
  if (typeof item !== 'object' || item === null) return tokensOf(String(item));
  const [, , text, , , args, output] = itemParts(item);
  return 4 + Math.ceil(((text ?? '') + (args ?? '') + (output ?? '')).length / 4);
}

export class WindowsModel {
  readonly opts: WindowsOptions;
  private readonly accounts = new Map<string, AccountWindows>();
  private limitCount = 0;
  /** Every request refused at a limit: when, which account, its used % per window then. */
  readonly limitLog: { at: number; id: string; short: number; weekly: number }[] = [];

  // No parameter properties: this file runs under Node's type stripping too (bench, test/deploy scripts).
  private readonly clock: () => number;

  constructor(opts: Partial<WindowsOptions> = {}, clock: () => number = Date.now) {
    this.clock = clock;
    this.opts = { ...DEFAULT_WINDOWS, ...opts, plans: { ...DEFAULT_WINDOWS.plans, ...opts.plans } };
  }

  private capacities(plan: string): Record<WindowKind, number> {
    return this.opts.plans[plan] ?? this.opts.plans.plus;
  }

  /** The account's windows (created idle on first sight). */
  private acct(id: string, plan: string): AccountWindows {
    let a = this.accounts.get(id);
    if (!a) {
      const cap = this.capacities(plan);
      a = {
        plan,
        reservePercent: 0,
        windows: [
          { kind: 'short', seconds: SHORT_SECONDS, capacity: cap.short, used: 0, resetsAt: null },
          { kind: 'weekly', seconds: WEEK_SECONDS, capacity: cap.weekly, used: 0, resetsAt: null },
        ],
        cache: new Map(),
        served: 0,
        refused: 0,
        atLimitRequests: 0,
      };
      this.accounts.set(id, a);
    }
    this.tick(a);
    return a;
  }

  /** Real ms a window of `seconds` simulated seconds lasts. */
  private realMs(seconds: number): number {
    return (seconds * 1000) / this.opts.timeScale;
  }

  private tick(a: AccountWindows): void {
    const now = this.clock();
    for (const w of a.windows)
      if (w.resetsAt !== null && w.resetsAt <= now) {
        w.used = 0;
        w.resetsAt = null;
      }
  }

  /** Sets an account's starting state (partly used windows, the reserve the headroom figures respect). */
  setup(id: string, plan: string, s: WindowSetup): void {
    const a = this.acct(id, plan);
    const now = this.clock();
    a.reservePercent = s.reservePercent ?? a.reservePercent;
    const [short, weekly] = a.windows;
    for (const [w, p] of [
      [short, s.shortUsedPercent],
      [weekly, s.weeklyUsedPercent],
    ] as const) {
      if (p === undefined) continue;
      w.used = (w.capacity * p) / 100;
      w.resetsAt = p > 0 ? now + this.realMs(w.seconds) : null;
    }
  }

  /** Used % per window now (not rounded). */
  usedPercent(id: string, plan = 'plus'): Record<WindowKind, number> {
    const a = this.acct(id, plan);
    return {
      short: (100 * a.windows[0].used) / a.windows[0].capacity,
      weekly: (100 * a.windows[1].used) / a.windows[1].capacity,
    };
  }

  /** The windows as the backend reports them: floored used %, length, reset in real seconds (an idle window would start now). */
  report(
    id: string,
    plan: string,
  ): { usedPercent: number; windowSeconds: number; resetAfterSeconds: number }[] {
    const a = this.acct(id, plan);
    const now = this.clock();
    return a.windows.map((w) => ({
      usedPercent: Math.floor((100 * w.used) / w.capacity),
      windowSeconds: w.seconds,
      resetAfterSeconds: Math.max(0, Math.ceil(((w.resetsAt ?? now + this.realMs(w.seconds)) - now) / 1000)),
    }));
  }

  /** `x-codex-*` headers: primary = the 5-hour window, secondary = the weekly one. */
  headers(id: string, plan: string): Record<string, string> {
    const [p, s] = this.report(id, plan);
    return {
      'x-codex-primary-used-percent': String(p.usedPercent),
      'x-codex-primary-window-minutes': String(p.windowSeconds / 60),
      'x-codex-primary-reset-after-seconds': String(p.resetAfterSeconds),
      'x-codex-secondary-used-percent': String(s.usedPercent),
      'x-codex-secondary-window-minutes': String(s.windowSeconds / 60),
      'x-codex-secondary-reset-after-seconds': String(s.resetAfterSeconds),
    };
  }

  /** The `codex.rate_limits` event's snapshot. */
  rateLimitsEvent(id: string, plan: string): Record<string, unknown> {
    const [p, s] = this.report(id, plan);
    return {
      primary: { used_percent: p.usedPercent, window_minutes: p.windowSeconds / 60 },
      secondary: { used_percent: s.usedPercent, window_minutes: s.windowSeconds / 60 },
    };
  }

  /** The `wham/usage` body's `rate_limit` object. */
  whamRateLimit(id: string, plan: string): Record<string, unknown> {
    const nowS = Math.floor(this.clock() / 1000);
    const [p, s] = this.report(id, plan).map((w) => ({
      used_percent: w.usedPercent,
      limit_window_seconds: w.windowSeconds,
      reset_after_seconds: w.resetAfterSeconds,
      reset_at: nowS + w.resetAfterSeconds,
    }));
    const reached = p.used_percent >= 100 || s.used_percent >= 100;
    return { allowed: !reached, limit_reached: reached, primary_window: p, secondary_window: s };
  }

  /**
   * A /responses request reaches the account: refused when a window is at 100 % (counted as a request to an
   * account at its limit), else admitted with its usage from the cache model.
   */
  admit(
    id: string,
    plan: string,
    body: { instructions?: string; input: any[]; prompt_cache_key?: string },
  ): Admitted | Refused {
    const a = this.acct(id, plan);
    const now = this.clock();
    const full = a.windows.filter((w) => w.used >= w.capacity);
    if (full.length) {
      a.atLimitRequests++;
      a.refused++;
      const [s, w] = a.windows.map((x) => Math.round((1000 * x.used) / x.capacity) / 10);
      this.limitLog.push({ at: now, id, short: s, weekly: w });
      const resetsAt = Math.max(...full.map((w) => w.resetsAt ?? now));
      const as =
        this.opts.limitAs === 'mixed' ? (this.limitCount++ % 2 ? 'stream' : 'http') : this.opts.limitAs;
      return {
        kind: 'limit',
        as,
        resetsInSeconds: Math.max(1, Math.ceil((resetsAt - now) / 1000)),
        resetsAt: Math.ceil(resetsAt / 1000),
      };
    }
    const items = [{ type: 'instructions', text: body.instructions ?? '' }, ...body.input];
    const keys = items.map((i, n) => (n === 0 ? `i:${i.text}` : itemKey(i)));
    const tokens = items.map((i, n) => (n === 0 ? tokensOf(i.text) : itemTokens(i)));
    const inputTokens = tokens.reduce((s, t) => s + t, 0);
    const cacheKey = typeof body.prompt_cache_key === 'string' ? body.prompt_cache_key : null;
    let cachedTokens = 0;
    if (cacheKey) {
      const e = a.cache.get(cacheKey);
      if (e && e.expires > now) {
        for (let i = 0; i < Math.min(keys.length, e.keys.length) && keys[i] === e.keys[i]; i++)
          cachedTokens += tokens[i];
      }
    }
    const outputTokens = this.opts.outputTokens;
    const commit = (outputItems: any[]) => {
      const at = this.clock();
      this.tick(a);
      const cost = inputTokens - cachedTokens + this.opts.cachedCost * cachedTokens + outputTokens;
      for (const w of a.windows) {
        if (w.resetsAt === null) w.resetsAt = now + this.realMs(w.seconds);
        w.used += cost;
      }
      a.served++;
      if (cacheKey) {
        a.cache.set(cacheKey, {
          keys: [...keys, ...outputItems.map(itemKey)],
          tokens: [...tokens, ...outputItems.map(itemTokens)],
          expires: at + this.realMs(this.opts.cacheTtlSeconds),
        });
      }
    };
    return { kind: 'ok', inputTokens, cachedTokens, outputTokens, commit };
  }

  /** Requests that reached an account while one of its windows was at 100 %, per account id. */
  atLimitRequests(): Record<string, number> {
    return Object.fromEntries([...this.accounts].map(([id, a]) => [id, a.atLimitRequests]));
  }

  /** Per account: used % per window (one decimal) and seconds to each reset, for diagnostics. */
  snapshot(): Record<string, string> {
    const now = this.clock();
    return Object.fromEntries(
      [...this.accounts].map(([id, a]) => {
        this.tick(a);
        const f = (w: Win) =>
          `${((100 * w.used) / w.capacity).toFixed(1)}%/${w.resetsAt === null ? '-' : ((w.resetsAt - now) / 1000).toFixed(1)}s`;
        return [id, `${f(a.windows[0])} ${f(a.windows[1])} r${a.reservePercent}`];
      }),
    );
  }

  /** Some account is ≥ 1 point below its owner's line in both windows (the truth, not the gateway's view). */
  headroomAnywhere(): boolean {
    for (const a of this.accounts.values()) {
      this.tick(a);
      const line = 100 - a.reservePercent;
      if (a.windows.every((w) => (100 * w.used) / w.capacity <= line - 1)) return true;
    }
    return false;
  }

  /**
   * Share of the pool's capacity used now: 1 − Σ units left before the line in each account's binding window
   * (the one with fewer units left) ÷ Σ those windows' capacity up to the line.
   */
  capacityUsed(): number {
    let left = 0;
    let cap = 0;
    for (const a of this.accounts.values()) {
      this.tick(a);
      const line = (100 - a.reservePercent) / 100;
      const rem = a.windows.map((w) => ({
        left: Math.max(0, line * w.capacity - w.used),
        cap: line * w.capacity,
      }));
      const binding = rem[0].left <= rem[1].left ? rem[0] : rem[1];
      left += binding.left;
      cap += binding.cap;
    }
    return cap > 0 ? 1 - left / cap : 0;
  }
}

/** What the fake's /responses handler does with one request in windows mode (the hook in index.ts). */
export type WindowsTurn =
  | { kind: 'http'; status: 429; body: Record<string, unknown>; headers: Record<string, string> }
  | {
      kind: 'stream';
      headers: Record<string, string>;
      rateLimits: Record<string, unknown>;
      /** A usage limit as a 200 stream: the `failed` part of the answer's spec. */
      failed?: { code: string; message: string; resets_in_seconds: number };
      usage?: { input_tokens: number; cached_tokens: number; output_tokens: number };
      commit?: (outputItems: any[]) => void;
    };

export function windowsTurn(
  m: WindowsModel,
  id: string,
  plan: string,
  body: { instructions?: string; input: any[]; prompt_cache_key?: string },
): WindowsTurn {
  // Headers and the rate-limits event carry the state BEFORE this turn (they are written before it runs).
  const headers = m.headers(id, plan);
  const rateLimits = m.rateLimitsEvent(id, plan);
  const r = m.admit(id, plan, body);
  if (r.kind === 'limit') {
    if (r.as === 'http')
      return {
        kind: 'http',
        status: 429,
        headers,
        body: {
          error: {
            type: 'usage_limit_reached',
            message: 'The usage limit has been reached',
            plan_type: plan,
            resets_at: r.resetsAt,
            resets_in_seconds: r.resetsInSeconds,
          },
        },
      };
    return {
      kind: 'stream',
      headers,
      rateLimits,
      failed: {
        code: 'usage_limit_reached',
        message: 'The usage limit has been reached',
        resets_in_seconds: r.resetsInSeconds,
      },
    };
  }
  return {
    kind: 'stream',
    headers,
    rateLimits,
    usage: { input_tokens: r.inputTokens, cached_tokens: r.cachedTokens, output_tokens: r.outputTokens },
    commit: r.commit,
  };
}
