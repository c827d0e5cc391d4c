import { FakeUpstream } from '../fake-upstream/index.ts';
import { seedAccount } from '../support/accounts.js';
import { createAdminKey, createKey } from '../support/auth.js';
import { flushPrefix, testPrefix, TEST_REDIS_URL } from '../support/redis.js';
import { KeyRing } from '../../src/common/crypto.js';
import {
  GatewayProc,
  hasBuild,
  load,
  modelRequest,
  OwnPostgres,
  query,
  report,
  seedTarget,
  sleep,
  waitFor,
  gatewayEnv,
} from './support.js';

/**
 * Scenario 3 — Postgres down under load (20 s in CI instead of 60 s to keep the suite short; nothing in the
 * gateway depends on the length, only the usage buffer's bound does), on a Postgres cluster of our own:
 * cached keys and accounts keep serving, usage rows are held and written after recovery (none lost), the admin
 * API answers 503, and a refresh that succeeded upstream while Postgres was down keeps its new refresh token.
 */
const DOWN_MS = Number(process.env.FAULTS_PG_DOWN_MS ?? 20_000);

(hasBuild ? describe : describe.skip)('faults: Postgres', () => {
  let fake: FakeUpstream;
  let pgc: OwnPostgres;
  let gw: GatewayProc;
  const prefix = testPrefix();

  beforeAll(async () => {
    fake = await FakeUpstream.start();
    pgc = await OwnPostgres.create();
  }, 120_000);

  afterAll(async () => {
    await gw?.kill('SIGTERM');
    await pgc?.destroy();
    await fake?.close();
    await flushPrefix(prefix);
  });

  it(`Postgres down ${DOWN_MS / 1000} s under load: serving goes on, usage rows held then written, admin 503, refresh token kept`, async () => {
    const target = seedTarget(pgc.url());
    const accts = [];
    for (let i = 0; i < 3; i++) {
      const a = fake.addAccount({ accessTtlSeconds: 3600 });
      accts.push({ ...a, id: await seedAccount(target, { ...a, accessTokenExpiresAt: a.accessExpiresAt }) });
    }
    const { key, keyId } = await createKey(target);
    const admin = await createAdminKey(target);
    gw = await GatewayProc.start(
      'all',
      gatewayEnv(
        fake,
        { db: pgc.url(), redis: TEST_REDIS_URL, prefix },
        {
          POOL_STRATEGY: 'round-robin',
          ACCOUNT_SWEEP_SECONDS: '5',
        },
      ),
    );
    const adminGet = () =>
      fetch(`${gw.url}/admin/api/accounts`, { headers: { authorization: `Bearer ${admin.key}` } });
    // Warm the caches: the key, the admin key, every account's credentials.
    expect((await adminGet()).status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await modelRequest(gw.url, key)).status).toBe('200');

    const l = load(() => modelRequest(gw.url, key), 4, 50);
    await sleep(1000);
    // A refresh that will get its answer while Postgres is down: account 0's access token is refused, the
    // token endpoint is slow.
    const r = accts[0];
    fake.tokenFault({ kind: 'delay', ms: 2500 }, 1, r.chatgptAccountId);
    fake.revokeAccessToken(r.chatgptAccountId);
    await waitFor('refresh started', () => fake.refreshCount(r.chatgptAccountId) === 1, 5000, 10);
    const t0 = Date.now();
    await pgc.stop();
    const adminDuring = await adminGet();
    const adminBody = await adminDuring.text();
    await sleep(DOWN_MS);
    const during = { ...l.tally.byStatus };
    await pgc.start();
    const restartedAt = Date.now();
    await sleep(1500);
    const t = await l.stop();
    const total = t.sent + 6;
    const drainMs = await waitFor(
      'every usage row written',
      async () =>
        (await query(pgc.url(), `SELECT count(*)::int n FROM usage_records WHERE "keyId" = $1`, [keyId]))[0]
          .n === total,
      20_000,
    ).catch(() => null);
    const [{ n: written }] = await query(
      pgc.url(),
      `SELECT count(*)::int n FROM usage_records WHERE "keyId" = $1`,
      [keyId],
    );
    const adminAfter = await waitFor('admin API back', async () => (await adminGet()).status === 200, 10_000);

    // The refresh token the upstream rotated to is in Postgres (after the sweep or the next load wrote it).
    await waitFor(
      'pending tokens written',
      async () => {
        const [row] = await query(
          pgc.url(),
          `SELECT credentials, "credentialsKeyId" FROM accounts WHERE id = $1`,
          [r.id],
        );
        const ring = new KeyRing(target.config.encryptionKeys);
        const tokens = JSON.parse(ring.open(row.credentials, row.credentialsKeyId, r.id).toString('utf8'));
        return tokens.refresh_token !== r.refreshToken;
      },
      30_000,
      500,
    );
    // …and it works: another forced refresh is accepted upstream (a lost token would be refresh_token_reused).
    fake.revokeAccessToken(r.chatgptAccountId);
    const after = [];
    for (let i = 0; i < 6; i++) after.push((await modelRequest(gw.url, key)).status);
    const [acct] = await query(pgc.url(), `SELECT status FROM accounts WHERE id = $1`, [r.id]);

    report('postgres-down', {
      downMs: DOWN_MS,
      sent: t.sent,
      succeeded: t.ok,
      byStatus: t.byStatus,
      byStatusUntilRestart: during,
      adminDuringOutage: adminDuring.status,
      rowsExpected: total,
      rowsWritten: written,
      rowsDrainedAfterMs: drainMs === null ? null : Date.now() - restartedAt,
      adminBackAfterMs: adminAfter,
      refreshCalls: fake.refreshCount(r.chatgptAccountId),
      accountStatusAfter: acct.status,
      outageMs: restartedAt - t0,
    });
    expect(adminDuring.status).toBe(503);
    expect(adminBody).toContain('postgres_unavailable');
    expect(written).toBe(total);
    // Serving went on: at most a handful of requests failed (the ones on the refreshing account).
    expect(t.ok / t.sent).toBeGreaterThan(0.95);
    expect(after.every((s) => s === '200')).toBe(true);
    expect(acct.status).toBe('active');
    expect(gw.out).toContain('refreshed tokens held in Redis');
  }, 180_000);
});
