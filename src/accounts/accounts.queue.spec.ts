import { refreshJobId } from './accounts.queue.js';

describe('refresh job helpers', () => {
  it('makes BullMQ-safe ids', () => {
    expect(refreshJobId('0b8e-1', 5)).toBe('refresh-0b8e-1-5');
    expect(refreshJobId('a', 5)).not.toContain(':');
  });
});
