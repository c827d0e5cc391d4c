import { dbQuery } from './support/http.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { CookieJar, ssoSignIn, TestIdp } from './support/oidc-idp.js';

const ADMIN_EMAIL = 'root@example.test';
const ADMIN_PASSWORD = 'first-admin-pass-1';
const CLIENT = { clientId: 'codex-gateway', clientSecret: 'idp-client-secret-1' };

const q = dbQuery;

async function me(gw: TestGateway, jar: CookieJar) {
  const r = await fetch(`${gw.url}/admin/api/auth/me`, {
    headers: { cookie: `cg_session=${jar.get('cg_session')}` },
  });
  return { status: r.status, body: (await r.json()) as any };
}

async function localLogin(gw: TestGateway, email: string, password: string) {
  const r = await fetch(`${gw.url}/admin/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ email, password }),
  });
  return { status: r.status, body: (await r.json()) as any, cookie: r.headers.get('set-cookie') ?? '' };
}

async function startWith(idp: TestIdp, env: Record<string, string>): Promise<TestGateway> {
  const gw = await startGateway({
    env: {
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: CLIENT.clientId,
      OIDC_CLIENT_SECRET: CLIENT.clientSecret,
      OIDC_SCOPES: 'openid email profile groups',
      OIDC_ADMIN_GROUPS: 'gw-admins',
      OIDC_LABEL: 'Sign in with Example ID',
      ...env,
    },
  });
  await idp.register({ ...CLIENT, redirectUri: `${gw.url}/admin/api/auth/oidc/callback` });
  return gw;
}

const refusals = (gw: TestGateway) =>
  q(gw, `SELECT details FROM audit_logs WHERE action = 'auth.sso_refused' ORDER BY "createdAt"`);

describe('OIDC single sign-on against a real OpenID Provider', () => {
  let idp: TestIdp;
  let gw: TestGateway;
  beforeAll(async () => {
    idp = await TestIdp.start();
    gw = await startWith(idp, { LOCAL_SIGNIN: 'admins', OIDC_ALLOWED_DOMAINS: 'example.test' });
    idp.people.set('ada', {
      email: 'Ada@example.test',
      email_verified: true,
      name: 'Ada',
      groups: ['gw-admins'],
    });
    idp.people.set('bob', { email: 'bob@example.test', email_verified: true, groups: ['eng'] });
    idp.people.set('eve', { email: 'eve@example.test', email_verified: false, groups: ['gw-admins'] });
    idp.people.set('mal', { email: 'mal@elsewhere.test', email_verified: true, groups: ['gw-admins'] });
    idp.people.set('root', { email: ADMIN_EMAIL, email_verified: true, groups: ['gw-admins'] });
  });
  afterAll(async () => {
    await gw?.close();
    await idp?.close();
  });

  it('tells the sign-in page about the SSO button and the local sign-in mode', async () => {
    const r = await fetch(`${gw.url}/admin/api/auth/methods`);
    expect(await r.json()).toEqual({
      local: 'admins',
      sso: { label: 'Sign in with Example ID', startUrl: '/admin/api/auth/oidc/start' },
    });
  });

  it('first sign-in of someone in an admin group creates an admin (PKCE S256, state, nonce sent)', async () => {
    idp.signInAs = 'ada';
    let authorize: URL | null = null;
    const run = await ssoSignIn(gw.url, { editAuthorize: (u) => (authorize = u) });
    expect(authorize!.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize!.searchParams.get('state')).toBeTruthy();
    expect(authorize!.searchParams.get('nonce')).toBeTruthy();
    expect(authorize!.searchParams.get('redirect_uri')).toBe(`${gw.url}/admin/api/auth/oidc/callback`);
    expect(run.landing.href).toBe(`${gw.url}/admin/`);
    const who = await me(gw, run.jar);
    expect(who.status).toBe(200);
    expect(who.body.user).toMatchObject({ email: 'ada@example.test', name: 'Ada', role: 'admin' });
  });

  it('someone outside the admin groups becomes a member', async () => {
    idp.signInAs = 'bob';
    const run = await ssoSignIn(gw.url);
    expect((await me(gw, run.jar)).body.user).toMatchObject({ email: 'bob@example.test', role: 'member' });
  });

  it('links an existing user by verified email instead of creating a second one', async () => {
    const [before] = await q(gw, `SELECT id FROM users WHERE email = $1`, [ADMIN_EMAIL]);
    idp.signInAs = 'root';
    const run = await ssoSignIn(gw.url);
    expect((await me(gw, run.jar)).body.user.id).toBe(before.id);
    expect(await q(gw, `SELECT id FROM users WHERE email = $1`, [ADMIN_EMAIL])).toHaveLength(1);
  });

  it('refuses an unverified email and a domain outside OIDC_ALLOWED_DOMAINS: message code, audit, no session, no user', async () => {
    for (const [who, code] of [
      ['eve', 'sso_email_unverified'],
      ['mal', 'sso_domain_not_allowed'],
    ]) {
      idp.signInAs = who;
      const run = await ssoSignIn(gw.url);
      expect(run.landing.href).toBe(`${gw.url}/admin/?sso_error=${code}`);
      expect(run.jar.get('cg_session')).toBeUndefined();
      expect((await refusals(gw)).at(-1).details.reason).toBe(code);
    }
    expect(
      await q(gw, `SELECT id FROM users WHERE email IN ('eve@example.test', 'mal@elsewhere.test')`),
    ).toEqual([]);
  });

  it('refuses a tampered state, a tampered nonce, a replayed callback and a callback without a started flow', async () => {
    idp.signInAs = 'bob';
    const tamperedState = await ssoSignIn(gw.url, {
      editCallback: (u) => u.searchParams.set('state', 'attacker-state'),
    });
    expect(tamperedState.landing.search).toBe('?sso_error=sso_state_mismatch');
    expect(tamperedState.jar.get('cg_session')).toBeUndefined();

    const tamperedNonce = await ssoSignIn(gw.url, {
      editAuthorize: (u) => u.searchParams.set('nonce', 'x'.repeat(43)),
    });
    expect(tamperedNonce.landing.search).toBe('?sso_error=sso_nonce_mismatch');
    expect(tamperedNonce.jar.get('cg_session')).toBeUndefined();

    const ok = await ssoSignIn(gw.url);
    expect(ok.jar.get('cg_session')).toBeTruthy();
    // The same browser (its flow cookie restored) replays the IdP's callback URL.
    const replay = await fetch(ok.callbackUrl, {
      redirect: 'manual',
      headers: { cookie: `cg_oidc=${ok.flowCookie}` },
    });
    expect(replay.headers.get('location')).toBe(`${gw.url}/admin/?sso_error=sso_flow_replayed`);
    const noFlow = await fetch(ok.callbackUrl, { redirect: 'manual' });
    expect(noFlow.headers.get('location')).toBe(`${gw.url}/admin/?sso_error=sso_flow_expired`);
    expect(
      noFlow.headers.getSetCookie().some((c) => c.startsWith('cg_session=') && !c.startsWith('cg_session=;')),
    ).toBe(false);

    const reasons = (await refusals(gw)).map((r) => r.details.reason);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'sso_state_mismatch',
        'sso_nonce_mismatch',
        'sso_flow_replayed',
        'sso_flow_expired',
      ]),
    );
  });

  it('the role follows the groups at every sign-in: removed from the admin group → member, admin sessions end', async () => {
    idp.people.set('cy', { email: 'cy@example.test', email_verified: true, groups: ['gw-admins'] });
    idp.signInAs = 'cy';
    const first = await ssoSignIn(gw.url);
    expect((await me(gw, first.jar)).body.user.role).toBe('admin');
    idp.people.set('cy', { email: 'cy@example.test', email_verified: true, groups: ['eng'] });
    const second = await ssoSignIn(gw.url);
    expect((await me(gw, second.jar)).body.user.role).toBe('member');
    expect((await me(gw, first.jar)).status).toBe(401);
    const [row] = await q(gw, `SELECT details FROM audit_logs WHERE action = 'user.role_synced'`);
    expect(row.details).toMatchObject({ from: 'admin', to: 'member', via: 'oidc' });
  });

  it('LOCAL_SIGNIN=admins: admins keep password sign-in (break-glass), members are sent to SSO', async () => {
    expect((await localLogin(gw, ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
    const admin = await localLogin(gw, ADMIN_EMAIL, ADMIN_PASSWORD);
    const cookie = admin.cookie.split(';')[0];
    const created = await fetch(`${gw.url}/admin/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: gw.url, cookie },
      body: JSON.stringify({ email: 'dee@example.test', password: 'member-pass-1234' }),
    });
    expect(created.status).toBe(201);
    const member = await localLogin(gw, 'dee@example.test', 'member-pass-1234');
    expect(member.status).toBe(403);
    expect(member.body.error.code).toBe('local_signin_disabled');
    expect(member.cookie).toBe('');
  });
});

describe('OIDC: LOCAL_SIGNIN=off and an expired flow', () => {
  let idp: TestIdp;
  let gw: TestGateway;
  beforeAll(async () => {
    idp = await TestIdp.start();
    gw = await startWith(idp, { LOCAL_SIGNIN: 'off', OIDC_FLOW_TTL_SECONDS: '1' });
    idp.people.set('ada', { email: 'ada@example.test', email_verified: true, groups: ['gw-admins'] });
  });
  afterAll(async () => {
    await gw?.close();
    await idp?.close();
  });

  it('refuses password sign-in even for the bootstrap admin', async () => {
    const r = await localLogin(gw, ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('local_signin_disabled');
  });

  it('refuses a flow that took longer than OIDC_FLOW_TTL_SECONDS at the IdP', async () => {
    idp.signInAs = 'ada';
    const run = await ssoSignIn(gw.url, {
      editCallback: () => new Promise((r) => setTimeout(r, 1500)),
    });
    expect(run.landing.search).toBe('?sso_error=sso_flow_expired');
    expect(run.jar.get('cg_session')).toBeUndefined();
  });
});
