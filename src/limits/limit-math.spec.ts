import { formatReset, period } from './limit-math.js';

describe('limit math', () => {
  it.each([
    [20, '20ms'],
    [1000, '1s'],
    [1001, '2s'],
    [360_000, '6m0s'],
    [3_723_000, '1h2m3s'],
    [-5, '0ms'],
  ])('formatReset(%d) = %s', (ms, out) => expect(formatReset(ms)).toBe(out));

  it('periods end at the next UTC midnight / first of month', () => {
    const t = Date.UTC(2026, 10, 24, 23, 59, 0);
    expect(period('day', t)).toEqual({ id: '2026-11-24', endsAt: Date.UTC(2026, 10, 25) });
    expect(period('month', t)).toEqual({ id: '2026-11', endsAt: Date.UTC(2026, 11, 1) });
    expect(period('month', Date.UTC(2026, 11, 31, 12))).toEqual({
      id: '2026-12',
      endsAt: Date.UTC(2027, 0, 1),
    });
  });
});
