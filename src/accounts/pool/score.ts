import { emptyUsageState, windowViews, type UsageState, type WindowView } from './usage-state.js';

/**
 * The routing score (POOL_STRATEGY=score): ONE pure function that ranks the accounts able to take a request and
 * explains the ranking. docs/pool.md describes every weight and why; score.spec.ts shows each one moving the choice.
 *
 * Hard rules first (an account breaking one is never chosen, whatever its score):
 * - `at_limit`: a known window at ≥ 100 % that has not reset yet;
 * - `reserve`: used % ≥ 100 − reservePercent in either window (the owner keeps the rest of their plan);
 * - `max_concurrent`: as many requests in flight as its cap;
 * - `cooling`: a usage-limit cooldown not yet over, unless a report read after it started shows the account below
 *   its line again (an early reset brings it back at once).
 *
 * Then, per remaining candidate (all parts in [0, 1] before weighting):
 * - headroom: tokens left before the line in its tighter window (used % × learned or plan-default capacity), as a
 *   share of the largest such headroom among the candidates: a Pro at 50 % beats a Plus at 10 %;
 * - balance: the tighter window's remaining share (1 − used / line): draining every account in proportion to its
 *   capacity keeps all windows running and resetting together (the simulator: tokens alone let small accounts idle
 *   in the morning, so their 5-hour windows started late and were still full at the afternoon peak);
 * - expiring: the tighter window's remaining share × how close its reset is (1 at the reset, 0 a full window away):
 *   capacity that resets soon is lost if not spent, so it is cheap;
 * - cache: 1 for the conversation's sticky account while it can serve the next turn: the prompt cache lives on
 *   that account only. An account the hard rules let through can (the backend admits a turn below 100 %, whatever
 *   it costs); only under an owner's reserve is it "near its line" with fewer than `nearTurns` next turns left
 *   before the line (a turn's size: `nextTurnTokens`, the process's mean served turn, by the learned or plan capacity),
 *   so the reserve is not eaten into. The pool e2e counted the moves: dropping the cache 3 turns before a line of
 *   100 % moved conversations that would have ended (or seen the reset) before the account ran dry;
 * - load: requests in flight / maxConcurrent (or / LOAD_SCALE without a cap), subtracted;
 * - health: recent failure share (0 healthy, 1 failing), subtracted.
 */
export interface ScoreWeights {
  headroom: number;
  balance: number;
  expiring: number;
  cache: number;
  load: number;
  health: number;
}

export const DEFAULT_WEIGHTS: Readonly<ScoreWeights> = {
  headroom: 0.5,
  balance: 0.5,
  expiring: 0.5,
  cache: 2,
  load: 0.3,
  health: 2.5,
};

/** In-flight requests that count as "fully loaded" for an account without a maxConcurrent cap. */
export const LOAD_SCALE = 8;
/** Tokens assumed for the next turn when the caller knows nothing about the conversation. */
export const DEFAULT_NEXT_TURN_TOKENS = 30_000;

export interface ScoreCandidate {
  id: string;
  planType: string | null;
  inFlight: number;
  /** The latest single used-% figure (today's `pool:used` key), used only when `usage` is absent. */
  usedPercent: number | null;
  usage?: UsageState | null;
  reservePercent?: number;
  maxConcurrent?: number | null;
  /** 0 healthy … 1 every recent request failed (circuit open counts as 1). */
  failureRate?: number;
  /** A usage-limit cooldown: until (epoch ms) and when it was set. */
  cooldown?: { until: number; setAt: number } | null;
}

export interface ScoreContext {
  now: number;
  stickyId?: string | null;
  /** Estimated cost tokens of the next turn (PoolService passes its mean served turn, turn-cost.ts). */
  nextTurnTokens?: number;
  /** Under an owner's reserve, the sticky account is "near its line" with fewer than this many turns left. */
  nearTurns?: number;
  weights?: Partial<ScoreWeights>;
}

export type ExclusionReason = 'at_limit' | 'reserve' | 'max_concurrent' | 'cooling';

export interface ScoreParts {
  headroom: number;
  balance: number;
  expiring: number;
  cache: number;
  load: number;
  health: number;
}

export interface Scored {
  id: string;
  total: number;
  /** Weighted parts (total = headroom + balance + expiring + cache − load − health). */
  parts: ScoreParts;
  tighter: WindowView['kind'] | 'unknown';
  headroomTokens: number;
  capacity: 'learned' | 'plan-default';
}

export interface ScoreResult<C extends ScoreCandidate = ScoreCandidate> {
  chosen: C | null;
  ranked: Scored[];
  excluded: { id: string; reason: ExclusionReason }[];
}

/**
 * The state the score reads. Without a usage state only today's single used-% figure is known (`pool:used`): one
 * window of unknown length and reset, taken as the short one. That figure never excludes an account (`soft`): with
 * no reset time it could never clear again (the account would get no request, so no newer figure), and in that
 * wiring the usage-limit cooldown from the 429's reset time already keeps a full account out. The simulator found
 * this: with a hard rule on the stale figure, accounts whose window had reset stayed out for good.
 */
function stateOf(c: ScoreCandidate, now: number): { state: UsageState; soft: boolean } {
  if (c.usage) return { state: c.usage, soft: false };
  const s = emptyUsageState(c.planType);
  if (c.usedPercent !== null) {
    s.short = {
      usedPercent: Math.min(c.usedPercent, 99),
      windowSeconds: 5 * 3600,
      resetsAt: null,
      asOf: now,
    };
  }
  return { state: s, soft: true };
}

function exclusion(
  c: ScoreCandidate,
  views: WindowView[],
  now: number,
  state: UsageState,
  soft: boolean,
): ExclusionReason | null {
  if (c.cooldown && c.cooldown.until > now) {
    const fresh = [state.short, state.weekly].some((w) => w && w.asOf > c.cooldown!.setAt);
    const below = views.length > 0 && views.every((v) => v.used < v.line);
    if (!(fresh && below)) return 'cooling';
  }
  if (!soft && views.some((v) => v.used >= 100)) return 'at_limit';
  if (!soft && views.some((v) => v.used >= v.line)) return 'reserve';
  if (c.maxConcurrent != null && c.maxConcurrent > 0 && c.inFlight >= c.maxConcurrent)
    return 'max_concurrent';
  return null;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

export function scoreAccounts<C extends ScoreCandidate>(candidates: C[], ctx: ScoreContext): ScoreResult<C> {
  const w = { ...DEFAULT_WEIGHTS, ...ctx.weights };
  const now = ctx.now;
  const nextTurn = Math.max(1, ctx.nextTurnTokens ?? DEFAULT_NEXT_TURN_TOKENS);
  const nearTurns = ctx.nearTurns ?? 1;
  const excluded: ScoreResult['excluded'] = [];
  const live: { c: C; state: UsageState; tight: WindowView | null }[] = [];
  for (const c of candidates) {
    const { state, soft } = stateOf(c, now);
    const views = windowViews(state, now, c.reservePercent ?? 0);
    const reason = exclusion(c, views, now, state, soft);
    if (reason) {
      excluded.push({ id: c.id, reason });
      continue;
    }
    const tight = views.length
      ? views.reduce((a, b) => (b.remainingTokens < a.remainingTokens ? b : a))
      : null;
    live.push({ c, state, tight });
  }
  // An account with no known window is taken to be at 0 % of its plan default short window (the poller fills it
  // within seconds of an import; until then it is not starved).
  const headroomOf = (x: (typeof live)[number]) =>
    x.tight
      ? x.tight.remainingTokens
      : (100 - (x.c.reservePercent ?? 0)) * x.state.capacity.short.tokensPerPercent;
  const maxHeadroom = Math.max(1, ...live.map(headroomOf));
  const ranked: (Scored & { c: C })[] = live.map((x) => {
    const h = headroomOf(x);
    const t = x.tight;
    const remainingShare = t ? clamp01((t.line - t.used) / Math.max(1, t.line)) : 1;
    const soon = t && t.resetInMs !== null ? clamp01(1 - t.resetInMs / (t.windowSeconds * 1000)) : 0;
    const turnPercent = t && nextTurn / x.state.capacity[t.kind].tokensPerPercent;
    const nearLine = t !== null && t.line < 100 && t.line - t.used < nearTurns * (turnPercent || 0);
    const sticky = !!ctx.stickyId && x.c.id === ctx.stickyId && !nearLine;
    const cap = x.c.maxConcurrent && x.c.maxConcurrent > 0 ? x.c.maxConcurrent : LOAD_SCALE;
    const parts: ScoreParts = {
      headroom: w.headroom * (h / maxHeadroom),
      balance: w.balance * remainingShare,
      expiring: w.expiring * remainingShare * soon,
      cache: sticky ? w.cache : 0,
      load: w.load * clamp01(x.c.inFlight / cap),
      health: w.health * clamp01(x.c.failureRate ?? 0),
    };
    const total = parts.headroom + parts.balance + parts.expiring + parts.cache - parts.load - parts.health;
    return {
      c: x.c,
      id: x.c.id,
      total,
      parts,
      tighter: t ? t.kind : 'unknown',
      headroomTokens: Math.round(h),
      capacity: x.state.capacity[t ? t.kind : 'short'].source,
    };
  });
  ranked.sort((a, b) => b.total - a.total || a.c.inFlight - b.c.inFlight || a.id.localeCompare(b.id));
  return {
    chosen: ranked.length ? ranked[0].c : null,
    ranked: ranked.map(({ c: _c, ...s }) => s),
    excluded,
  };
}

/** One debug line: the choice, each candidate's parts, and why others were left out. */
export function explainScore(r: ScoreResult): string {
  const f = (x: number) => x.toFixed(2);
  const ranked = r.ranked
    .map(
      (s) =>
        `${s.id}=${f(s.total)}[h${f(s.parts.headroom)} b${f(s.parts.balance)} e${f(s.parts.expiring)} ` +
        `c${f(s.parts.cache)} ` +
        `l-${f(s.parts.load)} x-${f(s.parts.health)} ${s.tighter} ${s.headroomTokens}t ${s.capacity}]`,
    )
    .join(' ');
  const ex = r.excluded.map((e) => `${e.id}:${e.reason}`).join(' ');
  return `pool score: chose ${r.chosen?.id ?? 'none'}; ${ranked}${ex ? `; excluded ${ex}` : ''}`;
}
