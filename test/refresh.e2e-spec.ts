import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { eventually, query } from './support/wait.js';
import { seedAccount } from './support/accounts.js';
import { AccountSource } from '../src/accounts/account-source.js';
import { AccountRefreshError } from '../src/accounts/account-errors.js';
import { CredentialsCipher } from '../src/accounts/credentials.js';
import { TokenRefreshService } from '../src/accounts/token-refresh.service.js';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './support/redis.js';

/** Token refresh: single flight across two instances, the worker's proactive refresh, permanent and transient failures. */
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

describe('refresh: single flight across instances', () => {
  let fake: FakeUpstream;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    const env = {
      OPENAI_AUTH_ISSUER: fake.url,
      CODEX_BASE_URL: fake.codexBaseUrl,
      CODEX_USER_AGENT: 'codex_exec/0.169.0 (Test 1; x86_64) xterm',
    };
    a = await startGateway({ env });
    b = await startGateway({ env, shareWith: a });
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
    const sources = [a.app.get(AccountSource), b.app.get(AccountSource)];
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
    const src = a.app.get(AccountSource);
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
      async () => !(await b.app.get(AccountSource).listRoutable()).some((x) => x.id === id),
      'B to drop it',
    );
    // No second use of the spent refresh token.
    await expect(src.refreshAfterUnauthorized(id, acct.accessToken)).rejects.toMatchObject({
      permanent: true,
    });
  });
});

describe('refresh: the worker', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    // Lead 358 s: an account whose token expires in 6 minutes is due 2 s after it is seen. Sweep every second so
    // seeded rows (written behind the gateway's back) get their job without any request.
    gw = await startGateway({
      env: {
        OPENAI_AUTH_ISSUER: fake.url,
        CODEX_BASE_URL: fake.codexBaseUrl,
        REFRESH_LEAD_SECONDS: '358',
        ACCOUNT_SWEEP_SECONDS: '1',
        REFRESH_RETRY_BASE_MS: '200',
      },
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
    const src = gw.app.get(AccountSource);
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
    const creds = await gw.app.get(AccountSource).getCredentials(id);
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
  let fake: FakeUpstream;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  // Found by the deploy dashboards check under a refresh storm: process B read refresh #1's pending set from Redis,
  // process A then stored refresh #2, and B's write put #1's spent refresh token back in the row — the next
  // refresh was refused as refresh_token_reused and the account needed a new login.
  it('an older pending set (Redis) loses to a newer row; the row keeps the current refresh token', async () => {
    const acct = fake.addAccount({ accessTtlSeconds: 3600 });
    const id = await seedAccount(gw, { ...acct, accessTokenExpiresAt: acct.accessExpiresAt });
    const src = gw.app.get(AccountSource);
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
    const cipher = gw.app.get(CredentialsCipher);
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
      const loaded = await gw.app.get(TokenRefreshService).load(id);
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
