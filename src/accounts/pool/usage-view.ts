import { usedNow, type UsageState, type WindowKind } from './usage-state.js';

/** What the admin API and the web admin show of an account's usage state: per window used %, resets at, as of. */
export interface UsageWindowView {
  kind: WindowKind;
  /** Used % now (0 once the reset time passed, even before the next poll says so). */
  usedPercent: number;
  windowSeconds: number;
  resetsAt: string | null;
  asOf: string;
}

export interface AccountUsageView {
  plan: string | null;
  windows: UsageWindowView[];
  /** Percent points left before the owner's line in the tighter window (null: nothing known yet). */
  headroomPercent: number | null;
  /** The oldest window's read time: how stale the snapshot is. */
  asOf: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function usageView(
  state: UsageState | null,
  now: number,
  reservePercent = 0,
): AccountUsageView | null {
  if (!state) return null;
  const windows: UsageWindowView[] = [];
  for (const kind of ['short', 'weekly'] as const) {
    const w = state[kind];
    if (!w) continue;
    windows.push({
      kind,
      usedPercent: usedNow(w, now) ?? w.usedPercent,
      windowSeconds: w.windowSeconds,
      resetsAt: iso(w.resetsAt),
      asOf: new Date(w.asOf).toISOString(),
    });
  }
  const line = 100 - reservePercent;
  const headroom = windows.length ? Math.max(0, Math.min(...windows.map((w) => line - w.usedPercent))) : null;
  const oldest = windows.length ? Math.min(...windows.map((w) => Date.parse(w.asOf))) : null;
  return { plan: state.plan, windows, headroomPercent: headroom, asOf: iso(oldest) };
}
