import {
  DEFAULT_WEIGHTS,
  explainScore,
  scoreAccounts,
  type ScoreCandidate,
  type ScoreContext,
} from './score.js';
import {
  applyReport,
  emptyUsageState,
  learnCapacity,
  RESET_GRACE_MS,
  type UsageState,
} from './usage-state.js';
import { chooseAccount, type Candidate } from './pool-choice.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const H = 3600_000;

/** A state with a short and a weekly window (used %, reset in hours). */
function state(
  plan: string,
  short: [number, number] | null,
  weekly: [number, number] | null = [0, 100],
  asOf = NOW,
): UsageState {
  const windows = [];
  if (short)
    windows.push({ usedPercent: short[0], windowSeconds: 5 * 3600, resetAt: (NOW + short[1] * H) / 1000 });
  if (weekly)
    windows.push({ usedPercent: weekly[0], windowSeconds: 7 * 86400, resetAt: (NOW + weekly[1] * H) / 1000 });
  return applyReport(emptyUsageState(plan), { plan, windows }, asOf);
}

const cand = (id: string, usage: UsageState | null, o: Partial<ScoreCandidate> = {}): ScoreCandidate => ({
  id,
  planType: usage?.plan ?? 'plus',
  inFlight: 0,
  usedPercent: null,
  usage,
  ...o,
});

const pick = (cs: ScoreCandidate[], ctx: Partial<ScoreContext> = {}) =>
  scoreAccounts(cs, { now: NOW, ...ctx }).chosen?.id ?? null;

describe('scoreAccounts: hard rules', () => {
  it.each([
    ['short window at 100 %', state('plus', [100, 2]), 'at_limit'],
    ['weekly window at 100 %', state('plus', [10, 2], [100, 50]), 'at_limit'],
    ['inside the owner reserve (short)', state('plus', [80, 2]), 'reserve'],
    ['inside the owner reserve (weekly)', state('plus', [0, 2], [85, 50]), 'reserve'],
  ])('%s → never chosen (%s)', (_name, usage, reason) => {
    const r = scoreAccounts([cand('x', usage, { reservePercent: 20 }), cand('y', state('plus', [99, 4]))], {
      now: NOW,
      stickyId: 'x',
    });
    expect(r.excluded).toContainEqual({ id: 'x', reason });
    expect(r.chosen?.id).toBe('y');
  });
  it('at maxConcurrent → not chosen; below it → chosen', () => {
    const a = cand('a', state('pro', [0, 4]), { maxConcurrent: 2, inFlight: 2 });
    const b = cand('b', state('plus', [90, 4]));
    expect(pick([a, b])).toBe('b');
    expect(pick([{ ...a, inFlight: 1 }, b])).toBe('a');
  });
  it('nothing eligible → null (never an account known to be at its limit)', () => {
    expect(pick([cand('a', state('plus', [100, 1])), cand('b', state('pro', [3, 1], [100, 9]))])).toBeNull();
  });
  it('a window whose reset time passed counts as reset at once (no poll needed)', () => {
    const s = state('plus', [100, 1]);
    expect(pick([cand('a', s)], { now: NOW + 0.5 * H })).toBeNull();
    expect(pick([cand('a', s)], { now: NOW + 1 * H })).toBeNull(); // reset times are whole seconds: a grace
    expect(pick([cand('a', s)], { now: NOW + 1 * H + RESET_GRACE_MS })).toBe('a');
  });
  it('early reset: a cooling account is back once a report newer than the cooldown shows it below its line', () => {
    const cooldown = { until: NOW + 100 * H, setAt: NOW - H };
    const stale = state('plus', [100, 3], [100, 100], NOW - 2 * H);
    const early = state('plus', [0, 5], [0, 168], NOW - 60_000);
    expect(scoreAccounts([cand('a', stale, { cooldown })], { now: NOW }).excluded[0].reason).toBe('cooling');
    expect(pick([cand('a', early, { cooldown })])).toBe('a');
  });
});

describe('scoreAccounts: each weight moves the choice the documented way', () => {
  it('headroom: more tokens left wins, scaled by capacity (a Pro at 50 % beats a Plus at 10 %)', () => {
    expect(pick([cand('plus', state('plus', [10, 4])), cand('pro', state('pro', [50, 4]))])).toBe('pro');
    // …but not a Pro at 80 % (balance: 0.2 vs 0.9 of its window left outweighs 4 000 vs 1 800 tokens a point)
    expect(pick([cand('plus', state('plus', [10, 4])), cand('pro', state('pro', [80, 4]))])).toBe('plus');
    expect(
      pick([cand('plus', state('plus', [10, 4])), cand('pro', state('pro', [80, 4]))], {
        weights: { balance: 0 },
      }),
    ).toBe('pro');
    expect(pick([cand('a', state('plus', [60, 4])), cand('b', state('plus', [20, 4]))])).toBe('b');
    // without the headroom weight the two are equal and the id decides
    expect(
      pick([cand('b', state('plus', [60, 4])), cand('a', state('plus', [20, 4]))], {
        weights: { headroom: 0 },
      }),
    ).toBe('a');
  });
  it('headroom: the tighter window decides (weekly nearly spent beats a fresh short window)', () => {
    const a = cand('a', state('plus', [0, 4], [95, 100]));
    const b = cand('b', state('plus', [50, 4], [10, 100]));
    const r = scoreAccounts([a, b], { now: NOW });
    expect(r.chosen?.id).toBe('b');
    expect(r.ranked.find((s) => s.id === 'a')!.tighter).toBe('weekly');
  });
  it('balance: at equal tokens left, the account with the larger share of its window left wins', () => {
    // Plus at 40 % (60 points × 20k = 1.2M tokens) vs Pro at 90 % (10 × 120k = 1.2M): same headroom
    const plus = cand('b-plus', state('plus', [40, 4]));
    const pro = cand('a-pro', state('pro', [90, 4]));
    expect(pick([plus, pro])).toBe('b-plus');
    expect(pick([plus, pro], { weights: { balance: 0, expiring: 0 } })).toBe('a-pro');
  });
  it('headroom: learned capacity replaces the plan default', () => {
    let small = state('pro', [20, 4]);
    for (let i = 0; i < 10; i++) small = learnCapacity(small, 'short', 20_000, 1); // a "Pro" that holds a Plus
    expect(small.capacity.short.source).toBe('learned');
    expect(pick([cand('p', small), cand('q', state('plus', [10, 4]))])).toBe('q');
    expect(pick([cand('p', state('pro', [20, 4])), cand('q', state('plus', [10, 4]))])).toBe('p');
  });
  it('expiring: of two with the same headroom, the one resetting sooner is spent first; weight 0 → tie', () => {
    const soon = cand('z-soon', state('plus', [40, 0.5]));
    const late = cand('a-late', state('plus', [40, 4.5]));
    expect(pick([soon, late])).toBe('z-soon');
    expect(pick([soon, late], { weights: { expiring: 0 } })).toBe('a-late');
  });
  it('cache: the sticky account stays although another has more headroom; weight 0 → headroom wins', () => {
    const sticky = cand('s', state('plus', [70, 4]));
    const other = cand('o', state('pro', [0, 4]));
    expect(pick([sticky, other], { stickyId: 's' })).toBe('s');
    expect(pick([sticky, other], { stickyId: 's', weights: { cache: 0 } })).toBe('o');
  });
  it.each([
    // [used %, reserve %, next turn tokens, learned tokens per point, chosen]
    [97, 0, 30_000, undefined, 's'], // below 100 % the backend admits the turn: the cache keeps it
    [99, 0, 30_000, 1_000, 's'], // … however large the turn
    [79, 20, 30_000, undefined, 'o'], // under a reserve: 1 point left < one 30k turn (1.5 points of a Plus)
    [79, 20, 5_000, undefined, 's'], // a 5k turn (0.25 points) fits
    [76, 20, 5_000, 1_000, 'o'], // the learned capacity (5 points for 5k, 4 left) wins over the plan default
  ] as const)(
    'cache: sticky at %s %% (reserve %s, next turn %s tokens, learned %s tokens per point) → %s',
    (used, reserve, next, perPoint, chosen) => {
      let usage = state('plus', [used, 4]);
      if (perPoint) for (let i = 0; i < 5; i++) usage = learnCapacity(usage, 'short', perPoint, 1);
      const sticky = cand('s', usage, { reservePercent: reserve });
      const other = cand('o', state('plus', [50, 4]));
      expect(pick([sticky, other], { stickyId: 's', nextTurnTokens: next })).toBe(chosen);
    },
  );
  it('load: fewer in flight wins at equal headroom; a heavy load outweighs a small headroom edge', () => {
    const a = cand('a', state('plus', [20, 4]), { inFlight: 6 });
    const b = cand('b', state('plus', [30, 4]), { inFlight: 0 });
    expect(pick([a, b])).toBe('b');
    expect(pick([a, b], { weights: { load: 0 } })).toBe('a');
  });
  it('health: a failing account loses, even as the sticky one', () => {
    const sick = cand('s', state('plus', [10, 4]), { failureRate: 1 });
    const ok = cand('o', state('plus', [40, 4]));
    expect(pick([sick, ok])).toBe('o');
    expect(pick([sick, ok], { stickyId: 's' })).toBe('o');
    expect(pick([sick, ok], { weights: { health: 0 } })).toBe('s');
  });
  it.each([
    // [failure share of a (AccountHealth.failureShare), sticky, chosen]: a is the roomier account
    [0, null, 'a'],
    [0.25, null, 'b'], // one failure in the last 4 outcomes outweighs a 30-point headroom edge
    [0.25, 'a', 'a'], // … not the sticky account's prompt cache
    [1, 'a', 'b'], // an open circuit (share 1) outweighs even the cache
  ] as const)('health: failure share %s (sticky %s) → %s', (share, stickyId, chosen) => {
    const a = cand('a', state('plus', [10, 4]), { failureRate: share });
    const b = cand('b', state('plus', [40, 4]));
    expect(pick([a, b], { stickyId })).toBe(chosen);
  });
});

describe('scoreAccounts: parts and explanation', () => {
  it('carries its parts; total = headroom + balance + expiring + cache − load − health', () => {
    const r = scoreAccounts([cand('a', state('plus', [50, 2.5]), { inFlight: 4 })], {
      now: NOW,
      stickyId: 'a',
    });
    const s = r.ranked[0];
    expect(s.parts.headroom).toBeCloseTo(DEFAULT_WEIGHTS.headroom);
    expect(s.parts.expiring).toBeCloseTo(DEFAULT_WEIGHTS.expiring * 0.5 * 0.5);
    expect(s.parts.cache).toBe(DEFAULT_WEIGHTS.cache);
    expect(s.parts.load).toBeCloseTo(DEFAULT_WEIGHTS.load * 0.5);
    expect(s.parts.balance).toBeCloseTo(DEFAULT_WEIGHTS.balance * 0.5);
    expect(s.total).toBeCloseTo(
      s.parts.headroom + s.parts.balance + s.parts.expiring + s.parts.cache - s.parts.load - s.parts.health,
    );
    expect(s.capacity).toBe('plan-default');
    expect(explainScore(r)).toMatch(/^pool score: chose a; a=/);
  });
  it('falls back to the single used-% figure when no usage state is known', () => {
    const a = cand('a', null, { usedPercent: 90 });
    const b = cand('b', null, { usedPercent: 10 });
    expect(pick([a, b])).toBe('b');
    // a single figure has no reset time: it ranks an account last but never shuts it out for good
    expect(pick([cand('a', null, { usedPercent: 100 })])).toBe('a');
  });
  it('is the `score` strategy of chooseAccount', () => {
    const base = { label: '', priority: 0, weight: 1, chatgptAccountId: 'c', usedPercent: null, inFlight: 0 };
    const list: Candidate[] = [
      { ...base, id: 'a', planType: 'plus', usage: state('plus', [100, 2]) },
      { ...base, id: 'b', planType: 'plus', usage: state('plus', [50, 2]) },
    ];
    expect(chooseAccount(list, 'score', { stickyId: 'a', now: NOW })!.id).toBe('b');
    expect(chooseAccount(list, 'least-used', { stickyId: 'a' })!.id).toBe('a');
  });
});

describe('usage state', () => {
  it('classifies windows by length, not by name (a weekly window reported as primary)', () => {
    const s = applyReport(
      emptyUsageState('free'),
      { windows: [{ usedPercent: 30, windowMinutes: 10080, resetAfterSeconds: 3600 }] },
      NOW,
    );
    expect(s.weekly?.usedPercent).toBe(30);
    expect(s.weekly?.resetsAt).toBe(NOW + 3600_000);
    expect(s.short).toBeNull();
  });
  it('an older report never overwrites a newer one; a window without length is ignored', () => {
    const s = state('plus', [40, 2]);
    const older = applyReport(s, { windows: [{ usedPercent: 5, windowSeconds: 18000 }] }, NOW - 1000);
    expect(older.short?.usedPercent).toBe(40);
    const none = applyReport(s, { windows: [{ usedPercent: 0 }] }, NOW + 1000);
    expect(none.short?.usedPercent).toBe(40);
  });
  it('capacity stays the plan default until LEARN_MIN_PERCENT points were observed', () => {
    let s = emptyUsageState('plus');
    s = learnCapacity(s, 'weekly', 50_000, 1);
    expect(s.capacity.weekly).toMatchObject({ source: 'plan-default', tokensPerPercent: 140_000 });
    for (let i = 0; i < 4; i++) s = learnCapacity(s, 'weekly', 50_000, 1);
    expect(s.capacity.weekly).toMatchObject({ source: 'learned', tokensPerPercent: 50_000 });
    expect(learnCapacity(s, 'weekly', 10, -3)).toBe(s);
  });
});
