import { learnCapacity, type UsageState, type WindowKind } from './usage-state.js';

/**
 * What a report does not show yet, and the capacity learned from what the reports do show. An answer's `x-codex-*`
 * headers (and its `codex.rate_limits` event) are written BEFORE its turn runs, so the latest report of an account
 * misses every request that had not ended when it was read; with several streams in flight an account near its
 * line is pushed past 100 % and the next request meets a usage limit (found by the pool e2e,
 * test/pool-team.e2e-spec.ts). Both counters are in COST TOKENS (turn-cost.ts), shared in Redis:
 * - `pool:ended:<id>` = the served cost of every request ended on the account (its usage, else its estimate);
 * - `pool:begun:<id>` = the same plus each running request's estimated cost (begin adds the estimate, end corrects
 *   it to the served cost), so begun − ended = the estimates of the requests still running.
 * Routing reads each window as `reported + (pending × (1 + PENDING_MARGIN)) ÷ capacity + FLOOR_PAD_PERCENT`, with
 * `pending` = begun now (plus this process's picks not begun yet) − ended when the report's request was PICKED
 * (pool.service.ts): a stream that ended while the answer was on its way is in no report.
 * Capacity (tokens per used-% point) is learned from the same reports: the served tokens between two reports of one
 * window ÷ the points it moved (learnCapacity, usage-state.ts). Weighing requests by their size, not one by one: a
 * conversation that just moved re-sends its whole input uncached (the e2e's last request at a limit was one: ~27
 * points where the mean turn moved ~4).
 * Only routing reads the prediction; the admin API and the forecast show what the backend reported.
 */

/** Share added to the pending cost: the estimate of a running turn is a guess (output length, cache state). */
export const PENDING_MARGIN = 0.25;
/**
 * Reports are floored (a window reported at 97 % may be at 97.99 %): while any request is pending the estimate
 * adds this many points too. An estimate that overshoots costs little: routing reads the account again
 * (wham/usage, pool.service.ts) before it refuses or moves a conversation because of it.
 */
export const FLOOR_PAD_PERCENT = 1;
/** Two reports belong to the same window while their reset times differ by less than this (whole seconds, jitter). */
const SAME_WINDOW_MS = 5000;

/**
 * `next` (the stored state with a report applied) with `endedAtReport` set and its capacity learned: per window
 * the served tokens since the window's used % last changed, once it changes again. A reset, a counter that went
 * back or a window seen for the first time only sets the base.
 */
export function learnFromReport(before: UsageState, next: UsageState, endedNow: number | null): UsageState {
  if (endedNow === null) return next;
  let out: UsageState = { ...next, endedAtReport: endedNow };
  const base = { ...before.learnBase };
  for (const kind of ['short', 'weekly'] as WindowKind[]) {
    const n = next[kind];
    if (!n || n === before[kind]) continue; // not in this report (or an older one)
    const b = base[kind];
    const sameWindow =
      b && b.resetsAt !== null && n.resetsAt !== null && Math.abs(b.resetsAt - n.resetsAt) < SAME_WINDOW_MS;
    const here = { used: n.usedPercent, ended: endedNow, resetsAt: n.resetsAt };
    if (!b || !sameWindow || n.usedPercent < b.used || endedNow < b.ended) base[kind] = here;
    else if (n.usedPercent > b.used) {
      // Points moved with no served tokens (the owner's own use outside the gateway) teach nothing: re-based.
      if (endedNow > b.ended) out = learnCapacity(out, kind, endedNow - b.ended, n.usedPercent - b.used);
      base[kind] = here;
    }
  }
  return { ...out, learnBase: base };
}

/** The state routing reads: each window's used % plus what the requests not in its report will have added. */
export function withPending(state: UsageState, begunNow: number | null): UsageState {
  const ended = state.endedAtReport;
  if (begunNow === null || ended == null) return state;
  const pending = Math.max(0, begunNow - ended);
  if (!pending) return state;
  const out: UsageState = { ...state };
  for (const kind of ['short', 'weekly'] as WindowKind[]) {
    const w = state[kind];
    const perPoint = state.capacity[kind].tokensPerPercent;
    if (w && perPoint > 0)
      out[kind] = {
        ...w,
        usedPercent: w.usedPercent + FLOOR_PAD_PERCENT + (pending * (1 + PENDING_MARGIN)) / perPoint,
      };
  }
  return out;
}
