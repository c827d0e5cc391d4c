import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FakeUpstream } from '../fake-upstream/index.ts';
import { seedAccount } from '../support/accounts.js';
import { createKey } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import {
  GatewayProc,
  hasBuild,
  load,
  modelRequest,
  OwnRedis,
  query,
  report,
  seedTarget,
  sleep,
  waitFor,
  type Tally,
  gatewayEnv,
} from './support.js';

/**
 * Scenarios 1 and 2 — Redis restarted mid-traffic (with its data, then without) and flushed, with the built
 * gateway (API + worker in one process) on a Redis of our own. Requests during the outage fail fast with a 503;
 * the gateway serves again by itself; refresh jobs exist again for every account; a key revoked during the
 * outage is refused once Redis is back (the key cache is cleared on reconnect).
 */
const PREFIX = 'cgf:';

(hasBuild ? describe : describe.skip)('faults: Redis', () => {
  let fake: FakeUpstream;
  let db: TestDatabase;
  let redis: OwnRedis;
  let gw: GatewayProc;
  let key: string;
  const accountIds: string[] = [];
  const target = () => seedTarget(db.url);

  beforeAll(async () => {
    fake = await FakeUpstream.start();
    db = await createTestDatabase();
    redis = await OwnRedis.start(true);
    for (let i = 0; i < 3; i++) {
      const a = fake.addAccount({ accessTtlSeconds: 3600 });
      accountIds.push(await seedAccount(target(), { ...a, accessTokenExpiresAt: a.accessExpiresAt }));
    }
    key = (await createKey(target(), { rpm: 100_000 })).key;
    gw = await GatewayProc.start(
      'all',
      gatewayEnv(
        fake,
        { db: db.url, redis: redis.url, prefix: PREFIX },
        {
          ACCOUNT_SWEEP_SECONDS: '2',
        },
      ),
    );
  }, 90_000);

  afterAll(async () => {
    await gw?.kill('SIGTERM');
    await redis?.destroy();
    await fake?.close();
    await db?.drop();
  });

  /** Account ids that have a delayed refresh job in BullMQ. */
  const scheduled = () =>
    redis.client(async (c) => {
      const ids = await c.zrange(`${PREFIX}bull:accounts:delayed`, '0', '-1');
      return new Set(accountIds.filter((a) => ids.some((j) => j.startsWith(`refresh-${a}-`))));
    });

  function recovery(t: Tally, restartedAt: number): number | null {
    const first = t.timeline.find((e) => e.at >= restartedAt && e.status === '200');
    return first ? first.at - restartedAt : null;
  }

  async function outage(name: string, downMs: number, keepData: boolean) {
    await waitFor('refresh jobs for every account', async () => (await scheduled()).size === 3, 20_000);
    const refreshesBefore = fake.refreshCount();
    const t0 = Date.now();
    const l = load(() => modelRequest(gw.url, key), 4, 50);
    await sleep(1500);
    await redis.stop();
    if (!keepData) rmSync(join(redis.dir, 'appendonlydir'), { recursive: true, force: true });
    // A key revoked while Redis is down: the database has it, the pub/sub message never went out.
    const victim = await createKey(target());
    expect((await modelRequest(gw.url, victim.key)).status).not.toBe('401'); // cached? not yet: loads from DB
    await sleep(downMs);
    await query(db.url, `UPDATE api_keys SET "revokedAt" = now() WHERE id = $1`, [victim.keyId]);
    const duringOutage = { ...l.tally.byStatus };
    await redis.start();
    const restartedAt = Date.now() - t0;
    await waitFor(
      'a 200 after the restart',
      () => l.tally.timeline.some((e) => e.at > restartedAt && e.status === '200'),
      30_000,
    );
    await sleep(1500);
    const t = await l.stop();
    const revoked = await waitFor(
      'the revoked key refused',
      async () => (await modelRequest(gw.url, victim.key)).status === '401',
      10_000,
    );
    const jobsBackMs = await waitFor(
      'refresh jobs for every account',
      async () => (await scheduled()).size === 3,
      20_000,
    );
    const rec = recovery(t, restartedAt);
    report(name, {
      sent: t.sent,
      succeeded: t.ok,
      byStatus: t.byStatus,
      byStatusUntilRestart: duringOutage,
      slowestFailureMs: t.slowestFailureMs,
      recoveryMs: rec,
      revokedKeyRefusedAfterMs: revoked,
      refreshJobsBackAfterMs: jobsBackMs,
      refreshCalls: fake.refreshCount() - refreshesBefore,
    });
    const failures = Object.entries(t.byStatus).filter(([s]) => s !== '200');
    // Every failure is a clear 503 (never a hang, a 500 or a dropped connection), and fast.
    for (const [s] of failures) expect(s).toBe('503');
    // Once the shared connection is lost its commands fail at once (no offline queue): a failure takes about a
    // round trip, not ioredis' reconnect attempts (up to ~6 s each wait, twice for a fail-open call + a required one).
    expect(t.slowestFailureMs).toBeLessThan(2000);
    expect(rec).not.toBeNull();
    expect(rec!).toBeLessThan(10_000);
    expect(fake.refreshCount() - refreshesBefore).toBe(0); // tokens are valid: no refresh at all, none twice
  }

  it('Redis restarted with its data (8 s outage under load)', async () => {
    await outage('redis-restart-with-data', 8000, true);
  });

  it('Redis restarted without its data: jobs, sweep scheduler and caches rebuilt', async () => {
    await outage('redis-restart-empty', 3000, false);
    expect(gw.out).toContain('sweep scheduler was missing');
  });

  it('Redis flushed while serving: everything comes back from Postgres', async () => {
    await waitFor('refresh jobs for every account', async () => (await scheduled()).size === 3, 20_000);
    await redis.client((c) => c.flushall());
    const t0 = Date.now();
    const statuses: string[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await modelRequest(gw.url, key)).status);
    const jobsBackMs = await waitFor(
      'refresh jobs for every account',
      async () => (await scheduled()).size === 3,
      20_000,
    );
    report('redis-flushall', {
      sent: 10,
      byStatus: statuses.join(','),
      refreshJobsBackAfterMs: Date.now() - t0,
      waitedMs: jobsBackMs,
    });
    expect(statuses.every((s) => s === '200')).toBe(true);
  });
});
