import { isRefreshDue, refreshDueAt } from './refresh-due.js';

describe('refresh due rule', () => {
  it('is due lead seconds before expiry', () => {
    expect(refreshDueAt(new Date(1_000_000), 300)).toBe(700_000);
  });
  it('a token living shorter than the lead is due at half its life after the refresh that issued it', () => {
    // Refreshed at 1,000,000, expires 120 s later, lead 300 s: due 60 s after the refresh, not at once.
    expect(refreshDueAt(new Date(1_120_000), 300, new Date(1_000_000))).toBe(1_060_000);
    // A long-lived token keeps the lead.
    expect(refreshDueAt(new Date(10_000_000), 300, new Date(1_000_000))).toBe(9_700_000);
  });
  it('is never earlier than expiry − lead (never more often than the CLI), whenever the last refresh was', () => {
    const exp = new Date(10_000_000);
    for (const from of [null, 0, 5_000_000, 9_600_000, 9_999_999, 10_000_000, 20_000_000])
      expect(refreshDueAt(exp, 300, from === null ? null : new Date(from))).toBeGreaterThanOrEqual(9_700_000);
  });
  it('isRefreshDue applies the same rule, and a token without a known expiry is never due', () => {
    const t = { accessTokenExpiresAt: new Date(1_060_000), lastRefreshAt: new Date(1_000_000) };
    expect(isRefreshDue(t, 300, 1_029_999)).toBe(false);
    expect(isRefreshDue(t, 300, 1_030_000)).toBe(true);
    expect(
      isRefreshDue({ accessTokenExpiresAt: new Date(1_000_000), lastRefreshAt: null }, 300, 699_999),
    ).toBe(false);
    expect(
      isRefreshDue({ accessTokenExpiresAt: new Date(1_000_000), lastRefreshAt: null }, 300, 700_000),
    ).toBe(true);
    expect(
      isRefreshDue({ accessTokenExpiresAt: null, lastRefreshAt: null }, 300, Number.MAX_SAFE_INTEGER),
    ).toBe(false);
  });
});
