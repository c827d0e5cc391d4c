import { usedNow, type UsageState, type WindowKind } from './usage-state.js';

/**
 * When each window of the pool runs dry at the last hour's burn rate (pure; the overview and the worker's gauge
 * use it). Per account and window: used-% points gained over the last hour (from the samples the usage store
 * keeps, after the window's last reset only) × its capacity (tokens per point) = tokens per ms; the pool's
 * remaining tokens before the owners' lines divided by the summed rate is the time left. A linear forecast: it
 * says when the pool runs dry IF nothing resets first, and counts the accounts whose window resets before then.
 */
export interface UsageSample {
  t: number;
  short: number | null;
  weekly: number | null;
}

export interface ForecastInput {
  state: UsageState;
  reservePercent: number;
  /** Oldest first. */
  samples: UsageSample[];
}

export interface WindowForecast {
  kind: WindowKind;
  /** Epoch ms at which the pool's headroom in this window is gone (null: nothing is being spent). */
  dryAt: number | null;
  /** Tokens per hour the pool spends in this window. */
  burnTokensPerHour: number;
  remainingTokens: number;
  /** Accounts whose window resets before `dryAt` (they bring capacity back). */
  resetsBefore: number;
}

export const FORECAST_SPAN_MS = 3600_000;
/** A rate needs at least this much history. */
export const FORECAST_MIN_SPAN_MS = 5 * 60_000;

export function forecastPool(inputs: ForecastInput[], now: number): WindowForecast[] {
  return (['short', 'weekly'] as const).map((kind) => forecastWindow(inputs, kind, now));
}

function forecastWindow(inputs: ForecastInput[], kind: WindowKind, now: number): WindowForecast {
  let remaining = 0;
  let rate = 0; // tokens per ms
  const resets: number[] = [];
  for (const x of inputs) {
    const w = x.state[kind];
    const used = usedNow(w, now);
    if (!w || used === null) continue;
    const cap = x.state.capacity[kind].tokensPerPercent;
    remaining += Math.max(0, 100 - x.reservePercent - used) * cap;
    if (w.resetsAt !== null && w.resetsAt > now) resets.push(w.resetsAt);
    // Samples of the last hour after the last drop (a drop is a reset): the oldest one is the base.
    const recent = x.samples.filter((s) => s.t >= now - FORECAST_SPAN_MS && s[kind] !== null);
    let base: UsageSample | null = null;
    for (let i = 0; i < recent.length; i++) {
      if (i > 0 && recent[i][kind]! < recent[i - 1][kind]!) base = null;
      base ??= recent[i];
    }
    if (!base || now - base.t < FORECAST_MIN_SPAN_MS) continue;
    const gained = used - base[kind]!;
    if (gained > 0) rate += (gained * cap) / (now - base.t);
  }
  const dryAt = rate > 0 ? now + remaining / rate : null;
  return {
    kind,
    dryAt: dryAt === null ? null : Math.round(dryAt),
    burnTokensPerHour: Math.round(rate * 3600_000),
    remainingTokens: Math.round(remaining),
    resetsBefore: dryAt === null ? 0 : resets.filter((r) => r < dryAt).length,
  };
}
