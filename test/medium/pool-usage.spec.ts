import { randomUUID } from 'node:crypto';
import { PoolService } from '../../src/accounts/pool/pool.service.js';
import { PoolLeases, LEASE_TTL_MS } from '../../src/accounts/pool/leases.js';
import { AccountsService } from '../../src/accounts/accounts.service.js';
import type { PoolAccount } from '../../src/accounts/account-source.js';
import { ApiError } from '../../src/common/errors.js';
import { RedisService } from '../../src/redis/redis.service.js';
import { seedAccount } from '../support/accounts.js';
import { startServices, type Services } from '../support/medium.js';

/**
 * The pool's usage rules on real Redis and Postgres (issue 23 items 1 and 3, issue 27 item 3): the owner's reserve
 * and the concurrency cap keep an account out of new work, a report showing a reset brings a cooling account back
 * at once, and a dead process's leases stop counting within seconds.
 */
describe('pool usage (medium: reserve, caps, early reset, leases)', () => {
  let s: Services;
  let pool: PoolService;
  let accounts: AccountsService;
  const ids: Record<string, string> = {};
  const system = { type: 'system' as const };
  const pickErr = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e as ApiError,
    );
  const routable = async (name: string): Promise<PoolAccount> =>
    (await accounts.listRoutable()).find((a) => a.id === ids[name])!;
  /** A poll-like report: 5-hour window at `short` %, weekly at `weekly` %, resets in an hour / four days. */
  const report = (short: number, weekly = 10, resetInS = 3600) => ({
    plan: 'pro',
    windows: [
      { usedPercent: short, windowSeconds: 18_000, resetAt: Math.floor(Date.now() / 1000) + resetInS },
      { usedPercent: weekly, windowSeconds: 604_800, resetAt: Math.floor(Date.now() / 1000) + 4 * 86_400 },
    ],
  });
  const onlyTried = (keep: string) => new Set(Object.values(ids).filter((id) => id !== ids[keep]));
  /** A first attempt (nothing tried yet) while B is disabled: what a client sees with A alone in the pool. */
  const pickAlone = async () => {
    await accounts.patch(ids.B, { enabled: false }, system);
    try {
      return await pickErr(pool.pick(null, new Set()));
    } finally {
      await accounts.patch(ids.B, { enabled: true }, system);
    }
  };

  beforeAll(async () => {
    // No upstream here: the poller's polls fail (connection refused) and, by rule, change nothing.
    s = await startServices({ POOL_STRATEGY: 'score' });
    pool = s.get(PoolService);
    accounts = s.get(AccountsService);
    for (const name of ['A', 'B']) {
      ids[name] = await seedAccount(s, {
        accessToken: `at-${name}`,
        refreshToken: `rt-${name}`,
        idToken: `it-${name}`,
        chatgptAccountId: randomUUID(),
        label: name,
      });
    }
    await accounts.markAllChanged();
  });
  afterAll(() => s?.close());

  it('reserve: at used % ≥ 100 − reservePercent in either window the account takes no new work', async () => {
    await accounts.patch(ids.A, { reservePercent: 30 }, system);
    // A has far more headroom by plan than B would need: only the reserve keeps it out.
    await pool.recordUsage(await routable('A'), report(75));
    await pool.recordUsage(await routable('B'), report(90, 20));
    expect((await pool.pick(null, new Set())).label).toBe('B');
    // The weekly window counts the same way.
    await pool.recordUsage(await routable('A'), report(10, 71));
    expect((await pool.pick(null, new Set())).label).toBe('B');
    // Alone, A answers 429 (usage_limit_reached) with the reset of the window over the line.
    const err = await pickAlone();
    expect(err).toBeInstanceOf(ApiError);
    expect(err!.httpStatus).toBe(429);
    expect(err!.code).toBe('usage_limit_reached');
    // Below the line again: A serves.
    await pool.recordUsage(await routable('A'), report(10, 69));
    expect((await pool.pick(null, onlyTried('A'))).label).toBe('A');
    await accounts.patch(ids.A, { reservePercent: 0 }, system);
  });

  it('cap: an account with maxConcurrent requests in flight takes no new one; a finished one frees it', async () => {
    await pool.recordUsage(await routable('A'), report(5, 5));
    await pool.recordUsage(await routable('B'), report(60, 60));
    await accounts.patch(ids.A, { maxConcurrent: 1 }, system);
    expect((await pool.pick(null, new Set())).label).toBe('A');
    await pool.begin(ids.A);
    expect((await pool.pick(null, new Set())).label).toBe('B');
    const err = await pickErr(pool.pick(null, onlyTried('A')));
    expect(err!.httpStatus).toBe(503);
    await pool.end(ids.A);
    expect((await pool.pick(null, new Set())).label).toBe('A');
    await accounts.patch(ids.A, { maxConcurrent: null }, system);
  });

  it('hold: a request waits for a capped account with headroom (never a usage-limit 429), a busy pool is a 503', async () => {
    await pool.recordUsage(await routable('A'), report(5, 5));
    await pool.recordUsage(await routable('B'), report(100, 40, 3600)); // full for an hour
    await accounts.patch(ids.A, { maxConcurrent: 1 }, system);
    await pool.begin(ids.A);
    const t0 = Date.now();
    setTimeout(() => void pool.end(ids.A), 400);
    expect((await pool.pick(null, new Set())).label).toBe('A'); // held until the slot freed
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    await pool.begin(ids.A);
    const err = await pickErr(pool.pick(null, new Set()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400 + 4900); // held POOL_HOLD_MS, then refused
    expect(err).toMatchObject({ httpStatus: 503, code: 'accounts_busy' });
    await pool.end(ids.A);
    await accounts.patch(ids.A, { maxConcurrent: null }, system);
  }, 20_000);

  it('hold: a window whose reported reset is seconds away is waited for (plus the grace), not refused', async () => {
    await pool.recordUsage(await routable('B'), report(100, 40, 3600));
    await pool.recordUsage(await routable('A'), report(100, 40, 1)); // resets in ≤ 1 s
    const t0 = Date.now();
    expect((await pool.pick(null, new Set())).label).toBe('A');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000); // after the reset time and its grace
    expect(Date.now() - t0).toBeLessThan(4500);
  }, 20_000);

  it('early reset: a report read after the cooldown began and showing the window below its line brings it back at once', async () => {
    await pool.recordUsage(await routable('A'), report(100, 40));
    await pool.coolDown(await routable('A'), Date.now() + 3_600_000);
    expect(await pickAlone()).toMatchObject({ httpStatus: 429, code: 'usage_limit_reached' });
    await new Promise((r) => setTimeout(r, 5));
    await pool.recordUsage(await routable('A'), report(0, 40, 18_000));
    expect((await pool.pick(null, onlyTried('A'))).label).toBe('A');
  });

  it('pending: a report counts the requests ended before its request was picked, not those ended since', async () => {
    // Two streams on B; the first one's report comes back only after the other one ended (its turn is in no report).
    await accounts.patch(ids.B, { reservePercent: 0, maxConcurrent: null }, system);
    await pool.recordUsage(await routable('B'), report(10, 10));
    const first = await pool.pick(null, onlyTried('B'));
    expect(first.id).toBe(ids.B);
    await pool.begin(ids.B);
    await pool.begin(ids.B);
    await pool.end(ids.B); // the other stream ended before the first one's headers were applied
    const before = Number((await s.get(RedisService).client.get(pool.usage.endedKey(ids.B))) ?? 0);
    const state = await pool.recordUsage(first, report(40));
    expect(state.endedAtReport).toBe(before - 1); // the counter at the pick, not at the report
    // A report without its picked account (a poll) takes the counter now or the one given.
    expect((await pool.recordUsage(await routable('B'), report(40))).endedAtReport).toBe(before);
    expect((await pool.recordUsage(await routable('B'), report(40), Date.now(), 2)).endedAtReport).toBe(
      Math.min(2, before),
    );
    await pool.end(ids.B);
  });

  it('leases: a process that stops its heartbeat (SIGKILL) has its streams gone from routing within seconds', async () => {
    const redis = s.get(RedisService);
    const other = new PoolLeases(redis); // a second process's leases on the same Redis
    await Promise.all(other.acquire(ids.B));
    await Promise.all(other.acquire(ids.B));
    await pool.begin(ids.B);
    expect((await pool.leases.inFlight([ids.B])).get(ids.B)).toBe(3);
    other.stopHeartbeat(); // killed: nothing cleaned up
    const t0 = Date.now();
    let n = 3;
    while (n !== 1 && Date.now() - t0 < LEASE_TTL_MS + 3000) {
      await new Promise((r) => setTimeout(r, 200));
      n = (await pool.leases.inFlight([ids.B])).get(ids.B)!;
    }
    expect(n).toBe(1); // only this process's own request is left
    expect(Date.now() - t0).toBeLessThanOrEqual(LEASE_TTL_MS + 1000);
    // The dead process's field was pruned from the hash on the way.
    const fields = await redis.client.hkeys(redis.key('pool', 'lease', ids.B));
    expect(fields).toEqual([pool.leases.processId]);
    await pool.end(ids.B);
    expect((await pool.leases.inFlight([ids.B])).get(ids.B)).toBe(0);
  });
});
