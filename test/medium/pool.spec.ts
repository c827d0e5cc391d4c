import { randomUUID } from 'node:crypto';
import { PoolService } from '../../src/accounts/pool/pool.service.js';
import type { PoolAccount } from '../../src/accounts/account-source.js';
import { ApiError } from '../../src/common/errors.js';
import { seedAccount } from '../support/accounts.js';
import { startServices, type Services } from '../support/medium.js';

/** The pool's rules on real Redis and Postgres, without HTTP: failover order, cooldown expiry, stickiness. */
describe('pool (medium: PoolService on real Redis/Postgres)', () => {
  let s: Services;
  let pool: PoolService;
  const ids: Record<string, string> = {};
  const acct = async (name: string): Promise<PoolAccount> => {
    const tried = new Set(Object.values(ids).filter((id) => id !== ids[name]));
    return pool.pick(null, tried);
  };
  const pickErr = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e as ApiError,
    );

  beforeAll(async () => {
    s = await startServices({ POOL_STRATEGY: 'least-used' });
    pool = s.get(PoolService);
    for (const name of ['A', 'B', 'C']) {
      ids[name] = await seedAccount(s, {
        accessToken: `at-${name}`,
        refreshToken: `rt-${name}`,
        idToken: `it-${name}`,
        chatgptAccountId: randomUUID(),
        label: name,
      });
    }
    await pool.setUsedPercent(await acct('A'), 80);
    await pool.setUsedPercent(await acct('B'), 10);
    await pool.setUsedPercent(await acct('C'), 50);
  });
  afterAll(() => s?.close());

  it('tries accounts by headroom and never one it already tried (the failover order)', async () => {
    const order: string[] = [];
    const tried = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const a = await pool.pick(null, tried);
      order.push(a.label);
      tried.add(a.id);
    }
    expect(order).toEqual(['B', 'C', 'A']);
    const err = await pickErr(pool.pick(null, tried));
    expect(err).toBeInstanceOf(ApiError);
    expect(err!.httpStatus).toBe(503);
    expect(err!.code).toBe('no_healthy_account');
  });

  it('skips a cooling account until its reset, holds a request for one back within seconds, answers 429 with Retry-After when all cool longer', async () => {
    const all = { A: await acct('A'), B: await acct('B'), C: await acct('C') };
    const until = Date.now() + 1500;
    await pool.coolDown(await acct('B'), until);
    expect((await pool.cooldownUntil(ids.B))! >= until - 5).toBe(true);
    expect((await pool.pick(null, new Set())).label).toBe('C');

    await pool.coolDown(await acct('C'), Date.now() + 60_000);
    await pool.coolDown(await acct('A'), Date.now() + 60_000);
    // B is back within POOL_HOLD_MS: the request waits for it instead of a 429.
    expect((await pool.pick(null, new Set())).label).toBe('B');
    expect(Date.now()).toBeGreaterThanOrEqual(until);

    await pool.coolDown(await acct('B'), Date.now() + 30_000);
    const t0 = Date.now();
    const err = await pickErr(pool.pick(null, new Set()));
    expect(Date.now() - t0).toBeLessThan(1000); // not held: nothing is back within the hold
    expect(err!.httpStatus).toBe(429);
    expect(err!.code).toBe('usage_limit_reached');
    expect(Number(err!.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(Number(err!.headers['retry-after'])).toBeLessThanOrEqual(30);
    for (const a of Object.values(all)) await pool.coolDown(a, Date.now() + 1);
    await new Promise((r) => setTimeout(r, 20));
  });

  it('keeps a conversation on its account while that account can serve, and moves it when it cannot', async () => {
    const fresh = await startServices({ POOL_STRATEGY: 'least-used' });
    try {
      const p = fresh.get(PoolService);
      const x = await seedAccount(fresh, {
        accessToken: 'at-x',
        refreshToken: 'rt-x',
        idToken: 'it-x',
        chatgptAccountId: randomUUID(),
        label: 'X',
      });
      await seedAccount(fresh, {
        accessToken: 'at-y',
        refreshToken: 'rt-y',
        idToken: 'it-y',
        chatgptAccountId: randomUUID(),
        label: 'Y',
      });
      const xAcct = await p.pick(null, new Set(), x);
      expect(xAcct.label).toBe('X');
      await p.setUsedPercent(xAcct, 95);
      await p.stick('conv-1', x);
      for (let i = 0; i < 3; i++) expect((await p.pick('conv-1', new Set())).label).toBe('X');
      expect((await p.pick('conv-2', new Set())).label).toBe('Y');
      await p.coolDown(xAcct, Date.now() + 60_000);
      expect((await p.pick('conv-1', new Set())).label).toBe('Y');
    } finally {
      await fresh.close();
    }
  });
});
