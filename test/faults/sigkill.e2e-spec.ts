import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createKey } from '../support/auth.js';
import { TEST_REDIS_URL } from '../support/redis.js';
import { FLUSH_MS } from '../../src/usage/usage.service.js';
import { PoolLeases } from '../../src/accounts/pool/leases.js';
import {
  faultFixture,
  GatewayProc,
  hasBuild,
  modelRequest,
  query,
  report,
  seedFakeAccounts,
  seedTarget,
  sleep,
  storedRefreshToken,
  waitFor,
  gatewayEnv,
} from './support.js';

/**
 * Scenario 4 — the gateway process (API + worker) killed with SIGKILL under load: streaming and non-streaming
 * requests in flight, and one account's refresh caught between "the upstream rotated the refresh token" and "the
 * row has it" (its row is locked so the UPDATE waits; the new tokens are then only in Redis). Afterwards:
 *  - usage rows: every answered request has its row except those answered in the last flush interval
 *    (FLUSH_MS) before the kill, plus the batch being written at that moment — the buffer is in memory;
 *  - no refresh token lost: for every account the token the gateway would present next is the upstream's
 *    current one, the restarted process writes the pending one to the row, and a forced refresh of every
 *    account is accepted (no refresh_token_reused);
 *  - in-flight leases: right after the kill routing still counts the killed process's requests (its heartbeat key
 *    lives up to LEASE_TTL_MS), and within LEASES_GONE_MS it no longer does (read with the pool's own PoolLeases);
 *  - the restarted process serves at once: its first request is a 200.
 * (SIGTERM under load is test/shutdown.e2e-spec.ts.)
 */
const CONCURRENCY = 8;
/** Slack over FLUSH_MS for a lost row: the batch being written at the kill, and request → client latency. */
const FLUSH_SLACK_MS = 1000;
/** Bound for the killed process's leases to stop counting: LEASE_TTL_MS (5 s) from its last heartbeat, plus slack. */
const LEASES_GONE_MS = 10_000;

(hasBuild ? describe : describe.skip)('faults: SIGKILL', () => {
  let gw: GatewayProc | undefined;
  let gw2: GatewayProc | undefined;
  let locker: pg.Client | undefined;
  const f = faultFixture(async () => {
    await gw?.kill('SIGKILL');
    await gw2?.kill('SIGTERM');
    await locker?.end().catch(() => {});
  });

  it('SIGKILL under load: usage rows lost ≤ the last flush interval, no refresh token lost, restart serves at once', async () => {
    const { fake, db, prefix } = f;
    const target = seedTarget(db.url);
    const accts = await seedFakeAccounts(fake, db.url, 3);
    const { key, keyId } = await createKey(target, { rpm: 100_000 });
    const env = gatewayEnv(
      fake,
      { db: db.url, redis: TEST_REDIS_URL, prefix },
      {
        POOL_STRATEGY: 'round-robin',
        ACCOUNT_SWEEP_SECONDS: '2',
      },
    );
    gw = await GatewayProc.start('all', env);
    // Streams that last a while, so some are always in flight.
    fake.configure({ holdMs: 300 });

    // The load: half streaming, half not; each request its own conversation and request id.
    const answered = new Map<string, number>(); // request id → when its answer was complete
    const byStatus: Record<string, number> = {};
    let sent = 0;
    let running = true;
    const one = async (url: string, stream: boolean) => {
      const conversation = `sigkill_${randomUUID().replace(/-/g, '')}`;
      sent++;
      let status: string;
      try {
        const r = await fetch(`${url}/v1/responses`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-5.5', input: 'hi', stream, prompt_cache_key: conversation }),
          signal: AbortSignal.timeout(20_000),
        });
        // The gateway's own request id (the usage row's): a client's x-request-id is only logged beside it.
        const id = r.headers.get('x-request-id') ?? conversation;
        const text = await r.text();
        status = String(r.status);
        // A stream cut by the kill ends without its terminal event: not an answer.
        if (r.status !== 200 || !stream || text.includes('event: response.completed'))
          answered.set(id, Date.now());
        else status = 'cut';
      } catch {
        status = 'neterr';
      }
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    };
    const gw1 = gw;
    const loops = Array.from({ length: CONCURRENCY }, async (_, i) => {
      while (running) {
        await one(gw1.url, i % 2 === 0);
        await sleep(10);
      }
    });

    await sleep(4000);
    // Account 0: its row locked (the UPDATE that stores refreshed tokens waits), then its access token revoked:
    // the next requests on it get 401, 401, refresh → the upstream rotates the refresh token → the gateway puts
    // the new set in Redis and waits on the row.
    const acct0 = accts[0];
    locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM accounts WHERE id = $1 FOR UPDATE', [acct0.id]);
    fake.revokeAccessToken(acct0.chatgptAccountId);
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    const pendingKey = `${prefix}accounts:pending-tokens:${acct0.id}`;
    const pendingAfterMs = await waitFor(
      'refreshed tokens pending in Redis',
      async () => (await redis.exists(pendingKey)) === 1,
      15_000,
      10,
    );
    await sleep(300);

    const killedAt = Date.now();
    await gw.kill('SIGKILL');
    // In flight as routing reads it (the pool's PoolLeases on the same keys; only the killed process wrote them).
    const leases = new PoolLeases({ client: redis, key: (...parts) => prefix + parts.join(':') });
    const acctIds = accts.map((a) => a.id);
    const inFlightNow = async () => [...(await leases.inFlight(acctIds)).values()].reduce((s, n) => s + n, 0);
    const leasesAtKill = await inFlightNow();
    const leasesGone = waitFor(
      'killed process leases no longer counted',
      async () => (await inFlightNow()) === 0,
      15_000,
      50,
    )
      .then(() => Date.now() - killedAt)
      .catch(() => null);
    running = false;
    await Promise.all(loops);
    // The killed process's UPDATE never ran: end its orphaned backend (a crash leaves no write), then unlock.
    await locker.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    await locker.query('ROLLBACK');
    await locker.end();
    locker = undefined;
    const pendingAfterKill = (await redis.exists(pendingKey)) === 1;

    // Usage rows: answered before the kill vs written.
    const ids = [...answered.keys()];
    const rows = await query<{ requestId: string }>(
      db.url,
      `SELECT "requestId" FROM usage_records WHERE "keyId" = $1 AND "requestId" = ANY($2)`,
      [keyId, ids],
    );
    const written = new Set(rows.map((r) => r.requestId));
    const lost = ids.filter((id) => !written.has(id));
    const lostAgeMs = lost.map((id) => killedAt - answered.get(id)!);
    const answeredLastInterval = ids.filter((id) => killedAt - answered.get(id)! <= FLUSH_MS).length;

    // Measured before the restart, so only the killed process's leases are in the hashes.
    const leasesGoneAfterMs = await leasesGone;
    // …and the read pruned them: no field of the dead process is left in any lease hash.
    const leaseFieldsLeft = async () =>
      (await Promise.all(acctIds.map((id) => redis.hlen(`${prefix}pool:lease:${id}`)))).reduce(
        (s, n) => s + n,
        0,
      );
    const leaseFieldsPruned = await waitFor(
      'dead lease fields pruned',
      async () => (await leaseFieldsLeft()) === 0,
      2000,
      50,
    )
      .then(() => true)
      .catch(() => false);

    // Restart: how soon does it serve?
    const spawnedAt = Date.now();
    gw2 = await GatewayProc.start('all', env, { waitReady: false });
    const listeningMs = Date.now() - spawnedAt;
    const first: string[] = [];
    let firstOkMs: number | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await modelRequest(gw2.url, key);
      first.push(r.status);
      if (r.status === '200' && firstOkMs === null) firstOkMs = Date.now() - spawnedAt;
    }

    // No refresh token lost: the pending set is written to the row, and every account's next token is the
    // upstream's current one.
    const pendingWrittenMs = await waitFor(
      'pending tokens written to the row',
      async () => (await redis.exists(pendingKey)) === 0,
      20_000,
      100,
    ).catch(() => null);
    const tokens = [];
    for (const a of accts) {
      const s = await storedRefreshToken(db.url, TEST_REDIS_URL, prefix, a.id, target.config.encryptionKeys);
      tokens.push({ ...s, current: s.token === fake.currentRefreshToken(a.chatgptAccountId) });
    }
    // …and they work: every account's access token revoked, one refresh each, all accepted.
    const refreshesBefore = fake.refreshCount();
    for (const a of accts) fake.revokeAccessToken(a.chatgptAccountId);
    const after: string[] = [];
    let afterSlowestMs = 0;
    for (let i = 0; i < 12; i++) {
      const r = await modelRequest(gw2.url, key, undefined, 30_000);
      after.push(r.status);
      afterSlowestMs = Math.max(afterSlowestMs, r.ms);
    }
    const outcomes = fake.refreshOutcomes();
    const statuses = await query<{ status: string }>(db.url, `SELECT status FROM accounts`);
    redis.disconnect();

    report('sigkill', {
      sent,
      answered: ids.length,
      byStatus,
      rowsExpected: ids.length,
      rowsWritten: written.size,
      rowsLost: lost.length,
      lostAnsweredWithinMs: lostAgeMs.length ? Math.max(...lostAgeMs) : 0,
      answeredInLastFlushInterval: answeredLastInterval,
      flushMs: FLUSH_MS,
      refreshPendingAfterRevokeMs: pendingAfterMs,
      pendingTokensAfterKill: pendingAfterKill,
      pendingWrittenAfterRestartMs: pendingWrittenMs,
      refreshTokensCurrent: tokens.map((t) => `${t.current}(${t.from})`).join(','),
      restartListeningMs: listeningMs,
      restartFirst200Ms: firstOkMs,
      firstRequestsAfterRestart: first.join(','),
      refreshCallsAfter: fake.refreshCount() - refreshesBefore,
      // Account 0's refresh lock was held by the killed process: its lease has to run out first.
      slowestForcedRefreshMs: afterSlowestMs,
      refreshOutcomes: outcomes,
      leasesAtKill,
      leasesGoneAfterMs,
      leaseFieldsPruned,
    });

    // Lost rows: only the last flush interval's (and the batch in flight), never older ones.
    for (const age of lostAgeMs) expect(age).toBeLessThanOrEqual(FLUSH_MS + FLUSH_SLACK_MS);
    // …and the check is not vacuous: rows answered before that window exist, and every one of them was written.
    const older = ids.filter((id) => killedAt - answered.get(id)! > FLUSH_MS + FLUSH_SLACK_MS);
    expect(older.length).toBeGreaterThanOrEqual(10);
    expect(older.every((id) => written.has(id))).toBe(true);
    // The refresh caught by the kill: its tokens were in Redis, the restarted process wrote them to the row.
    expect(pendingAfterKill).toBe(true);
    expect(pendingWrittenMs).not.toBeNull();
    expect(tokens.every((t) => t.current && t.from === 'postgres')).toBe(true);
    expect(outcomes.refresh_token_reused ?? 0).toBe(0);
    expect(Object.keys(outcomes)).toEqual(['ok']);
    expect(fake.refreshCount() - refreshesBefore).toBe(3);
    expect(after.every((s) => s === '200')).toBe(true);
    // The dead holder's refresh lock is a 15 s lease (src/accounts/oauth/token-refresh.service.ts), counted from
    // its last renewal before the kill: no request waits longer (it was the 50 s lock TTL before).
    expect(afterSlowestMs).toBeLessThan(15_000 + 3000);
    expect(statuses.every((s) => s.status === 'active')).toBe(true);
    for (const a of accts) expect(fake.loginValid(a.chatgptAccountId)).toBe(true);
    // Leases: requests were in flight at the kill and routing counted them (so the next check is not vacuous)…
    expect(leasesAtKill).toBeGreaterThan(0);
    // …and within the bound it no longer does, the dead fields pruned by that read.
    expect(leasesGoneAfterMs).not.toBeNull();
    expect(leasesGoneAfterMs!).toBeLessThanOrEqual(LEASES_GONE_MS);
    expect(leaseFieldsPruned).toBe(true);
    // Serves at once: the first request to the restarted process is answered.
    expect(first[0]).toBe('200');
    expect(first.every((s) => s === '200')).toBe(true);
  }, 120_000);
});
