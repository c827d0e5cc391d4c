/**
 * The simulated Codex backend: per account a short (5 h) and a weekly window that start at their first use after a
 * reset and reset at start + length; a usage-limit 429 (with the binding window's reset time and x-codex-* style
 * figures) once either is at 100 %; a prompt cache per account (same account + same cache key + the same input
 * prefix, kept CACHE_TTL after its last use); encrypted reasoning bound to the account that minted it.
 *
 * Cost of a turn in window units: uncached input + CACHED_COST × cached input + OUTPUT_COST × output. A cache miss
 * therefore burns quota, as it does upstream.
 */
import type { ReportedWindow } from '../src/accounts/pool/usage-state.ts';
import { HOUR } from './workload.ts';

export const CACHED_COST = 0.1;
export const OUTPUT_COST = 1;
export const SHORT_SECONDS = 5 * 3600;
export const WEEK_SECONDS = 7 * 24 * 3600;

/**
 * TRUE capacities of the simulated plans in cost units per window (not the gateway's per-plan defaults: the
 * gateway has to learn them). Pro = 6 × Plus; a week holds 6 full short windows.
 */
export const PLAN_TRUTH: Record<string, { short: number; weekly: number }> = {
  free: { short: 70_000, weekly: 420_000 },
  plus: { short: 350_000, weekly: 2_100_000 },
  team: { short: 350_000, weekly: 2_100_000 },
  pro: { short: 2_100_000, weekly: 12_600_000 },
};

export interface SimWindow {
  kind: 'short' | 'weekly';
  seconds: number;
  capacity: number;
  used: number;
  resetsAt: number | null;
}

export interface SimAccount {
  id: string;
  plan: string;
  reservePercent: number;
  maxConcurrent: number | null;
  windows: [SimWindow, SimWindow];
}

export interface Report {
  plan: string;
  windows: ReportedWindow[];
}

export type StartResult =
  | { kind: 'ok'; cachedTokens: number }
  | { kind: 'usage_limit'; resetAt: number; report: Report }
  | { kind: 'foreign_reasoning' }
  | { kind: 'server_error' };

interface CacheEntry {
  prefix: number;
  expires: number;
}

export interface BackendOptions {
  cacheTtlMs: number;
  /** Scale of every plan's true capacity (1 = PLAN_TRUTH). */
  capacityScale: number;
}

export class SimBackend {
  readonly accounts = new Map<string, SimAccount>();
  private readonly cache = new Map<string, CacheEntry>();
  /** Transient 5xx: per account, [from, to, share of requests failing]. */
  readonly incidents: { account: string; from: number; to: number; share: number }[] = [];

  private readonly opts: BackendOptions;
  private readonly r: () => number;

  constructor(opts: BackendOptions, r: () => number) {
    this.opts = opts;
    this.r = r;
  }

  add(a: {
    id: string;
    plan: string;
    reservePercent?: number;
    maxConcurrent?: number | null;
    factor: number;
    now: number;
  }): SimAccount {
    const truth = PLAN_TRUTH[a.plan] ?? PLAN_TRUTH.plus;
    const scale = a.factor * this.opts.capacityScale;
    // A subscription already in use: its windows started at some point of their length, at some used share.
    const win = (kind: 'short' | 'weekly', seconds: number, capacity: number): SimWindow => {
      const elapsed = this.r();
      return {
        kind,
        seconds,
        capacity,
        used: capacity * elapsed * 0.6 * this.r(),
        resetsAt: a.now + (1 - elapsed) * seconds * 1000,
      };
    };
    const acc: SimAccount = {
      id: a.id,
      plan: a.plan,
      reservePercent: a.reservePercent ?? 0,
      maxConcurrent: a.maxConcurrent ?? null,
      windows: [
        win('short', SHORT_SECONDS, truth.short * scale),
        win('weekly', WEEK_SECONDS, truth.weekly * scale),
      ],
    };
    this.accounts.set(a.id, acc);
    return acc;
  }

  private tick(a: SimAccount, now: number) {
    for (const w of a.windows) {
      if (w.resetsAt !== null && w.resetsAt <= now) {
        w.used = 0;
        w.resetsAt = null;
      }
    }
  }

  /** Used % of each window, as the truth (not rounded). */
  usedPercent(id: string, now: number): [number, number] {
    const a = this.accounts.get(id)!;
    this.tick(a, now);
    return [
      (100 * a.windows[0].used) / a.windows[0].capacity,
      (100 * a.windows[1].used) / a.windows[1].capacity,
    ];
  }

  atLimit(id: string, now: number): boolean {
    return this.usedPercent(id, now).some((u) => u >= 100);
  }

  /** What `wham/usage` and the x-codex-* headers say: integer used %, window length, reset (epoch s). */
  report(id: string, now: number): Report {
    const a = this.accounts.get(id)!;
    this.tick(a, now);
    return {
      plan: a.plan,
      windows: a.windows.map((w) => ({
        usedPercent: Math.floor((100 * w.used) / w.capacity),
        windowSeconds: w.seconds,
        // an idle window would start now
        resetAt: Math.floor((w.resetsAt ?? now + w.seconds * 1000) / 1000),
      })),
    };
  }

  /** A request arrives: refused at a limit, on foreign reasoning, by an incident; else accepted. */
  start(
    id: string,
    now: number,
    req: { cacheKey: string; input: number; reasoningFrom: string | null },
  ): StartResult {
    const a = this.accounts.get(id)!;
    this.tick(a, now);
    const full = a.windows.filter((w) => w.used >= w.capacity);
    if (full.length) {
      const resetAt = Math.max(...full.map((w) => w.resetsAt ?? now));
      return { kind: 'usage_limit', resetAt, report: this.report(id, now) };
    }
    if (req.reasoningFrom !== null && req.reasoningFrom !== id) return { kind: 'foreign_reasoning' };
    for (const inc of this.incidents) {
      if (inc.account === id && now >= inc.from && now < inc.to && this.r() < inc.share)
        return { kind: 'server_error' };
    }
    const e = this.cache.get(`${id}|${req.cacheKey}`);
    const cachedTokens = e && e.expires > now ? Math.min(e.prefix, req.input) : 0;
    return { kind: 'ok', cachedTokens };
  }

  /** The answer is complete: the turn's cost lands in both windows (a window starts at its first use). */
  finish(
    id: string,
    startedAt: number,
    now: number,
    t: { cacheKey: string; input: number; cached: number; output: number },
  ): Report {
    const a = this.accounts.get(id)!;
    this.tick(a, now);
    const cost = t.input - t.cached + CACHED_COST * t.cached + OUTPUT_COST * t.output;
    for (const w of a.windows) {
      if (w.resetsAt === null) w.resetsAt = startedAt + w.seconds * 1000;
      w.used += cost;
    }
    this.cache.set(`${id}|${t.cacheKey}`, {
      prefix: t.input + t.output,
      expires: now + this.opts.cacheTtlMs,
    });
    return this.report(id, now);
  }

  /** The subscription's owner uses it directly (outside the gateway): `percent` of the weekly window. */
  ownerUse(id: string, now: number, percent: number) {
    const a = this.accounts.get(id)!;
    this.tick(a, now);
    const cost = (percent / 100) * a.windows[1].capacity;
    for (const w of a.windows) {
      if (w.resetsAt === null) w.resetsAt = now + w.seconds * 1000;
      w.used += cost;
    }
  }

  /** OpenAI resets an account's limits before their time. */
  earlyReset(id: string) {
    for (const w of this.accounts.get(id)!.windows) {
      w.used = 0;
      w.resetsAt = null;
    }
  }

  /** Cost units an account can still take in each window before its owner's line. */
  remaining(id: string, now: number): { short: number; weekly: number; shortCap: number; weeklyCap: number } {
    const a = this.accounts.get(id)!;
    this.tick(a, now);
    const line = (100 - a.reservePercent) / 100;
    const [s, w] = a.windows;
    return {
      short: Math.max(0, line * s.capacity - s.used),
      weekly: Math.max(0, line * w.capacity - w.used),
      shortCap: line * s.capacity,
      weeklyCap: line * w.capacity,
    };
  }
}

export const INCIDENT_HOURS = 1 * HOUR;
