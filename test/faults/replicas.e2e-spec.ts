import { createKey } from '../support/auth.js';
import { TEST_REDIS_URL } from '../support/redis.js';
import {
  faultFixture,
  gatewayEnv,
  GatewayProc,
  hasBuild,
  metricValue,
  modelRequest,
  query,
  redisClient,
  report,
  seedFakeAccounts,
  seedTarget,
  sleep,
  waitFor,
} from './support.js';

/**
 * Scenario 6 — two API processes (`serve`) and two workers (`worker`), built, on one Postgres and one Redis.
 * Every account's access token expires at once (the upstream refuses it with 401 and the row says it expired, so
 * the workers' sweep and refresh jobs go for it too), 50 concurrent requests spread over both API processes and
 * the 3 accounts, and one worker restarted (SIGTERM, then started again) while the refreshes are in flight.
 * Exactly one refresh per account reaches the token endpoint and none is a reuse. (The in-process version with
 * two app instances is the "401 storm across two replicas" test in test/upstream-errors.e2e-spec.ts.)
 */
const REQUESTS = 50;
/** The token endpoint answers this late, so the storm and the worker restart overlap the refreshes. */
const TOKEN_DELAY_MS = 1500;

(hasBuild ? describe : describe.skip)('faults: two API processes and two workers', () => {
  const procs: GatewayProc[] = [];
  const f = faultFixture(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
  });

  it(`${REQUESTS} concurrent 401s over 3 accounts, 2 API processes, 2 workers and a worker restart → one refresh per account`, async () => {
    const { fake, db, prefix } = f;
    const target = seedTarget(db.url);
    const accts = await seedFakeAccounts(fake, db.url, 3);
    const { key } = await createKey(target, { rpm: 100_000 });
    const env = gatewayEnv(
      fake,
      { db: db.url, redis: TEST_REDIS_URL, prefix },
      { POOL_STRATEGY: 'round-robin', ACCOUNT_SWEEP_SECONDS: '2', REFRESH_LEAD_SECONDS: '0' },
    );
    const start = async (role: 'serve' | 'worker') => {
      const p = await GatewayProc.start(role, env);
      procs.push(p);
      return p;
    };
    const [api1, api2, w1, w2] = await Promise.all([
      start('serve'),
      start('serve'),
      start('worker'),
      start('worker'),
    ]);
    const apis = [api1, api2];
    // Warm both API processes: every account's (soon stale) credentials in their caches.
    for (const api of apis)
      for (let i = 0; i < 6; i++) expect((await modelRequest(api.url, key)).status).toBe('200');

    fake.reset();
    for (const a of accts) fake.tokenFault({ kind: 'delay', ms: TOKEN_DELAY_MS }, 1, a.chatgptAccountId);
    // Expired: the upstream refuses the access tokens, and the rows say so (the workers' sweep sees them due).
    for (const a of accts) fake.revokeAccessToken(a.chatgptAccountId);
    await query(db.url, `UPDATE accounts SET "accessTokenExpiresAt" = now() - interval '1 second'`);

    // The workers' sweep (every 2 s) finds them due and starts refreshing before any request comes: the storm then
    // meets refreshes already in flight in the workers, one of which is restarted.
    const sweptMs = await waitFor('a worker refresh under way', () => fake.refreshCount() >= 1, 10_000, 10);
    const t0 = Date.now();
    const storm = Promise.all(
      Array.from({ length: REQUESTS }, (_, i) => modelRequest(apis[i % 2].url, key, undefined, 30_000)),
    );
    // A worker restarted in the middle: it finishes what it holds, exits, and a new one starts.
    await sleep(300);
    const exitCode = await w1.kill('SIGTERM');
    const restartedAt = Date.now() - t0;
    const w3 = await start('worker');
    const results = await storm;
    const stormMs = Date.now() - t0;
    // Give the workers a sweep or two (every 2 s) to do anything they still would.
    await sleep(4500);

    const byStatus: Record<string, number> = {};
    for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const perAccount = accts.map((a) => fake.refreshCount(a.chatgptAccountId));
    const outcomes = fake.refreshOutcomes();
    const upstream = fake.requestsTo('/backend-api/codex/responses');
    const refreshedBy = (w: GatewayProc) => w.logLines().filter((l) => l.msg === 'token refreshed').length;
    const statuses = await query<{ status: string }>(db.url, `SELECT status FROM accounts`);
    // The worker's queue gauge (deploy alert CodexGatewayJobQueueBacklog) says what BullMQ holds.
    const delayedGauge = await metricValue(w2.url, /^cg_queue_jobs\{queue="accounts",state="delayed"\}/);
    const delayedInRedis = await redisClient(TEST_REDIS_URL, (c) =>
      c.zcard(`${prefix}bull:accounts:delayed`),
    );
    report('replicas-401-storm', {
      processes: '2 serve + 2 worker',
      sent: REQUESTS,
      byStatus,
      firstWorkerRefreshAfterMs: sweptMs,
      stormMs,
      workerRestartedAtMs: restartedAt,
      workerExit: exitCode,
      upstreamCalls: upstream.length,
      accountsServing: new Set(upstream.map((r) => r.chatgptAccountId)).size,
      refreshCallsPerAccount: perAccount.join(','),
      refreshOutcomes: outcomes,
      // Which process did each refresh (the rest were done by the API processes on their 401s).
      refreshedByWorkers: `restarted=${refreshedBy(w1)} other=${refreshedBy(w2)} new=${refreshedBy(w3)}`,
      queueJobsDelayed: `${delayedGauge} (redis ${delayedInRedis})`,
      refreshedByApis: refreshedBy(api1) + refreshedBy(api2),
    });
    expect(byStatus['200']).toBe(REQUESTS);
    expect(exitCode).toBe(0);
    // The restarted worker finished its running refresh with Redis and Postgres still open (before the fix its
    // connections closed first: lock left to expire, the storm waited ~15 s for it, next refresh not scheduled).
    expect(w1.out).not.toContain('Connection is closed');
    expect(perAccount).toEqual([1, 1, 1]);
    expect(outcomes).toEqual({ ok: 3 });
    expect(statuses.every((s) => s.status === 'active')).toBe(true);
    expect(delayedGauge).toBe(delayedInRedis);
    expect(delayedGauge).toBeGreaterThanOrEqual(3); // one scheduled refresh per account (+ the sweep's next run)
    for (const a of accts) expect(fake.loginValid(a.chatgptAccountId)).toBe(true);
  }, 180_000);
});
