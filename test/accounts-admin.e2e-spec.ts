import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './support/redis.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey } from './support/auth.js';

/**
 * The admin account API and the login failures that never reach the issuer (the issuer URL points nowhere here):
 * guard, import, list, get, patch, delete, PKCE start and the refused callbacks. Flows that talk to the issuer are
 * in auth.e2e-spec.ts (fake upstream).
 */
function jwt(payload: Record<string, unknown>): string {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'none', typ: 'JWT' })}.${b(payload)}.${randomBytes(8).toString('base64url')}`;
}

function authJsonFor(accountId: string, email: string) {
  const auth = {
    chatgpt_account_id: accountId,
    chatgpt_user_id: `user-${accountId}`,
    chatgpt_plan_type: 'team',
  };
  return {
    auth_mode: 'chatgpt',
    OPENAI_API_KEY: null,
    tokens: {
      id_token: jwt({ email, 'https://api.openai.com/auth': auth }),
      access_token: jwt({ exp: Math.floor(Date.now() / 1000) + 7200, 'https://api.openai.com/auth': auth }),
      refresh_token: `rt_${randomBytes(16).toString('hex')}`,
      account_id: accountId,
    },
    last_refresh: new Date().toISOString(),
  };
}

async function query<T = any>(gw: TestGateway, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: gw.db.url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

describe('accounts admin API', () => {
  let gw: TestGateway;
  let admin: string;
  const api = async (method: string, path: string, body?: unknown, key: string | null = admin) => {
    const r = await fetch(`${gw.url}/admin/api/accounts${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null, text };
  };
  const count = async () => Number((await query(gw, 'SELECT count(*)::int AS n FROM accounts'))[0].n);

  beforeAll(async () => {
    gw = await startGateway();
    admin = (await createAdminKey(gw)).key;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('is admin-only', async () => {
    expect((await api('GET', '', undefined, null)).status).toBe(401);
    const member = await createKey(gw, { role: 'member' });
    expect((await api('GET', '', undefined, member.key)).status).toBe(403);
    expect((await api('POST', '/oauth/start', undefined, member.key)).status).toBe(403);
    expect((await api('GET', '')).status).toBe(200);
  });

  it('imports an auth.json (twice → same row), lists, gets, patches and deletes; never shows a token', async () => {
    const file = authJsonFor('acct-imp', 'imp@example.com');
    const bad = await api('POST', '/import', { tokens: { id_token: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_auth_json');
    const imp = await api('POST', '/import', file);
    expect(imp.status).toBe(200);
    expect(imp.body).toMatchObject({
      created: true,
      account: { email: 'imp@example.com', planType: 'team', chatgptAccountId: 'acct-imp', status: 'active' },
    });
    const id = imp.body.account.id;
    const again = await api('POST', '/import', {
      authJson: JSON.stringify(authJsonFor('acct-imp', 'imp@example.com')),
      label: 'renamed',
    });
    expect(again.body).toMatchObject({ created: false, account: { id, label: 'renamed' } });

    const list = await api('GET', '');
    expect(list.body.object).toBe('list');
    expect(list.body.data.find((x: { id: string }) => x.id === id)).toMatchObject({
      status: 'active',
      accessTokenExpiresAt: expect.any(String),
      lastRefreshAt: expect.any(String),
      lastError: null,
      cooldownUntil: null,
      usageSnapshot: null,
      today: { requests: 0, tokens: 0 },
    });
    for (const secret of [file.tokens.access_token, file.tokens.refresh_token, file.tokens.id_token]) {
      expect(list.text + imp.text).not.toContain(secret);
    }
    expect(JSON.stringify(await query(gw, 'SELECT * FROM accounts'))).not.toContain(
      file.tokens.refresh_token,
    );

    const p = await api('PATCH', `/${id}`, { label: 'main', priority: 5, weight: 3, enabled: false });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ label: 'main', priority: 5, weight: 3, enabled: false });
    expect((await api('PATCH', `/${id}`, { bogus: 1 })).status).toBe(400);
    expect((await api('PATCH', `/${id}`, { weight: -1 })).status).toBe(400);
    expect((await api('GET', '/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await api('GET', '/not-a-uuid')).status).toBe(404);

    const del = await api('DELETE', `/${id}?revoke=false`);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ deleted: true, revoked: false });
    expect((await api('GET', `/${id}`)).status).toBe(404);
    const audit = await query(
      gw,
      `SELECT action, "actorType", "actorId" FROM audit_logs WHERE "targetId" = $1 ORDER BY id`,
      [id],
    );
    expect(audit.map((x) => x.action)).toEqual([
      'account.login',
      'account.relogin',
      'account.updated',
      'account.deleted',
    ]);
    // The calls were made with an admin-scoped key: audited as that key (as the keys and users services do).
    expect(audit.every((x) => x.actorType === 'key' && x.actorId)).toBe(true);
  });

  it('PKCE start and the callbacks refused before any token call: wrong state, error=, bad URL, unknown, replay after failure', async () => {
    const n = await count();
    const start = await api('POST', '/oauth/start');
    expect(start.status).toBe(200);
    expect(start.body).toEqual({
      loginId: expect.any(String),
      authorizeUrl: expect.stringContaining(
        '/oauth/authorize?response_type=code&client_id=app_EMoamEEZ73f0CkXaXp7hrann',
      ),
      redirectUri: 'http://127.0.0.1:1455/auth/callback',
      expiresAt: expect.any(String),
    });
    const u = new URL(start.body.authorizeUrl);
    expect(u.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(start.text).not.toMatch(/verifier/i);
    const state = u.searchParams.get('state')!;
    const loginId = start.body.loginId;
    // The pending login's secrets (state, verifier) are sealed in Redis, not in clear.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const raw = await redis.get(`${gw.config.REDIS_KEY_PREFIX}login:${start.body.loginId}`);
      expect(raw).toBeTruthy();
      expect(raw).not.toContain(state);
    } finally {
      redis.disconnect();
    }
    expect((await api('GET', `/logins/${loginId}`)).body).toMatchObject({
      kind: 'pkce',
      status: 'pending',
      accountId: null,
    });

    const wrong = await api('POST', '/oauth/complete', {
      loginId,
      callbackUrl: `http://127.0.0.1:1455/auth/callback?code=c&state=${'x'.repeat(43)}`,
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('state_mismatch');

    const badUrl = await api('POST', '/oauth/complete', {
      loginId,
      callbackUrl: `https://evil.example/auth/callback?code=c&state=${state}`,
    });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error.code).toBe('invalid_callback_url');

    const missing = await api('POST', '/oauth/complete', { loginId });
    expect(missing.status).toBe(400);

    const unknown = await api('POST', '/oauth/complete', {
      loginId: '00000000-0000-4000-8000-000000000000',
      callbackUrl: `http://127.0.0.1:1455/auth/callback?code=c&state=${state}`,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('login_not_found');

    // Still pending after the refused attempts; then the user cancels (error= callback).
    expect((await api('GET', `/logins/${loginId}`)).body.status).toBe('pending');
    const denied = await api('POST', '/oauth/complete', {
      loginId,
      callbackUrl: `http://localhost:1455/auth/callback?error=access_denied&error_description=User+cancelled&state=${state}`,
    });
    expect(denied.status).toBe(400);
    expect(denied.body.error.code).toBe('oauth_error');
    expect(denied.body.error.message).toContain('access_denied');
    expect((await api('GET', `/logins/${loginId}`)).body).toMatchObject({
      status: 'failed',
      error: { code: 'oauth_error' },
    });

    const replay = await api('POST', '/oauth/complete', {
      loginId,
      callbackUrl: `http://127.0.0.1:1455/auth/callback?code=c&state=${state}`,
    });
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('login_already_used');
    expect(await count()).toBe(n);
  });

  it('refuses an expired login with 410 and reports it expired', async () => {
    const short = await startGateway({ shareWith: gw, env: { LOGIN_TTL_SECONDS: '1' } });
    try {
      const r = await fetch(`${short.url}/admin/api/accounts/oauth/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}` },
      });
      const s = (await r.json()) as { loginId: string; authorizeUrl: string };
      const state = new URL(s.authorizeUrl).searchParams.get('state');
      await new Promise((res) => setTimeout(res, 1300));
      const expired = await api('POST', '/oauth/complete', {
        loginId: s.loginId,
        callbackUrl: `http://127.0.0.1:1455/auth/callback?code=c&state=${state}`,
      });
      expect(expired.status).toBe(410);
      expect(expired.body.error.code).toBe('login_expired');
      expect((await api('GET', `/logins/${s.loginId}`)).body.status).toBe('expired');
    } finally {
      await short.close();
    }
  });

  it('documents the routes in OpenAPI', async () => {
    const doc = (await fetch(`${gw.url}/admin/api/openapi.json`).then((r) => r.json())) as {
      paths: Record<string, unknown>;
    };
    for (const p of [
      '/admin/api/accounts',
      '/admin/api/accounts/{id}',
      '/admin/api/accounts/{id}/refresh',
      '/admin/api/accounts/oauth/start',
      '/admin/api/accounts/oauth/complete',
      '/admin/api/accounts/device/start',
      '/admin/api/accounts/logins/{loginId}',
      '/admin/api/accounts/import',
    ]) {
      expect(doc.paths[p]).toBeDefined();
    }
  });
});
