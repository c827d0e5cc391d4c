import { spreadRefreshes, REFRESH_GAP_MS } from './refresh-spread.js';

const now = 1_800_000_000_000;
const ids = Array.from({ length: 10 }, (_, i) => `acct-${i}`);

describe('spreadRefreshes', () => {
  it('10 accounts due in the same second run at least the gap apart, none before it is due', () => {
    const due = now + 60_000;
    const plan = spreadRefreshes(
      ids.map((id) => ({ id, dueAt: due })),
      now,
    );
    const times = [...plan.values()].sort((a, b) => a - b);
    expect(times).toHaveLength(10);
    for (const t of times) expect(t).toBeGreaterThanOrEqual(due);
    for (let i = 1; i < times.length; i++)
      expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(REFRESH_GAP_MS);
    expect(new Set(times.map((t) => Math.floor(t / 1000))).size).toBe(10);
  });
  it('after a restart with every token overdue: spread from now, not all at once', () => {
    const plan = spreadRefreshes(
      ids.map((id, i) => ({ id, dueAt: now - 3_600_000 + i })),
      now,
    );
    const times = [...plan.values()].sort((a, b) => a - b);
    expect(times[0]).toBe(now);
    expect(new Set(times.map((t) => Math.floor(t / 1000))).size).toBe(10);
  });
  it('leaves well-separated due times alone and is the same plan on every replica', () => {
    const items = ids.map((id, i) => ({ id, dueAt: now + i * 60_000 }));
    const plan = spreadRefreshes(items, now);
    for (const it of items) expect(plan.get(it.id)).toBe(it.dueAt);
    expect([...spreadRefreshes([...items].reverse(), now)]).toEqual([...plan]);
  });
});
