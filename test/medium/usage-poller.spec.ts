import { FakeUpstream } from '../fake-upstream/index.ts';
import { UsagePoller } from '../../src/accounts/pool/usage-poller.js';
import { PoolService } from '../../src/accounts/pool/pool.service.js';
import { AccountsService } from '../../src/accounts/accounts.service.js';
import { RedisService } from '../../src/redis/redis.service.js';
import type { PoolAccount } from '../../src/accounts/account-source.js';
import { seedAccount } from '../support/accounts.js';
import { startServices, type Services } from '../support/medium.js';
import { query as gatewayQuery } from '../support/wait.js';
import type { TestGateway } from '../support/gateway.js';

const query = (s: Services, sql: string, params: unknown[] = []) =>
  gatewayQuery(s as unknown as TestGateway, sql, params); // it reads only the database address

/**
 * The wham/usage poller against the fake backend (issue 23 item 1): what it reads and sends, that an outage of the
 * usage endpoint changes no account's status and cools nothing down, and that accounts are not polled in lockstep.
 */
describe('usage poller (medium: worker → fake wham/usage)', () => {
  let fake: FakeUpstream;
  let s: Services;
  let poller: UsagePoller;
  let pool: PoolService;
  let accounts: AccountsService;
  const wham = () => fake.requestsTo('/backend-api/wham/usage');
  const seed = async (planType = 'plus') => {
    const acct = fake.addAccount({ planType });
    const id = await seedAccount(s, { ...acct, planType, accessTokenExpiresAt: acct.accessExpiresAt });
    known.set(id, {
      id,
      label: id,
      priority: 0,
      weight: 1,
      planType,
      chatgptAccountId: acct.chatgptAccountId,
    });
    return { acct, id };
  };
  /** Seeded straight into the database, so no process was told: only the explicit polls below read them. */
  const known = new Map<string, PoolAccount>();
  const poolAccount = async (id: string) => known.get(id)!;
  const clearClaim = (id: string) =>
    s.get(RedisService).client.del(s.get(RedisService).key('pool', 'polled', id));

  beforeAll(async () => {
    fake = await FakeUpstream.start();
    s = await startServices({
      OPENAI_AUTH_ISSUER: fake.url,
      CODEX_BASE_URL: fake.codexBaseUrl,
      UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '1500',
    });
    poller = s.get(UsagePoller);
    pool = s.get(PoolService);
    accounts = s.get(AccountsService);
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  it('reads both windows, classified by length, with their reset times and read time, sending the CLI backend headers', async () => {
    const { acct, id } = await seed('plus');
    // The weekly window reported as PRIMARY (as free plans do): classification goes by length.
    fake.setUsageHeaders(acct.chatgptAccountId, {
      primaryUsedPercent: 42,
      primaryWindowMinutes: 10_080,
      primaryResetAfterSeconds: 300_000,
      secondaryUsedPercent: 7,
      secondaryWindowMinutes: 300,
      secondaryResetAfterSeconds: 3_000,
    });
    fake.reset();
    const before = Date.now();
    expect(await poller.pollOnce(await poolAccount(id))).toBe('ok');
    const req = wham().at(-1)!;
    expect(req.method).toBe('GET');
    expect(req.headers.authorization).toBe(`Bearer ${acct.accessToken}`);
    expect(req.headers['chatgpt-account-id']).toBe(acct.chatgptAccountId);
    expect(req.headers.originator).toBe('codex_exec');
    const st = (await pool.usage.get(id))!;
    expect(st.plan).toBe('plus');
    expect(st.weekly).toMatchObject({ usedPercent: 42, windowSeconds: 604_800 });
    expect(st.short).toMatchObject({ usedPercent: 7, windowSeconds: 18_000 });
    expect(Math.abs(st.short!.resetsAt! - (before + 3_000_000))).toBeLessThan(3000);
    expect(st.short!.asOf).toBeGreaterThanOrEqual(before);
    // A second worker replica (or tick) within the claim window does not poll again.
    expect(await poller.pollOnce(await poolAccount(id))).toBe('skipped');
  });

  it.each([
    ['404', 404 as const],
    ['500', 500 as const],
    ['a timeout', 'hang' as const],
  ])(
    'a wham/usage outage (%s) changes no status, cools nothing down and only ages the snapshot',
    async (_n, outage) => {
      const { acct, id } = await seed();
      fake.setUsageHeaders(acct.chatgptAccountId, { primaryUsedPercent: 30, secondaryUsedPercent: 12 });
      expect(await poller.pollOnce(await poolAccount(id))).toBe('ok');
      const before = await pool.usage.get(id);
      await clearClaim(id);
      fake.setWhamOutage(outage);
      try {
        const outcome = await poller.pollOnce(await poolAccount(id));
        expect(outcome).toBe(outage === 'hang' ? 'network_error' : 'http_error');
      } finally {
        fake.setWhamOutage(null);
      }
      const [row] = await query(
        s,
        `SELECT status, "statusReason", "cooldownUntil" FROM accounts WHERE id = $1`,
        [id],
      );
      expect(row).toMatchObject({ status: 'active', statusReason: null, cooldownUntil: null });
      expect(await pool.cooldownUntil(id)).toBeNull();
      expect(await pool.usage.get(id)).toEqual(before); // same values, same "as of": it only ages
    },
  );

  it('polls every newly known account within seconds, spread out (not in lockstep)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await seed()).id);
    fake.reset();
    const t0 = Date.now();
    await accounts.markAllChanged(); // what an import publishes: the worker learns of the accounts
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const states = await pool.usage.getMany(ids);
      if (ids.every((id) => states.has(id) && states.get(id)!.short!.asOf >= t0)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const states = await pool.usage.getMany(ids);
    const times = ids.map((id) => states.get(id)?.short?.asOf ?? 0);
    expect(times.every((t) => t >= t0)).toBe(true);
    expect(Math.max(...times) - t0).toBeLessThan(5000);
    const at = wham().map((r) => r.at);
    expect(at.length).toBeGreaterThanOrEqual(6);
    expect(Math.max(...at) - Math.min(...at)).toBeGreaterThan(300);
  });
});
