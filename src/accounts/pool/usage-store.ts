import type { RedisService } from '../../redis/redis.service.js';
import { applyReport, emptyUsageState, type ReportedWindow, type UsageState } from './usage-state.js';
import type { UsageSample } from './forecast.js';
import { learnFromReport } from './pending.js';

/**
 * Each account's usage state (usage-state.ts) in Redis, shared by every replica: `pool:usage:<id>` holds the JSON
 * state, each window with the time it was read (`asOf`). Written by the poller (`wham/usage`) and by every
 * /responses answer (`x-codex-*` headers, the `codex.rate_limits` event); read by routing and the admin API.
 * A failed poll writes nothing: the snapshot only ages.
 */
export interface UsageReport {
  plan?: string | null;
  windows: ReportedWindow[];
}

/** Kept a little longer than the weekly window: an idle account still shows its last known state. */
const USAGE_TTL_SECONDS = 8 * 24 * 3600;
/** The forecast's samples: at most one a minute per account (per process), the last ~2 hours kept. */
const SAMPLE_EVERY_MS = 60_000;
const SAMPLES_KEPT = 120;

export class UsageStore {
  private readonly sampledAt = new Map<string, number>();
  constructor(private readonly redis: RedisService) {}

  private samplesKey(accountId: string): string {
    return this.redis.key('pool', 'usage-samples', accountId);
  }

  /** Oldest first. */
  async samples(ids: string[]): Promise<Map<string, UsageSample[]>> {
    const lists = await Promise.all(ids.map((id) => this.redis.client.lrange(this.samplesKey(id), 0, -1)));
    const out = new Map<string, UsageSample[]>();
    ids.forEach((id, i) => {
      const parsed = lists[i]
        .map((v) => {
          try {
            const [t, short, weekly] = JSON.parse(v) as [number, number | null, number | null];
            return { t, short, weekly };
          } catch {
            return null;
          }
        })
        .filter((x): x is UsageSample => x !== null)
        .reverse();
      out.set(id, parsed);
    });
    return out;
  }

  private async sample(accountId: string, s: UsageState, asOf: number): Promise<void> {
    if (asOf - (this.sampledAt.get(accountId) ?? 0) < SAMPLE_EVERY_MS) return;
    this.sampledAt.set(accountId, asOf);
    const k = this.samplesKey(accountId);
    const r = this.redis.client;
    await Promise.all([
      r.lpush(k, JSON.stringify([asOf, s.short?.usedPercent ?? null, s.weekly?.usedPercent ?? null])),
      r.ltrim(k, 0, SAMPLES_KEPT - 1),
      r.expire(k, 3 * 3600),
    ]);
  }

  /** Cost tokens begun / ended on an account (PoolService.begin / end): what a report does not show yet (pending.ts). */
  begunKey(accountId: string): string {
    return this.redis.key('pool', 'begun', accountId);
  }

  endedKey(accountId: string): string {
    return this.redis.key('pool', 'ended', accountId);
  }

  private key(accountId: string): string {
    return this.redis.key('pool', 'usage', accountId);
  }

  async getMany(ids: string[]): Promise<Map<string, UsageState>> {
    const out = new Map<string, UsageState>();
    if (!ids.length) return out;
    const values = await this.redis.client.mget(...ids.map((id) => this.key(id)));
    ids.forEach((id, i) => {
      const s = parseState(values[i]);
      if (s) out.set(id, s);
    });
    return out;
  }

  async get(id: string): Promise<UsageState | null> {
    return parseState(await this.redis.client.get(this.key(id)));
  }

  /**
   * Applies a report read at `asOf` (epoch ms) to the stored state. `endedBefore`: the account's ended counter
   * (served cost tokens) read before the request (or poll) that brought the report was sent; without it, the counter now. Read-modify-write without a lock: two replicas
   * writing at once keep one of two fresh reports, and `applyReport` never lets an older window replace a newer one
   * read by the same writer.
   */
  async apply(
    accountId: string,
    planType: string | null,
    report: UsageReport,
    asOf: number,
    endedBefore?: number | null,
  ): Promise<UsageState> {
    const [raw, ended] = await this.redis.client.mget(this.key(accountId), this.endedKey(accountId));
    // The report shows the requests that had ended before it was written, not those ended by now (pending.ts).
    const endedNow = ended === null ? 0 : Number(ended);
    const endedAtReport = endedBefore == null ? endedNow : Math.min(endedNow, endedBefore);
    const before = parseState(raw) ?? emptyUsageState(report.plan ?? planType);
    let next = applyReport(before, report, asOf);
    // A report without reset times (the stream's rate-limit event) keeps the reset time already known.
    for (const kind of ['short', 'weekly'] as const) {
      const w = next[kind];
      const prev = before[kind];
      if (w && prev && w !== prev && w.resetsAt === null && prev.resetsAt !== null && prev.resetsAt > asOf)
        next[kind] = { ...w, resetsAt: prev.resetsAt };
    }
    next = learnFromReport(before, next, endedAtReport);
    await this.redis.client.set(this.key(accountId), JSON.stringify(next), 'EX', USAGE_TTL_SECONDS);
    await this.sample(accountId, next, asOf).catch(() => {});
    return next;
  }
}

function parseState(v: string | null): UsageState | null {
  if (!v) return null;
  try {
    const s = JSON.parse(v) as UsageState;
    return s && typeof s === 'object' && s.capacity ? s : null;
  } catch {
    return null;
  }
}

/** `x-codex-*` headers of an answer → a report (windows as sent; classification by length happens on apply). */
export function reportFromHeaders(h: Record<string, string | string[] | undefined>): UsageReport | null {
  const get = (k: string) => {
    const v = h[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const num = (k: string) => {
    const raw = get(k);
    if (raw === undefined || raw === '') return null;
    const n = Number(raw);
    return Number.isFinite(n) ? n : null;
  };
  const windows: ReportedWindow[] = [];
  for (const name of ['primary', 'secondary']) {
    const used = num(`x-codex-${name}-used-percent`);
    if (used === null) continue;
    windows.push({
      usedPercent: used,
      windowMinutes: num(`x-codex-${name}-window-minutes`),
      resetAt: num(`x-codex-${name}-reset-at`),
      resetAfterSeconds: num(`x-codex-${name}-reset-after-seconds`),
    });
  }
  if (!windows.length) return null;
  const plan = get('x-codex-plan-type');
  return { plan: plan ? plan.toLowerCase() : null, windows };
}

interface WhamWindow {
  used_percent?: unknown;
  limit_window_seconds?: unknown;
  reset_after_seconds?: unknown;
  reset_at?: unknown;
}

/** The body of `GET …/wham/usage` (fact sheet §9.3) → a report; null when it has no usable window. */
export function reportFromWham(body: unknown): UsageReport | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as {
    plan_type?: unknown;
    rate_limit?: { primary_window?: unknown; secondary_window?: unknown };
  };
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  const windows: ReportedWindow[] = [];
  for (const w of [b.rate_limit?.primary_window, b.rate_limit?.secondary_window]) {
    if (!w || typeof w !== 'object') continue;
    const x = w as WhamWindow;
    const used = n(x.used_percent);
    if (used === null) continue;
    windows.push({
      usedPercent: used,
      windowSeconds: n(x.limit_window_seconds),
      resetAt: n(x.reset_at),
      resetAfterSeconds: n(x.reset_after_seconds),
    });
  }
  const plan = typeof b.plan_type === 'string' ? b.plan_type.toLowerCase() : null;
  if (!windows.length && !plan) return null;
  return { plan, windows };
}

/** The `codex.rate_limits` stream event → a report. */
export function reportFromEvent(data: unknown): UsageReport | null {
  const rl = (data as { rate_limits?: Record<string, unknown> } | undefined)?.rate_limits;
  if (!rl || typeof rl !== 'object') return null;
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  const windows: ReportedWindow[] = [];
  for (const w of [rl.primary, rl.secondary]) {
    if (!w || typeof w !== 'object') continue;
    const x = w as Record<string, unknown>;
    const used = n(x.used_percent);
    if (used === null) continue;
    windows.push({
      usedPercent: used,
      windowMinutes: n(x.window_minutes),
      resetAt: n(x.resets_at) ?? n(x.reset_at),
      resetAfterSeconds: n(x.resets_in_seconds) ?? n(x.reset_after_seconds),
    });
  }
  return windows.length ? { windows } : null;
}
