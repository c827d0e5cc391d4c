/**
 * The pure model of one subscription account's usage state: its limit windows, classified by their LENGTH (the
 * backend's words "primary"/"secondary" do not say which is which: a free plan reports the weekly window as primary),
 * its plan, and its capacity (tokens per used-% point). No I/O here: the poller (`wham/usage`) and the response path
 * (`x-codex-*` headers) fill it; the routing score (score.ts) and the simulator (sim/) read it.
 */

/** `short`: the ~5-hour window; `weekly`: the 7-day window. */
export type WindowKind = 'short' | 'weekly';

/** A window of at most this length is the short (~5 h) one; anything longer is the weekly one. */
export const SHORT_WINDOW_MAX_SECONDS = 24 * 3600;

export interface UsageWindow {
  /** 0–100 (the backend may report slightly above 100 once a turn overshoots). */
  usedPercent: number;
  windowSeconds: number;
  /** Epoch ms at which the window resets (null: unknown). */
  resetsAt: number | null;
  /** Epoch ms at which this value was read (poll or response headers). */
  asOf: number;
}

/** Where a capacity figure comes from: the per-plan default until enough traffic was observed. */
export type CapacitySource = 'plan-default' | 'learned';

export interface WindowCapacity {
  /** Cost tokens (turn-cost.ts: uncached input + cached input at its weight + output) per used-% point. */
  tokensPerPercent: number;
  source: CapacitySource;
  /** Observed tokens and used-% points summed so far (the learning's evidence). */
  observedTokens: number;
  observedPercent: number;
}

export interface UsageState {
  plan: string | null;
  short: UsageWindow | null;
  weekly: UsageWindow | null;
  capacity: Record<WindowKind, WindowCapacity>;
  /**
   * Served cost tokens of the requests ENDED on the account when the latest report was read (pending.ts): an
   * answer's headers are written before its turn runs, so every request not ended by then is missing from it.
   */
  endedAtReport?: number | null;
  /** Per window: its used % and the ended counter when that used % last changed (capacity learning, pending.ts). */
  learnBase?: Partial<Record<WindowKind, { used: number; ended: number; resetsAt: number | null }>>;
}

/**
 * Per-plan DEFAULT capacities, tokens per used-% point of the short and the weekly window. These are placeholders
 * for routing until the account's own traffic was observed (`learnCapacity`), NOT facts about the plans: OpenAI
 * publishes no token figures. What matters for routing is their ratio between plans (a Pro is taken to hold about
 * six Plus subscriptions) and between windows (a week is taken to hold about seven full short windows).
 */
export const PLAN_DEFAULT_TOKENS_PER_PERCENT: Readonly<Record<string, Record<WindowKind, number>>> = {
  free: { short: 4_000, weekly: 28_000 },
  plus: { short: 20_000, weekly: 140_000 },
  team: { short: 20_000, weekly: 140_000 },
  business: { short: 20_000, weekly: 140_000 },
  enterprise: { short: 20_000, weekly: 140_000 },
  edu: { short: 20_000, weekly: 140_000 },
  pro: { short: 120_000, weekly: 840_000 },
};
/** An unknown or missing plan is taken to be a Plus. */
export const UNKNOWN_PLAN = 'plus';

/** Capacity is taken as learned once this many used-% points were observed with their tokens. */
export const LEARN_MIN_PERCENT = 5;
/**
 * The evidence kept: beyond this many points the older evidence is scaled down (the ratio kept), so a capacity
 * the backend changes is learned again within about this many points, and reports floored to whole points err
 * by at most 1 point in this many.
 */
export const LEARN_MEMORY_PERCENT = 50;

export function planDefaults(plan: string | null): Record<WindowKind, number> {
  return (
    PLAN_DEFAULT_TOKENS_PER_PERCENT[(plan ?? '').toLowerCase()] ??
    PLAN_DEFAULT_TOKENS_PER_PERCENT[UNKNOWN_PLAN]
  );
}

export function defaultCapacity(plan: string | null): Record<WindowKind, WindowCapacity> {
  const d = planDefaults(plan);
  const c = (kind: WindowKind): WindowCapacity => ({
    tokensPerPercent: d[kind],
    source: 'plan-default',
    observedTokens: 0,
    observedPercent: 0,
  });
  return { short: c('short'), weekly: c('weekly') };
}

export function emptyUsageState(plan: string | null): UsageState {
  return { plan, short: null, weekly: null, capacity: defaultCapacity(plan) };
}

export function classifyWindow(windowSeconds: number): WindowKind {
  return windowSeconds <= SHORT_WINDOW_MAX_SECONDS ? 'short' : 'weekly';
}

/** A window as reported by `wham/usage` (`limit_window_seconds`, `reset_at` s) or `x-codex-*` (minutes, reset-at s). */
export interface ReportedWindow {
  usedPercent: number;
  windowSeconds?: number | null;
  windowMinutes?: number | null;
  /** Epoch SECONDS (as the backend reports it). */
  resetAt?: number | null;
  resetAfterSeconds?: number | null;
}

/**
 * Applies a report (a poll or a response's headers) read at `asOf` to a state: each window goes to its slot by
 * length. A window reported with 0 % and neither a length nor a reset is "no data" (as the CLI treats it) and
 * leaves the slot alone. Capacities are kept.
 */
export function applyReport(
  state: UsageState,
  report: { plan?: string | null; windows: ReportedWindow[] },
  asOf: number,
): UsageState {
  const next: UsageState = { ...state, plan: report.plan ?? state.plan };
  if (report.plan && report.plan !== state.plan && allDefault(state))
    next.capacity = defaultCapacity(report.plan);
  for (const w of report.windows) {
    const seconds = w.windowSeconds ?? (w.windowMinutes != null ? w.windowMinutes * 60 : null);
    const resetsAt =
      w.resetAt != null
        ? w.resetAt * 1000
        : w.resetAfterSeconds != null
          ? asOf + w.resetAfterSeconds * 1000
          : null;
    if (!seconds) continue; // without a length a window cannot be classified (and 0/none/none is "no data")
    const kind = classifyWindow(seconds);
    const prev = next[kind];
    if (prev && prev.asOf > asOf) continue; // an older report never overwrites a newer one
    next[kind] = { usedPercent: w.usedPercent, windowSeconds: seconds, resetsAt, asOf };
  }
  return next;
}

function allDefault(s: UsageState): boolean {
  return s.capacity.short.source === 'plan-default' && s.capacity.weekly.source === 'plan-default';
}

/**
 * Reset times arrive in whole seconds (rounded either way) and clocks differ a little: a window counts as reset this
 * long after its reported reset time. Found by the simulator: without it a request reached an account 0.3 s before
 * its window really reset.
 */
export const RESET_GRACE_MS = 2000;

/**
 * Used % of a window as of `now`: a window whose reset time has passed (plus RESET_GRACE_MS) counts as 0 (it reset,
 * even before the next poll says so); null when the window is unknown.
 */
export function usedNow(w: UsageWindow | null, now: number): number | null {
  if (!w) return null;
  if (w.resetsAt !== null && w.resetsAt + RESET_GRACE_MS <= now) return 0;
  return w.usedPercent;
}

/**
 * Learns capacity from evidence: `tokens` were served while window `kind` moved by `deltaPercent` (both from the
 * same account, between two reports). Only increases count (a drop is a reset). The figure becomes `learned` after
 * LEARN_MIN_PERCENT points; before that the plan default stays in use. The evidence is capped at LEARN_MEMORY_PERCENT
 * points (older evidence scaled down).
 */
export function learnCapacity(
  state: UsageState,
  kind: WindowKind,
  tokens: number,
  deltaPercent: number,
): UsageState {
  if (!(deltaPercent > 0) || !(tokens > 0)) return state;
  const c = state.capacity[kind];
  let observedTokens = c.observedTokens + tokens;
  let observedPercent = c.observedPercent + deltaPercent;
  if (observedPercent > LEARN_MEMORY_PERCENT) {
    observedTokens *= LEARN_MEMORY_PERCENT / observedPercent;
    observedPercent = LEARN_MEMORY_PERCENT;
  }
  const learned = observedPercent >= LEARN_MIN_PERCENT;
  const cap: WindowCapacity = {
    observedTokens,
    observedPercent,
    source: learned ? 'learned' : 'plan-default',
    tokensPerPercent: learned ? observedTokens / observedPercent : c.tokensPerPercent,
  };
  return { ...state, capacity: { ...state.capacity, [kind]: cap } };
}

/** Per window as of `now`: used %, the owner's line (100 − reserve) and the tokens left before that line. */
export interface WindowView {
  kind: WindowKind;
  used: number;
  line: number;
  remainingTokens: number;
  /** ms until the window resets (null: unknown). */
  resetInMs: number | null;
  windowSeconds: number;
}

export function windowViews(state: UsageState, now: number, reservePercent = 0): WindowView[] {
  const line = 100 - reservePercent;
  const out: WindowView[] = [];
  for (const kind of ['short', 'weekly'] as const) {
    const w = state[kind];
    const used = usedNow(w, now);
    if (!w || used === null) continue;
    const reset = w.resetsAt !== null && w.resetsAt > now ? w.resetsAt - now : null;
    out.push({
      kind,
      used,
      line,
      remainingTokens: Math.max(0, line - used) * state.capacity[kind].tokensPerPercent,
      resetInMs: reset,
      windowSeconds: w.windowSeconds,
    });
  }
  return out;
}
