import { refreshDueAt, refreshJobId } from './accounts.queue.js';

describe('refresh job helpers', () => {
  it('schedules lead seconds before expiry', () => {
    expect(refreshDueAt(new Date(1_000_000), 300)).toBe(700_000);
  });
  it('a token living shorter than the lead is due at half its life after the refresh that issued it', () => {
    // Refreshed at 1,000,000, expires 120 s later, lead 300 s: due 60 s after the refresh, not at once.
    expect(refreshDueAt(new Date(1_120_000), 300, new Date(1_000_000))).toBe(1_060_000);
    // A long-lived token keeps the lead.
    expect(refreshDueAt(new Date(10_000_000), 300, new Date(1_000_000))).toBe(9_700_000);
  });
  it('makes BullMQ-safe ids', () => {
    expect(refreshJobId('0b8e-1', 5)).toBe('refresh-0b8e-1-5');
    expect(refreshJobId('a', 5)).not.toContain(':');
  });
});
