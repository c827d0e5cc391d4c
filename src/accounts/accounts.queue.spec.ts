import { refreshDueAt, refreshJobId } from './accounts.queue.js';

describe('refresh job helpers', () => {
  it('schedules lead seconds before expiry', () => {
    expect(refreshDueAt(new Date(1_000_000), 300)).toBe(700_000);
  });
  it('makes BullMQ-safe ids', () => {
    expect(refreshJobId('0b8e-1', 5)).toBe('refresh-0b8e-1-5');
    expect(refreshJobId('a', 5)).not.toContain(':');
  });
});
