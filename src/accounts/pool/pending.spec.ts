import { learnPerRequest, withPending } from './pending.js';
import { applyReport, emptyUsageState, windowViews, type UsageState } from './usage-state.js';

describe('pending requests (what a report does not show yet)', () => {
  const t0 = 1_800_000_000_000;
  const reset = Math.floor((t0 + 3_600_000) / 1000);
  const report = (s: UsageState, used: number, asOf: number) =>
    applyReport(s, { windows: [{ usedPercent: used, windowSeconds: 18_000, resetAt: reset }] }, asOf);

  it('learns used-% points per request from consecutive reports of one window, smoothed', () => {
    let s = learnPerRequest(emptyUsageState('plus'), report(emptyUsageState('plus'), 10, t0), 4);
    expect(s.endedAtReport).toBe(4);
    expect(s.perRequest?.short).toBeUndefined(); // one report: no evidence yet
    s = learnPerRequest(s, report(s, 16, t0 + 1000), 7); // 6 points over 3 requests
    expect(s.perRequest?.short).toBe(2);
    s = learnPerRequest(s, report(s, 16, t0 + 2000), 8); // a request that moved nothing (e.g. refused)
    expect(s.perRequest?.short).toBeCloseTo(1.4);
    // A reset (used % down, another reset time) is no evidence; an older report changes nothing.
    const afterReset = applyReport(
      s,
      { windows: [{ usedPercent: 1, windowSeconds: 18_000, resetAt: reset + 18_000 }] },
      t0 + 3000,
    );
    expect(learnPerRequest(s, afterReset, 9).perRequest?.short).toBeCloseTo(1.4);
    const stale = report(s, 50, t0 - 1);
    expect(learnPerRequest(s, stale, 20)).toBe(stale);
  });

  it('adds the requests begun since the report to each learned window, so a full account is known full', () => {
    const s: UsageState = {
      ...report(emptyUsageState('plus'), 96, t0),
      endedAtReport: 10,
      perRequest: { short: 1.5 },
    };
    expect(withPending(s, 10)).toBe(s); // nothing in flight or begun since
    const p = withPending(s, 13); // 3 streams not in the report, the margins: 96 + 1 + (3 + 1) × 1.5
    expect(p.short!.usedPercent).toBeCloseTo(103);
    expect(withPending(s, 11).short!.usedPercent).toBeCloseTo(100); // one stream: 96 + 1 + (1 + 1) × 1.5
    expect(windowViews(p, t0).find((v) => v.kind === 'short')!.used).toBeGreaterThanOrEqual(100);
    // Unlearned: the report as it is.
    expect(withPending({ ...s, perRequest: {} }, 13).short!.usedPercent).toBe(96);
  });
});
