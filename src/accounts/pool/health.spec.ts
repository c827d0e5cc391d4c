import { AccountHealth, FAILURES_TO_OPEN, HEALTH_WINDOW_MS, OPEN_MAX_MS } from './health.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import type { AppConfig } from '../../config/config.schema.js';

const config = { METRICS_PER_KEY_LABELS: false, POOL_CIRCUIT_OPEN_SECONDS: 10 } as AppConfig;

describe('AccountHealth (circuit breaking)', () => {
  it('opens after consecutive failures, lets one probe through, reopens for longer on a failed probe', () => {
    const h = new AccountHealth(new MetricsService(config), config);
    const t = 1_000_000;
    for (let i = 0; i < FAILURES_TO_OPEN - 1; i++) h.failure('a', 'A', t);
    expect(h.skipped(t).has('a')).toBe(false);
    h.failure('a', 'A', t);
    expect(h.skipped(t + 9_999).has('a')).toBe(true);
    expect(h.skipped(t + 10_000).has('a')).toBe(false); // half-open
    h.chosen('a', t + 10_000);
    expect(h.skipped(t + 10_001).has('a')).toBe(true); // one probe at a time
    h.failure('a', 'A', t + 10_500);
    expect(h.skipped(t + 10_500 + 19_999).has('a')).toBe(true); // doubled
    expect(h.skipped(t + 10_500 + 20_000).has('a')).toBe(false);
    h.chosen('a', t + 30_500);
    h.success('a');
    expect(h.isOpen('a', t + 30_501)).toBe(false);
    expect(h.skipped(t + 30_501).size).toBe(0);
  });

  it('a success in between resets the count; the open time is capped', () => {
    const h = new AccountHealth(new MetricsService(config), config);
    h.failure('b', 'B', 0);
    h.failure('b', 'B', 0);
    h.success('b');
    h.failure('b', 'B', 0);
    expect(h.isOpen('b', 0)).toBe(false);
    let now = 0;
    for (let i = 0; i < FAILURES_TO_OPEN; i++) h.failure('c', 'C', now);
    for (let i = 0; i < 20; i++) {
      now += OPEN_MAX_MS;
      h.chosen('c', now);
      h.failure('c', 'C', now);
    }
    expect(h.isOpen('c', now + OPEN_MAX_MS - 1)).toBe(true);
    expect(h.isOpen('c', now + OPEN_MAX_MS)).toBe(false);
  });

  it('failureShare: failures ÷ recent outcomes (at least 4 counted), 1 while open, old outcomes forgotten', () => {
    const h = new AccountHealth(new MetricsService(config), config);
    const t = 5_000_000;
    expect(h.failureShare('c', t)).toBe(0);
    h.failure('c', 'C', t);
    expect(h.failureShare('c', t)).toBe(0.25); // one failure, alone: counted over 4
    for (let i = 0; i < 7; i++) h.success('c', t);
    expect(h.failureShare('c', t)).toBe(0.125);
    expect(h.failureShare('c', t + HEALTH_WINDOW_MS + 1)).toBe(0);
    for (let i = 0; i < FAILURES_TO_OPEN; i++) h.failure('d', 'D', t);
    expect(h.failureShare('d', t + 1)).toBe(1); // circuit open
  });
});
