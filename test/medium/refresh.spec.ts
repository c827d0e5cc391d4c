import { FakeUpstream } from '../fake-upstream/index.ts';
import type { TestGateway } from '../support/gateway.js';
import { startServices, type Services } from '../support/medium.js';
import { eventually, query as gatewayQuery } from '../support/wait.js';
import { seedAccount } from '../support/accounts.js';
import { AccountSource } from '../../src/accounts/account-source.js';
import { AccountRefreshError } from '../../src/accounts/account-errors.js';
import { CredentialsCipher } from '../../src/accounts/credentials.js';
import { TokenRefreshService } from '../../src/accounts/token-refresh.service.js';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from '../support/redis.js';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { ACCOUNTS_QUEUE, JOB_REFRESH } from '../../src/accounts/accounts.queue.js';
import { RefreshScheduler } from '../../src/accounts/refresh-scheduler.js';

/**
 * Token refresh (medium: the accounts services on real Postgres/Redis and the fake issuer, two processes sharing
 * one database and Redis prefix where it matters): single flight, the one "is it due" rule, the worker's
 * proactive refresh, permanent and transient failures, pending token sets.
 */
const query = (s: Services, sql: string, params: unknown[] = []) =>
  gatewayQuery(s as unknown as TestGateway, sql, params); // it reads only the database address

/** The gateway path's port (abstract, so not through `Services.get`). */
const sourceOf = (s: Services): AccountSource => s.app.get(AccountSource);

/** Another process of the same deployment: same database and Redis prefix (its own fresh ones stay unused). */
const sharing = (s: Services) => ({ DATABASE_URL: s.db.url, REDIS_KEY_PREFIX: s.config.REDIS_KEY_PREFIX });

function bodyOf(r: { body: unknown }): Record<string, unknown> {
  return (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as Record<string, unknown>;
}

function refreshRequests(fake: FakeUpstream) {
  return fake.requestsTo('/oauth/token').filter((r: { body: unknown }) => {
    try {
      return bodyOf(r).grant_type === 'refresh_token';
    } catch {
      return false;
    }
  });
}

/** A fake upstream and one process of services on it, for the describe that calls it. */
function useFakeServices(): { fake: FakeUpstream; gw: Services } {
  const env = {} as { fake: FakeUpstream; gw: Services };
  beforeAll(async () => {
    env.fake = await FakeUpstream.start();
    env.gw = await startServices({ OPENAI_AUTH_ISSUER: env.fake.url, CODEX_BASE_URL: env.fake.codexBaseUrl });
  });
  afterAll(async () => {
    await env.gw?.close();
    await env.fake?.close();
  });
  return env;
}

describe('refresh: single flight across instances', () => {
  let fake: FakeUpstream;
  let a: Services;
  let b: Services;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    const env = {
      OPENAI_AUTH_ISSUER: fake.url,
      CODEX_BASE_URL: fake.codexBaseUrl,
      CODEX_USER_AGENT: 'codex_exec/0.169.0 (Test 1; x86_64) xterm',
    };
    a = await startServices(env);
    b = await startServices({ ...env, ...sharing(a) });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await fake?.close();
  });

  it('2 instances × 20 concurrent forced refreshes → exactly one upstream refresh, everyone gets the new token', async () => {
    const acct = fake.addAccount({ accessTtlSeconds: 3600 });
    const id = await seedAccount(a, {
      ...acct,
      accessTokenExpiresAt: acct.accessExpiresAt,
    });
    const sources = [sourceOf(a), sourceOf(b)];
    const before = fake.refreshCount(acct.chatgptAccountId);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => sources[i % 2].refreshAfterUnauthorized(id, acct.accessToken)),
    );
    expect(fake.refreshCount(acct.chatgptAccountId) - before).toBe(1);
    const tokens = new Set(results.map((r) => r.accessToken));
    expect(tokens.size).toBe(1);
    const [fresh] = [...tokens];
    expect(fresh).not.toBe(acct.accessToken);
    for (const s of sources) expect((await s.getCredentials(id)).accessToken).toBe(fresh);

    // Exactly the CLI's request (docs/upstream-protocol.md §3).
    const req = refreshRequests(fake).at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(req.headers.originator).toBe('codex_exec');
    expect(req.headers['user-agent']).toBe('codex_exec/0.169.0 (Test 1; x86_64) xterm');
    expect(req.headers.authorization).toBeUndefined();
    expect(bodyOf(req)).toEqual({
      client_id: 'app_EMoamEEZ73f0CkXaXp7hrann',
      grant_type: 'refresh_token',
      refresh_reason: 'unauthorized_recovery',
      refresh_token: acct.refreshToken,
    });
    const [row] = await query(a, `SELECT "lastRefreshAt", status FROM accounts WHERE id = $1`, [id]);
    expect(row.status).toBe('active');
    expect(row.lastRefreshAt).not.toBeNull();
    expect(a.logs.text + b.logs.text).not.toContain(acct.refreshToken);
    expect(a.logs.text + b.logs.text).not.toContain(fresh);
  });

  it('a permanent refresh error marks the account needs_reauth (audited) and it leaves the pool', async () => {
    const acct = fake.addAccount({ accessTtlSeconds: 3600 });
    const id = await seedAccount(a, {
      ...acct,
      accessTokenExpiresAt: acct.accessExpiresAt,
    });
    fake.tokenFault({ kind: 'permanent', code: 'refresh_token_reused' });
    const src = sourceOf(a);
    const err = await src.refreshAfterUnauthorized(id, acct.accessToken).catch((e) => e);
    expect(err).toBeInstanceOf(AccountRefreshError);
    expect(err.permanent).toBe(true);
    const [row] = await query(a, `SELECT status, "statusReason", "lastError" FROM accounts WHERE id = $1`, [
      id,
    ]);
    expect(row.status).toBe('needs_reauth');
    expect(row.statusReason).toContain('refresh_token_reused');
    const audit = await query(a, `SELECT action FROM audit_logs WHERE "targetId" = $1 ORDER BY id`, [id]);
    expect(audit.map((r) => r.action)).toEqual(
      expect.arrayContaining(['account.refresh_failed', 'account.status_changed']),
    );
    expect((await src.listRoutable()).some((x) => x.id === id)).toBe(false);
    await eventually(
      async () => !(await sourceOf(b).listRoutable()).some((x) => x.id === id),
      'B to drop it',
    );
    // No second use of the spent refresh token.
    await expect(src.refreshAfterUnauthorized(id, acct.accessToken)).rejects.toMatchObject({
      permanent: true,
    });
  });

  it('a caller that waited on the lock uses the winner’s short-lived token instead of refreshing it again', async () => {
    // A 60 s token against the default 300 s lead: due at once when seen, but the token the winner gets is due
    // only at half its life (30 s), for the caller that waited as much as for the worker's schedule.
    expect(a.config.REFRESH_LEAD_SECONDS).toBe(300);
    const acct = fake.addAccount({ accessTtlSeconds: 60 });
    const id = await seedAccount(a, { ...acct, accessTokenExpiresAt: acct.accessExpiresAt });
    // The winner's call to the issuer takes 500 ms: long enough for the other process to find the lock taken.
    fake.tokenFault({ kind: 'delay', ms: 500 }, 1, acct.chatgptAccountId);
    const winner = a.get(TokenRefreshService).refresh(id, { kind: 'due' }, 'proactive_expiry');
    const deadline = Date.now() + 10_000;
    while (fake.refreshCount(acct.chatgptAccountId) === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(1); // the winner is inside its refresh, lock held
    const waiter = b.get(TokenRefreshService).refresh(id, { kind: 'due' }, 'proactive_expiry');
    const [won, waited] = await Promise.all([winner, waiter]);

    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(1);
    expect(fake.refreshOutcomes(acct.chatgptAccountId)).toEqual({ ok: 1 });
    expect(won.tokens.access_token).not.toBe(acct.accessToken);
    expect(waited.tokens.access_token).toBe(won.tokens.access_token);
    expect(waited.tokens.refresh_token).toBe(fake.currentRefreshToken(acct.chatgptAccountId));
    // And nobody asking again right after (either process) refreshes it.
    await a.get(TokenRefreshService).refresh(id, { kind: 'due' }, 'proactive_expiry');
    await b.get(TokenRefreshService).refresh(id, { kind: 'due' }, 'proactive_expiry');
    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(1);
  });
});

describe('refresh: the worker', () => {
  let fake: FakeUpstream;
  let gw: Services;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    // Lead 358 s: an account whose token expires in 6 minutes is due 2 s after it is seen. Sweep every second so
    // seeded rows (written behind the gateway's back) get their job without any request.
    gw = await startServices({
      OPENAI_AUTH_ISSUER: fake.url,
      CODEX_BASE_URL: fake.codexBaseUrl,
      REFRESH_LEAD_SECONDS: '358',
      ACCOUNT_SWEEP_SECONDS: '1',
      REFRESH_RETRY_BASE_MS: '200',
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('a token that lives shorter than the lead is refreshed at half its life, not again at once', async () => {
    // 60 s tokens against a 358 s lead: each new token would be "due" the moment it is issued; without the
    // half-life rule the worker, the sweep (every second here) and every request refreshed it again at once.
    const acct = fake.addAccount({ accessTtlSeconds: 60 });
    const id = await seedAccount(gw, { ...acct, accessTokenExpiresAt: acct.accessExpiresAt });
    await eventually(() => fake.refreshCount(acct.chatgptAccountId) >= 1, 'the first refresh');
    const src = sourceOf(gw);
    for (let i = 0; i < 5; i++) await src.getCredentials(id); // the request path's own "due" check
    await new Promise((r) => setTimeout(r, 4000)); // four sweeps
    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(1);
  });

  it('refreshes an account expiring in 6 minutes with no request (sweep + delayed job)', async () => {
    const acct = fake.addAccount({ accessTtlSeconds: 360 });
    const id = await seedAccount(gw, {
      ...acct,
      accessTokenExpiresAt: acct.accessExpiresAt,
    });
    await eventually(() => fake.refreshCount(acct.chatgptAccountId) >= 1, 'the worker refresh');
    await eventually(async () => {
      const [row] = await query(gw, `SELECT "lastRefreshAt" FROM accounts WHERE id = $1`, [id]);
      return row.lastRefreshAt !== null;
    }, 'the stored refresh');
    const req = refreshRequests(fake).find(
      (r: { body: unknown }) => bodyOf(r).refresh_token === acct.refreshToken,
    )!;
    expect(bodyOf(req).refresh_reason).toBe('proactive_expiry');
    const creds = await sourceOf(gw).getCredentials(id);
    expect(creds.accessToken).not.toBe(acct.accessToken);
  });

  it('retries a transient 5xx with backoff and succeeds', async () => {
    const acct = fake.addAccount({ accessTtlSeconds: 3600 });
    const id = await seedAccount(gw, {
      ...acct,
      accessTokenExpiresAt: new Date(Date.now() + 359_000),
    });
    fake.tokenFault({ kind: 'server_error' }, 2, acct.chatgptAccountId);
    await eventually(() => fake.refreshCount(acct.chatgptAccountId) >= 1, 'the refresh after retries');
    await eventually(async () => {
      const [row] = await query(
        gw,
        `SELECT "lastRefreshAt", status, "lastError" FROM accounts WHERE id = $1`,
        [id],
      );
      return row.lastRefreshAt !== null && row.status === 'active' && row.lastError === null;
    }, 'the stored refresh');
    const attempts = refreshRequests(fake).filter(
      (r: { body: unknown }) => bodyOf(r).refresh_token === acct.refreshToken,
    );
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    const audit = await query(
      gw,
      `SELECT details FROM audit_logs WHERE "targetId" = $1 AND action = 'account.refresh_failed'`,
      [id],
    );
    expect(audit.length).toBeGreaterThanOrEqual(2);
    expect(audit[0].details).toMatchObject({ kind: 'transient' });
  });

  it('marks needs_reauth when the worker gets a permanent error', async () => {
    const acct = fake.addAccount({ accessTtlSeconds: 3600 });
    fake.tokenFault({ kind: 'permanent', code: 'refresh_token_expired' }, 1, acct.chatgptAccountId);
    const id = await seedAccount(gw, {
      ...acct,
      accessTokenExpiresAt: new Date(Date.now() + 359_000),
    });
    await eventually(async () => {
      const [row] = await query(gw, `SELECT status FROM accounts WHERE id = $1`, [id]);
      return row.status === 'needs_reauth';
    }, 'needs_reauth');
    const [row] = await query(gw, `SELECT "statusReason" FROM accounts WHERE id = $1`, [id]);
    expect(row.statusReason).toContain('refresh_token_expired');
  });
});

describe('refresh: a pending token set read before a newer refresh never replaces it', () => {
  const env = useFakeServices();
  let fake: FakeUpstream;
  let gw: Services;
  beforeAll(() => {
    ({ fake, gw } = env);
  });

  // Found by the deploy dashboards check under a refresh storm: process B read refresh #1's pending set from Redis,
  // process A then stored refresh #2, and B's write put #1's spent refresh token back in the row — the next
  // refresh was refused as refresh_token_reused and the account needed a new login.
  it('an older pending set (Redis) loses to a newer row; the row keeps the current refresh token', async () => {
    const acct = fake.addAccount({ accessTtlSeconds: 3600 });
    const id = await seedAccount(gw, { ...acct, accessTokenExpiresAt: acct.accessExpiresAt });
    const src = sourceOf(gw);
    // Refresh #1 and #2 (forced, as after two upstream 401s): the row holds #2's tokens.
    await src.refreshAfterUnauthorized(id, acct.accessToken);
    const first = await src.getCredentials(id);
    const [afterFirst] = await query(gw, `SELECT "lastRefreshAt" FROM accounts WHERE id = $1`, [id]);
    await src.refreshAfterUnauthorized(id, first.accessToken);
    const [row2] = await query(gw, `SELECT credentials, "lastRefreshAt" FROM accounts WHERE id = $1`, [id]);
    expect(new Date(row2.lastRefreshAt).getTime()).toBeGreaterThan(
      new Date(afterFirst.lastRefreshAt).getTime(),
    );
    // A stale pending set: refresh #1's tokens, stamped with #1's time (what B had read from Redis).
    const cipher = gw.get(CredentialsCipher);
    const stale = cipher.seal(id, {
      access_token: first.accessToken,
      refresh_token: 'rt-spent-by-refresh-2',
      id_token: acct.idToken,
    });
    const pendingKey = `${gw.config.REDIS_KEY_PREFIX}accounts:pending-tokens:${id}`;
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await redis.set(
        pendingKey,
        JSON.stringify({
          keyId: stale.keyId,
          data: Buffer.from(stale.data).toString('base64'),
          accessTokenExpiresAt: null,
          at: new Date(afterFirst.lastRefreshAt).getTime(),
        }),
      );
      const loaded = await gw.get(TokenRefreshService).load(id);
      expect(loaded.tokens.refresh_token).not.toBe('rt-spent-by-refresh-2');
      const [now] = await query(gw, `SELECT credentials, "lastRefreshAt" FROM accounts WHERE id = $1`, [id]);
      expect(Buffer.from(now.credentials).equals(Buffer.from(row2.credentials))).toBe(true);
      // And the account still refreshes upstream with the token it really holds (no refresh_token_reused).
      const before = await src.getCredentials(id);
      await src.refreshAfterUnauthorized(id, before.accessToken);
      const [last] = await query(gw, `SELECT status FROM accounts WHERE id = $1`, [id]);
      expect(last.status).toBe('active');
    } finally {
      await redis.del(pendingKey);
      redis.disconnect();
    }
  });
});

describe('refresh hygiene: a pool never refreshes in the same second (issue 25 item 5)', () => {
  const env = useFakeServices();
  let fake: FakeUpstream;
  let gw: Services;
  beforeAll(() => {
    ({ fake, gw } = env);
  });

  /** When each seeded account's refresh job runs, from BullMQ itself (one job per account expected). */
  async function runTimes(ids: string[]): Promise<number[]> {
    const queue = gw.app.get<Queue>(getQueueToken(ACCOUNTS_QUEUE), { strict: false });
    const jobs = [...(await queue.getDelayed()), ...(await queue.getWaiting())].filter(
      (j) => j.name === JOB_REFRESH && ids.includes(j.data.accountId),
    );
    expect(jobs.map((j) => j.data.accountId).sort()).toEqual([...ids].sort());
    return jobs.map((j) => j.timestamp + (j.opts.delay ?? 0)).sort((a, b) => a - b);
  }
  const spreadOk = (times: number[], due: number) => {
    for (const t of times) expect(t).toBeGreaterThanOrEqual(due); // never earlier than the due rule
    expect(new Set(times.map((t) => Math.floor(t / 1000))).size).toBe(times.length);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(1000);
  };

  it('10 accounts imported together (same expiry) spread on the sweep, and again after a Redis loss', async () => {
    const exp = new Date(Date.now() + 3_600_000);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const a = fake.addAccount({ accessTtlSeconds: 3600 });
      ids.push(await seedAccount(gw, { ...a, accessTokenExpiresAt: exp }));
    }
    const scheduler = gw.get(RefreshScheduler);
    await scheduler.sweep();
    const due = exp.getTime() - gw.config.REFRESH_LEAD_SECONDS * 1000;
    spreadOk(await runTimes(ids), due);
    // A sweep again (another replica, the next period) keeps one job per account and the same plan.
    const before = await runTimes(ids);
    await scheduler.sweep();
    expect(await runTimes(ids)).toEqual(before);
    // Redis lost every job (flush, restart without persistence): the sweep re-creates them, still spread.
    const queue = gw.app.get<Queue>(getQueueToken(ACCOUNTS_QUEUE), { strict: false });
    await queue.drain(true);
    expect((await queue.getDelayed()).filter((j) => j.name === JOB_REFRESH)).toHaveLength(0);
    await scheduler.sweep();
    spreadOk(await runTimes(ids), due);
  });

  it('right after a restart with every token overdue: spread from now instead of all at once', async () => {
    const queue = gw.app.get<Queue>(getQueueToken(ACCOUNTS_QUEUE), { strict: false });
    await queue.pause(); // keep the overdue jobs delayed/waiting instead of running them during the check
    try {
      await query(gw, `DELETE FROM accounts`);
      await queue.drain(true);
      // Expired long ago (the gateway was down), except the access token itself: overdue by the due rule.
      const exp = new Date(Date.now() + 200_000); // due (lead 300 s) 100 s ago
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const a = fake.addAccount({ accessTtlSeconds: 3600 });
        ids.push(await seedAccount(gw, { ...a, accessTokenExpiresAt: exp }));
      }
      const t0 = Date.now();
      await gw.get(RefreshScheduler).sweep();
      // The first one runs at once (a waiting job); the other nine follow, spread, instead of ten at once.
      const times = await runTimes(ids);
      spreadOk(times, t0 - 1000);
    } finally {
      await queue.resume();
    }
  });
});
