import type { UsageState, WindowKind } from './usage-state.js';

/**
 * What a report does not show yet. An answer's `x-codex-*` headers (and its `codex.rate_limits` event) are written
 * BEFORE its turn runs, so the latest report of an account misses every request that had not ended when it was
 * read; with several streams in flight an account near its line is pushed past 100 % and the next request meets a
 * usage limit (found by the pool e2e, test/pool-team.e2e-spec.ts: one request at its limit per account as the pool
 * ran dry). Routing therefore reads each window as `reported + pending × perRequest`:
 * - `pending` = requests begun on the account now − requests ended when the report was applied (both shared
 *   counters in Redis: `pool:begun:<id>`, `pool:ended:<id>`);
 * - `perRequest` = used-% points one request moves the window, learned from consecutive reports of the same
 *   window (Δ used % ÷ Δ requests ended), smoothed. Until learned nothing is added;
 * - plus PENDING_MARGIN requests and FLOOR_PAD_PERCENT points while any is pending.
 * `ended` is read when the request that brought the report was PICKED (pool.service.ts), not when the report is
 * applied: a stream that ended while the answer was on its way is not in it (the race the pool e2e met).
 * Only routing reads the prediction; the admin API and the forecast show what the backend reported.
 */

/**
 * One request more than counted while any is pending: turns differ in size (a conversation's first turn on an
 * account is uncached and moves a window several times the mean). With half a request the pool e2e still met a
 * request at its limit in about every other run, as an account first filled; an overshoot only costs a read.
 */
export const PENDING_MARGIN = 1;
/**
 * Reports are floored (a window reported at 97 % may be at 97.99 %): while any request is pending the estimate
 * adds this many points too. An estimate that overshoots costs little: routing reads the account again
 * (wham/usage, pool.service.ts) before it refuses or moves a conversation because of it.
 */
export const FLOOR_PAD_PERCENT = 1;
/** Weight of a new sample in the smoothed per-request figure. */
export const PER_REQUEST_SMOOTHING = 0.3;
/** Two reports belong to the same window while their reset times differ by less than this (whole seconds, jitter). */
const SAME_WINDOW_MS = 5000;

/** `next` (the stored state with a report applied) with its per-request figures learned and `endedAtReport` set. */
export function learnPerRequest(before: UsageState, next: UsageState, endedNow: number | null): UsageState {
  if (endedNow === null) return next;
  const changed = (['short', 'weekly'] as const).filter((k) => next[k] && next[k] !== before[k]);
  if (!changed.length) return next;
  const perRequest = { ...before.perRequest };
  const ended = before.endedAtReport;
  for (const kind of changed) {
    const b = before[kind];
    const n = next[kind]!;
    if (!b || ended == null || endedNow <= ended) continue;
    const sameWindow =
      b.resetsAt !== null && n.resetsAt !== null && Math.abs(b.resetsAt - n.resetsAt) < SAME_WINDOW_MS;
    if (!sameWindow || n.usedPercent < b.usedPercent) continue; // a reset: no evidence
    const sample = (n.usedPercent - b.usedPercent) / (endedNow - ended);
    const old = perRequest[kind];
    perRequest[kind] = old === undefined ? sample : old + PER_REQUEST_SMOOTHING * (sample - old);
  }
  return { ...next, perRequest, endedAtReport: endedNow };
}

/** The state routing reads: each window's used % plus what the requests not in its report will have added. */
export function withPending(state: UsageState, begunNow: number | null): UsageState {
  const ended = state.endedAtReport;
  if (begunNow === null || ended == null || !state.perRequest) return state;
  const pending = Math.max(0, begunNow - ended);
  if (!pending) return state;
  const out: UsageState = { ...state };
  for (const kind of ['short', 'weekly'] as WindowKind[]) {
    const w = state[kind];
    const per = state.perRequest[kind];
    if (w && per && per > 0)
      out[kind] = {
        ...w,
        usedPercent: w.usedPercent + FLOOR_PAD_PERCENT + (pending + PENDING_MARGIN) * per,
      };
  }
  return out;
}
