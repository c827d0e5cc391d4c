import { fakeEnv, useFakeUpstream } from './support/scenario.js';
import { freePort, startGateway, type TestGateway } from './support/gateway.js';
import { eventually, query } from './support/wait.js';
import { createAdminKey } from './support/auth.js';
import type { CliIo } from '../src/accounts/accounts.cli.js';
import { authLogin } from '../src/accounts/login/login.cli.js';

/** Login flows end to end against the fake issuer, every listed failure, and the admin account API. */
describe('auth: login flows and the admin account API', () => {
  const fake = useFakeUpstream({ reset: false });
  let gw: TestGateway;
  let admin: string;
  const api = async (method: string, path: string, body?: unknown, key = admin) => {
    const r = await fetch(`${gw.url}/admin/api/accounts${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null, text };
  };
  const accountCount = async () => Number((await query(gw, 'SELECT count(*)::int AS n FROM accounts'))[0].n);

  beforeAll(async () => {
    gw = await startGateway({ env: fakeEnv(fake) });
    admin = (await createAdminKey(gw)).key;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('browser PKCE: start → authorize → paste callback → stored (no token in clear); same account again updates it', async () => {
    const acct = fake.addAccount({
      email: 'pkce@example.com',
      planType: 'plus',
    });
    const start = await api('POST', '/oauth/start');
    expect(start.status).toBe(200);
    expect(start.body).toEqual({
      loginId: expect.any(String),
      authorizeUrl: expect.any(String),
      redirectUri: 'http://127.0.0.1:1455/auth/callback',
      expiresAt: expect.any(String),
    });
    const u = new URL(start.body.authorizeUrl);
    expect(`${u.origin}${u.pathname}`).toBe(`${fake.url}/oauth/authorize`);
    expect(u.searchParams.get('code_challenge_method')).toBe('S256');
    expect(u.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(start.text).not.toMatch(/verifier/i);

    const callback = await fake.authorize(start.body.authorizeUrl, acct);
    const done = await api('POST', '/oauth/complete', {
      loginId: start.body.loginId,
      callbackUrl: callback,
    });
    expect(done.status).toBe(200);
    expect(done.body.account).toMatchObject({
      email: 'pkce@example.com',
      planType: 'plus',
      chatgptAccountId: acct.chatgptAccountId,
      status: 'active',
    });
    expect(done.body.created).toBe(true);
    expect(done.text).not.toMatch(/eyJ/);

    // The code exchange as the CLI sends it.
    const exchange = fake.requestsTo('/oauth/token').at(-1)!;
    expect(exchange.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(typeof exchange.body === 'string' ? exchange.body : '');
    if (typeof exchange.body === 'string') {
      expect(form.get('grant_type')).toBe('authorization_code');
      expect(form.get('redirect_uri')).toBe('http://127.0.0.1:1455/auth/callback');
      expect(form.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{86}$/);
    }

    const rows = await query(gw, 'SELECT * FROM accounts WHERE id = $1', [done.body.account.id]);
    const dump = JSON.stringify(rows) + Buffer.from(rows[0].credentials).toString('latin1');
    const stored = await fetch(`${gw.url}/admin/api/accounts/${done.body.account.id}`, {
      headers: { authorization: `Bearer ${admin}` },
    }).then((r) => r.text());
    for (const t of [acct.accessToken, acct.refreshToken, acct.idToken]) expect(stored).not.toContain(t);
    expect(dump).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    expect(JSON.stringify(await query(gw, 'SELECT * FROM audit_logs'))).not.toMatch(
      /eyJ[A-Za-z0-9_-]{10,}\./,
    );

    // Status endpoint.
    const st = await api('GET', `/logins/${start.body.loginId}`);
    expect(st.body).toMatchObject({
      status: 'completed',
      accountId: done.body.account.id,
    });

    // Replayed callback → 409, nothing new.
    const n = await accountCount();
    const replay = await api('POST', '/oauth/complete', {
      loginId: start.body.loginId,
      callbackUrl: callback,
    });
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('login_already_used');

    // Same account again (localhost host, older clients) → same row.
    const again = await api('POST', '/oauth/start');
    const cb2 = (await fake.authorize(again.body.authorizeUrl, acct)).replace('127.0.0.1', 'localhost');
    const done2 = await api('POST', '/oauth/complete', {
      loginId: again.body.loginId,
      callbackUrl: cb2,
    });
    expect(done2.status).toBe(200);
    expect(done2.body.created).toBe(false);
    expect(done2.body.account.id).toBe(done.body.account.id);
    expect(await accountCount()).toBe(n);
  });

  it('a code the token endpoint refuses → 400 code_exchange_failed, login failed, nothing stored', async () => {
    const n = await accountCount();
    const s1 = await api('POST', '/oauth/start');
    const state1 = new URL(s1.body.authorizeUrl).searchParams.get('state')!;
    const refused = await api('POST', '/oauth/complete', {
      loginId: s1.body.loginId,
      callbackUrl: `http://127.0.0.1:1455/auth/callback?code=not-a-real-code&state=${state1}`,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('code_exchange_failed');
    expect((await api('GET', `/logins/${s1.body.loginId}`)).body.status).toBe('failed');
    expect(await accountCount()).toBe(n);
  });

  it('device code: start → approve → background poll stores the account; status endpoint reports it', async () => {
    const acct = fake.addAccount({ email: 'device@example.com' });
    const start = await api('POST', '/device/start');
    expect(start.status).toBe(200);
    expect(start.body).toEqual({
      loginId: expect.any(String),
      userCode: expect.any(String),
      verificationUri: `${fake.url}/codex/device`,
      expiresAt: expect.any(String),
      interval: expect.any(Number),
    });
    expect((await api('GET', `/logins/${start.body.loginId}`)).body.status).toBe('pending');
    fake.approveDevice(start.body.userCode, acct);
    await eventually(
      async () => (await api('GET', `/logins/${start.body.loginId}`)).body.status === 'completed',
      'device login',
    );
    const st = await api('GET', `/logins/${start.body.loginId}`);
    const got = await api('GET', `/${st.body.accountId}`);
    expect(got.body).toMatchObject({
      email: 'device@example.com',
      chatgptAccountId: acct.chatgptAccountId,
    });
    const exchange = fake.requestsTo('/oauth/token').at(-1)!;
    if (typeof exchange.body === 'string') {
      expect(new URLSearchParams(exchange.body).get('redirect_uri')).toBe(`${fake.url}/deviceauth/callback`);
    }
  });

  it('imports an auth.json, lists, patches, refreshes now and deletes (revoking) an account', async () => {
    const acct = fake.addAccount({
      email: 'import@example.com',
      accessTtlSeconds: 3600,
    });
    const authJson = {
      auth_mode: 'chatgpt',
      OPENAI_API_KEY: null,
      tokens: {
        id_token: acct.idToken,
        access_token: acct.accessToken,
        refresh_token: acct.refreshToken,
        account_id: acct.chatgptAccountId,
      },
      last_refresh: new Date().toISOString(),
    };
    const bad = await api('POST', '/import', { tokens: { id_token: 'x' } });
    expect(bad.status).toBe(400);
    const imp = await api('POST', '/import', authJson);
    expect(imp.status).toBe(200);
    expect(imp.body.account.email).toBe('import@example.com');
    const id = imp.body.account.id;
    const again = await api('POST', '/import', {
      authJson: JSON.stringify(authJson),
      label: 'renamed',
    });
    expect(again.body).toMatchObject({
      created: false,
      account: { id, label: 'renamed' },
    });

    const list = await api('GET', '');
    expect(list.body.object).toBe('list');
    const item = list.body.data.find((x: { id: string }) => x.id === id);
    expect(item).toMatchObject({
      status: 'active',
      today: { requests: 0, tokens: 0 },
    });
    expect(list.text).not.toContain(acct.refreshToken);

    const p = await api('PATCH', `/${id}`, {
      label: 'main',
      priority: 5,
      weight: 3,
      enabled: false,
    });
    expect(p.body).toMatchObject({
      label: 'main',
      priority: 5,
      weight: 3,
      enabled: false,
    });
    expect((await api('PATCH', `/${id}`, { bogus: 1 })).status).toBe(400);
    expect((await api('GET', '/00000000-0000-4000-8000-000000000000')).status).toBe(404);

    const before = fake.refreshCount(acct.chatgptAccountId);
    const r = await api('POST', `/${id}/refresh`);
    expect(r.status).toBe(200);
    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(before + 1);
    expect(r.body.lastRefreshAt).not.toBeNull();

    const del = await api('DELETE', `/${id}`);
    expect(del.status).toBe(200);
    expect(del.body.deleted).toBe(true);
    // Revocation as `codex logout` sends it (docs/upstream-protocol.md §1): JSON, CLI headers; the refresh token is really revoked.
    const revoke = fake.requestsTo('/oauth/revoke').at(-1)!;
    expect(
      revoke.rawHeaderNames
        .map((h) => h.toLowerCase())
        .filter((h) => !/^(host|content-length|connection)$/.test(h)),
    ).toEqual(['content-type', 'originator', 'user-agent', 'accept']);
    expect(revoke.headers).toMatchObject({
      'content-type': 'application/json',
      originator: 'codex_cli_rs',
      'user-agent': 'codex_cli_rs/0.169.0 (Debian 12.0.0; x86_64) xterm',
      accept: '*/*',
    });
    expect(Object.keys(revoke.body)).toEqual(['token', 'token_type_hint', 'client_id']);
    expect(revoke.body).toMatchObject({
      token_type_hint: 'refresh_token',
      client_id: 'app_EMoamEEZ73f0CkXaXp7hrann',
    });
    expect(fake.isRevoked(revoke.body.token)).toBe(true);
    expect(del.body.revoked).toBe(true);
    expect((await api('GET', `/${id}`)).status).toBe(404);
    const audit = await query(gw, `SELECT action FROM audit_logs WHERE "targetId" = $1 ORDER BY id`, [id]);
    expect(audit.map((x) => x.action)).toEqual(
      expect.arrayContaining(['account.login', 'account.relogin', 'account.updated', 'account.deleted']),
    );
  });

  it('CLI `auth login`: local callback server, prints the URL, stores the account', async () => {
    const acct = fake.addAccount({ email: 'cli@example.com' });
    let printed = '';
    let resolveUrl: (u: string) => void;
    const urlSeen = new Promise<string>((r) => (resolveUrl = r));
    const io: CliIo = {
      out: (t) => {
        printed += t;
        const m = printed.match(/(http\S+\/oauth\/authorize\?\S+)/);
        if (m) resolveUrl(m[1]);
      },
      err: (t) => void (printed += t),
      openBrowser: () => {},
    };
    const port = await freePort(); // a random port could be taken (EADDRINUSE left the CLI waiting)
    const run = authLogin(gw.config, ['--port', String(port), '--no-browser'], io);
    const url = await urlSeen;
    const cb = (await fake.authorize(url, acct)).replace('127.0.0.1:1455', `127.0.0.1:${port}`);
    const page = await fetch(cb);
    expect(page.status).toBe(200);
    expect(await run).toBe(0);
    expect(printed).toContain('Logged in: cli@example.com');
    const rows = await query(gw, `SELECT id FROM accounts WHERE email = 'cli@example.com'`);
    expect(rows).toHaveLength(1);
  });
});
