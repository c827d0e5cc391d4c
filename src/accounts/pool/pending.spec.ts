import { learnFromReport, PENDING_MARGIN, withPending } from './pending.js';
import { applyReport, emptyUsageState, windowViews, type UsageState } from './usage-state.js';

describe('pending cost (what a report does not show yet) and learned capacity', () => {
  const t0 = 1_800_000_000_000;
  const reset = Math.floor((t0 + 3_600_000) / 1000);
  const report = (s: UsageState, used: number, asOf: number, resetAt = reset) =>
    applyReport(s, { windows: [{ usedPercent: used, windowSeconds: 18_000, resetAt }] }, asOf);
  const step = (s: UsageState, used: number, dt: number, ended: number, resetAt = reset) =>
    learnFromReport(s, report(s, used, t0 + dt, resetAt), ended);

  it('learns tokens per point from the served cost between changes of one window, across unchanged reports', () => {
    let s = step(emptyUsageState('plus'), 10, 0, 4_000);
    expect(s.endedAtReport).toBe(4_000);
    expect(s.capacity.short.source).toBe('plan-default'); // one report: a base, no evidence
    s = step(s, 10, 1000, 5_000); // floored: the window did not move a whole point yet
    s = step(s, 13, 2000, 7_000); // 3 points for the 3 000 tokens since the base (not the 2 000 since the last)
    expect(s.capacity.short.observedTokens).toBe(3_000);
    expect(s.capacity.short.observedPercent).toBe(3);
    s = step(s, 15, 3000, 9_000); // 5 points in all: learned, 1 000 tokens per point
    expect(s.capacity.short).toMatchObject({ source: 'learned', tokensPerPercent: 1_000 });
    // A reset (another reset time, used % down) only sets a new base; so does a counter that went back (Redis lost).
    s = step(s, 1, 4000, 20_000, reset + 18_000);
    expect(s.capacity.short.observedTokens).toBe(5_000);
    s = step(s, 3, 5000, 22_000, reset + 18_000);
    expect(s.capacity.short.tokensPerPercent).toBe(1_000); // 2 000 tokens, 2 points
    s = step(s, 4, 6000, 100, reset + 18_000);
    expect(s.capacity.short.observedPercent).toBe(7);
    // An older report changes nothing.
    const stale = report(s, 50, t0 - 1);
    expect(learnFromReport(s, stale, 30_000).capacity).toEqual(s.capacity);
  });

  it('points moved without served tokens (the owner using the plan outside the gateway) teach nothing', () => {
    let s = step(emptyUsageState('plus'), 10, 0, 1_000);
    s = step(s, 30, 1000, 1_000);
    expect(s.capacity.short.observedPercent).toBe(0);
    s = step(s, 36, 2000, 7_000);
    expect(s.capacity.short).toMatchObject({ observedPercent: 6, tokensPerPercent: 1_000 });
  });

  it('adds the cost begun since the report to each window by its capacity, so a full account is known full', () => {
    const s: UsageState = { ...report(emptyUsageState('plus'), 96, t0), endedAtReport: 10_000 };
    s.capacity = { ...s.capacity, short: { ...s.capacity.short, tokensPerPercent: 1_000 } };
    expect(withPending(s, 10_000)).toBe(s); // nothing in flight or begun since
    // One moved conversation (6 000 uncached tokens) is 6 points, not one mean turn: 96 + 1 + 6 × 1.25.
    const p = withPending(s, 16_000);
    expect(p.short!.usedPercent).toBeCloseTo(96 + 1 + 6 * (1 + PENDING_MARGIN));
    expect(windowViews(p, t0).find((v) => v.kind === 'short')!.used).toBeGreaterThanOrEqual(100);
    // A small cached turn (400 tokens) leaves it below the line.
    expect(withPending(s, 10_400).short!.usedPercent).toBeCloseTo(97.5);
    // No counter known: the report as it is.
    expect(withPending({ ...s, endedAtReport: null }, 16_000).short!.usedPercent).toBe(96);
  });
});
