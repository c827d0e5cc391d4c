import {
  JITTER,
  POLL_BASE_MS,
  POLL_FAILED_MS,
  POLL_NEAR_MS,
  firstPollDelay,
  nextPollDelay,
} from './poll-schedule.js';
import { emptyUsageState, RESET_GRACE_MS, type UsageState } from './usage-state.js';

const NOW = 1_800_000_000_000;
function state(short: number, resetInMs: number | null, weekly = 10): UsageState {
  const s = emptyUsageState('plus');
  s.short = {
    usedPercent: short,
    windowSeconds: 18_000,
    resetsAt: resetInMs === null ? null : NOW + resetInMs,
    asOf: NOW,
  };
  s.weekly = { usedPercent: weekly, windowSeconds: 604_800, resetsAt: NOW + 4 * 86_400_000, asOf: NOW };
  return s;
}

describe('nextPollDelay (when the worker reads wham/usage next)', () => {
  it.each([
    ['nothing known yet', null, {}, POLL_BASE_MS],
    ['plenty of headroom', state(20, 3 * 3600_000), {}, POLL_BASE_MS],
    ['near the line (85 % of it)', state(86, 3 * 3600_000), {}, POLL_NEAR_MS],
    ['near the owner’s line with a reserve', state(70, 3 * 3600_000), { reservePercent: 20 }, POLL_NEAR_MS],
    ['the weekly window near its line', state(10, 3 * 3600_000, 90), {}, POLL_NEAR_MS],
    ['a failed poll', state(20, 3 * 3600_000), { failed: true }, POLL_FAILED_MS],
  ])('%s → base %p ms ± jitter', (_name, s, opts, base) => {
    const lo = nextPollDelay(s, NOW, 0, opts);
    const mid = nextPollDelay(s, NOW, 0.5, opts);
    const hi = nextPollDelay(s, NOW, 0.999, opts);
    expect(mid).toBe(base);
    expect(lo).toBe(Math.round(base * (1 - JITTER)));
    expect(hi).toBeGreaterThan(base * (1 + JITTER) * 0.99);
    expect(hi).toBeLessThan(base * (1 + JITTER));
  });

  it('polls right after a reset that comes before the regular poll (the account is seen back at once)', () => {
    const d = nextPollDelay(state(100, 30_000), NOW, 0.5);
    expect(d).toBeGreaterThan(30_000 + RESET_GRACE_MS);
    expect(d).toBeLessThanOrEqual(30_000 + RESET_GRACE_MS + 5000);
    // A reset further away than the regular poll does not delay it.
    expect(nextPollDelay(state(20, 3 * 3600_000), NOW, 0.5)).toBe(POLL_BASE_MS);
  });

  it('spreads accounts polled at the same moment (never in lockstep)', () => {
    const delays = Array.from({ length: 20 }, (_, i) => nextPollDelay(state(20, null), NOW, (i + 0.5) / 20));
    expect(new Set(delays).size).toBe(20);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(POLL_BASE_MS * JITTER);
    const first = Array.from({ length: 20 }, (_, i) => firstPollDelay((i + 0.5) / 20));
    expect(new Set(first).size).toBe(20);
    expect(Math.max(...first)).toBeLessThanOrEqual(3000);
  });
});
