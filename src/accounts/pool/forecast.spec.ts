import { forecastPool, type ForecastInput, type UsageSample } from './forecast.js';
import { emptyUsageState } from './usage-state.js';

const NOW = 1_800_000_000_000;
const H = 3600_000;
function acct(
  plan: string,
  short: number,
  weekly: number,
  samples: UsageSample[],
  o: { reserve?: number; weeklyResetInMs?: number } = {},
): ForecastInput {
  const state = emptyUsageState(plan);
  state.short = { usedPercent: short, windowSeconds: 18_000, resetsAt: NOW + 2 * H, asOf: NOW };
  state.weekly = {
    usedPercent: weekly,
    windowSeconds: 604_800,
    resetsAt: NOW + (o.weeklyResetInMs ?? 96 * H),
    asOf: NOW,
  };
  return { state, reservePercent: o.reserve ?? 0, samples };
}

describe('forecastPool (when the pool runs dry at the last hour’s rate)', () => {
  it('divides the remaining tokens by the last hour’s burn, per window', () => {
    // Plus: weekly 140 000 tokens per point. 10 points in the hour → 1.4 M tokens/h; 50 points left → 5 h.
    const [short, weekly] = forecastPool(
      [acct('plus', 40, 50, [{ t: NOW - H, short: 20, weekly: 40 }])],
      NOW,
    );
    expect(weekly.burnTokensPerHour).toBe(1_400_000);
    expect(weekly.remainingTokens).toBe(50 * 140_000);
    expect(weekly.dryAt).toBe(NOW + 5 * H);
    // Short: 20 points/h, 60 left → 3 h; it resets in 2 h, before then.
    expect(short.dryAt).toBe(NOW + 3 * H);
    expect(short.resetsBefore).toBe(1);
  });

  it('the owner’s reserve is not headroom; an idle pool never runs dry; a reset restarts the rate', () => {
    const [, reserved] = forecastPool(
      [acct('plus', 40, 50, [{ t: NOW - H, short: 20, weekly: 40 }], { reserve: 30 })],
      NOW,
    );
    expect(reserved.dryAt).toBe(NOW + 2 * H); // 20 points left at 10 an hour
    const [, idle] = forecastPool([acct('plus', 40, 50, [{ t: NOW - H, short: 40, weekly: 50 }])], NOW);
    expect(idle.dryAt).toBeNull();
    const reset: UsageSample[] = [
      { t: NOW - H, short: 90, weekly: 90 },
      { t: NOW - 30 * 60_000, short: 0, weekly: 0 }, // reset half an hour ago
    ];
    const [, afterReset] = forecastPool([acct('plus', 40, 5, reset)], NOW);
    expect(afterReset.burnTokensPerHour).toBe(10 * 140_000); // 5 points in half an hour
  });

  it('sums the pool: a Pro’s points weigh six Plus points; counts accounts resetting before the dry time', () => {
    const [, weekly] = forecastPool(
      [
        acct('plus', 0, 50, [{ t: NOW - H, short: 0, weekly: 40 }], { weeklyResetInMs: H }),
        acct('pro', 0, 50, [{ t: NOW - H, short: 0, weekly: 50 }]),
      ],
      NOW,
    );
    expect(weekly.burnTokensPerHour).toBe(1_400_000);
    expect(weekly.remainingTokens).toBe(50 * 140_000 + 50 * 840_000);
    expect(weekly.dryAt).toBe(NOW + 35 * H);
    expect(weekly.resetsBefore).toBe(1);
  });
});
