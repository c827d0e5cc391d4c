import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { call, dbQuery as q, signIn } from './support/http.js';
import { createAdminKey, createUser } from './support/auth.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { CookieJar, ssoSignIn, TestIdp } from './support/oidc-idp.js';
import { TEST_REDIS_URL } from './support/redis.js';

const CLIENT = { clientId: 'codex-gateway', clientSecret: 'idp-client-secret-1' };
/** A gateway with SSO against a real OpenID Provider started here. */
async function startWithIdp(): Promise<{ idp: TestIdp; gw: TestGateway }> {
  const idp = await TestIdp.start();
  const gw = await startGateway({
    env: {
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: CLIENT.clientId,
      OIDC_CLIENT_SECRET: CLIENT.clientSecret,
      OIDC_SCOPES: 'openid email profile groups',
      OIDC_ADMIN_GROUPS: 'gw-admins',
      SSO_REAUTH_MAX_AGE_SECONDS: '60',
    },
  });
  await idp.register({ ...CLIENT, redirectUri: `${gw.url}/admin/api/auth/oidc/callback` });
  return { idp, gw };
}
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;
const cookieOf = (h: Headers) =>
  h
    .getSetCookie()
    .find((c) => c.startsWith('cg_session='))
    ?.split(';')[0];

describe('invite links', () => {
  let idp: TestIdp;
  let gw: TestGateway;
  let admin: Awaited<ReturnType<typeof signIn>>;
  const asAdmin = (method: string, path: string, body?: unknown) =>
    call(gw, method, path, { cookie: admin.cookie, headers: { origin: admin.origin }, body });
  const anon = (path: string, body: unknown, origin = gw.url) =>
    call(gw, 'POST', path, { body, headers: { origin } });
  const invite = async (userId: string, body?: unknown) => {
    const r = await asAdmin('POST', `/admin/api/users/${userId}/invite`, body);
    expect(r.status).toBe(201);
    return r.body as { id: string; url: string; expiresAt: string; replaced: boolean };
  };

  beforeAll(async () => {
    ({ idp, gw } = await startWithIdp());
    admin = await signIn(gw, { role: 'admin' });
  });
  afterAll(() => Promise.all([gw?.close(), idp?.close()]));

  it('an admin gets a one-time link (shown once, expiring in 7 days, stored only as its SHA-256, audited)', async () => {
    const created = await asAdmin('POST', '/admin/api/users', { email: 'ivy@example.test', name: 'Ivy' });
    expect(created.status).toBe(201);
    const before = Date.now();
    const inv = await invite(created.body.id);
    expect(inv.url).toMatch(new RegExp(`^${gw.url}/admin/invite\\?token=cginv_[A-Za-z0-9_-]{43}$`));
    expect(Date.parse(inv.expiresAt) - before).toBeGreaterThan(7 * 86400_000 - 60_000);
    expect(Date.parse(inv.expiresAt) - before).toBeLessThan(7 * 86400_000 + 60_000);
    const token = tokenOf(inv.url);
    const rows = await q(gw, `SELECT * FROM invites WHERE "userId" = $1`, [created.body.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].hash).toBe(sha256(token));
    expect(JSON.stringify(rows)).not.toContain(token);
    const status = await asAdmin('GET', `/admin/api/users/${created.body.id}/invite`);
    expect(status.body.invite).toMatchObject({ id: inv.id, state: 'open', usedAt: null });
    expect(JSON.stringify(status.body)).not.toContain(token);
    const [audit] = await q(
      gw,
      `SELECT * FROM audit_logs WHERE action = 'invite.create' AND "targetId" = $1`,
      [created.body.id],
    );
    expect(audit.actorId).toBe(admin.userId);
    expect(JSON.stringify(audit.details)).not.toContain(token);
  });

  it('the invited person sets a password through it, is signed in, and the link is then used up (410)', async () => {
    const u = await createUser(gw, { email: 'jo@example.test', name: 'Jo' });
    const token = tokenOf((await invite(u.id)).url);
    const info = await anon('/admin/api/invites/inspect', { token });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({
      email: 'jo@example.test',
      name: 'Jo',
      role: 'member',
      canSetPassword: true,
    });
    expect(info.body.sso).toEqual({ label: 'Sign in with SSO' });

    const short = await anon('/admin/api/invites/accept', { token, password: 'short' });
    expect(short.status).toBe(400);
    const crossSite = await anon(
      '/admin/api/invites/accept',
      { token, password: 'jo-password-1' },
      'https://evil.test',
    );
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.code).toBe('csrf_origin_mismatch');

    const ok = await anon('/admin/api/invites/accept', { token, password: 'jo-password-1' });
    expect(ok.status).toBe(200);
    expect(ok.body.user).toMatchObject({ id: u.id, hasPassword: true });
    const cookie = cookieOf(ok.headers)!;
    const me = await call(gw, 'GET', '/admin/api/auth/me', { cookie });
    expect(me.body.user.email).toBe('jo@example.test');
    const login = await anon('/admin/api/auth/login', {
      email: 'jo@example.test',
      password: 'jo-password-1',
    });
    expect(login.status).toBe(200);

    for (const [path, body] of [
      ['/admin/api/invites/accept', { token, password: 'another-password-2' }],
      ['/admin/api/invites/inspect', { token }],
    ] as const) {
      const again = await anon(path, body);
      expect([again.status, again.body.error.code]).toEqual([410, 'invite_used']);
    }
    const status = await asAdmin('GET', `/admin/api/users/${u.id}/invite`);
    expect(status.body.invite).toMatchObject({ state: 'used', usedVia: 'password' });
    expect(
      await q(gw, `SELECT 1 FROM audit_logs WHERE action = 'invite.accept' AND "targetId" = $1`, [u.id]),
    ).toHaveLength(1);
  });

  it('two parallel uses of one link: exactly one wins', async () => {
    const u = await createUser(gw);
    const token = tokenOf((await invite(u.id)).url);
    const results = await Promise.all(
      [1, 2, 3].map((i) => anon('/admin/api/invites/accept', { token, password: `parallel-pass-${i}` })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 410, 410]);
  });

  it('expired, reissued (previous revoked), revoked and unknown links each get their own answer', async () => {
    const u = await createUser(gw);
    const first = tokenOf((await invite(u.id)).url);
    await q(gw, `UPDATE invites SET "expiresAt" = now() - interval '1 second' WHERE hash = $1`, [
      sha256(first),
    ]);
    const expired = await anon('/admin/api/invites/inspect', { token: first });
    expect([expired.status, expired.body.error.code]).toEqual([410, 'invite_expired']);
    expect(
      (await anon('/admin/api/invites/accept', { token: first, password: 'too-late-pass' })).status,
    ).toBe(410);

    const second = await invite(u.id);
    const third = await invite(u.id);
    expect(third.replaced).toBe(true);
    const revoked = await anon('/admin/api/invites/inspect', { token: tokenOf(second.url) });
    expect([revoked.status, revoked.body.error.code]).toEqual([410, 'invite_revoked']);
    expect((await anon('/admin/api/invites/inspect', { token: tokenOf(third.url) })).status).toBe(200);

    expect((await asAdmin('DELETE', `/admin/api/users/${u.id}/invite`)).status).toBe(200);
    const withdrawn = await anon('/admin/api/invites/inspect', { token: tokenOf(third.url) });
    expect(withdrawn.body.error.code).toBe('invite_revoked');
    expect((await asAdmin('DELETE', `/admin/api/users/${u.id}/invite`)).status).toBe(404);
    const actions = await q(gw, `SELECT action FROM audit_logs WHERE "targetId" = $1 ORDER BY id`, [u.id]);
    expect(actions.map((a) => a.action)).toEqual([
      'invite.create',
      'invite.reissue',
      'invite.reissue',
      'invite.revoke',
    ]);

    for (const token of ['cginv_' + 'A'.repeat(43), 'not-a-token']) {
      const bad = await anon('/admin/api/invites/inspect', { token });
      expect([bad.status, bad.body.error.code]).toEqual([404, 'invite_invalid']);
    }
  });

  it('only admins issue invites; inviting to an admin account needs a session and currentPassword', async () => {
    const member = await signIn(gw);
    const target = await createUser(gw);
    const byMember = await call(gw, 'POST', `/admin/api/users/${target.id}/invite`, {
      cookie: member.cookie,
      headers: { origin: member.origin },
    });
    expect(byMember.status).toBe(403);
    const otherAdmin = await createUser(gw, { role: 'admin' });
    const key = await createAdminKey(gw);
    const byKey = await call(gw, 'POST', `/admin/api/users/${otherAdmin.id}/invite`, { key: key.key });
    expect([byKey.status, byKey.body.error.code]).toEqual([403, 'session_required']);
    const noPassword = await asAdmin('POST', `/admin/api/users/${otherAdmin.id}/invite`);
    expect([noPassword.status, noPassword.body.error.code]).toEqual([400, 'current_password_required']);
    await invite(otherAdmin.id, { currentPassword: admin.password });
    const disabled = await createUser(gw, { disabled: true });
    expect((await asAdmin('POST', `/admin/api/users/${disabled.id}/invite`)).status).toBe(409);
  });

  it('SSO through an invite: the IdP email must be the invited one; a match uses the invite up', async () => {
    const u = await createUser(gw, { email: 'kim@example.test' });
    const token = tokenOf((await invite(u.id)).url);
    const startSso = async () => {
      const jar = new CookieJar();
      const r = await fetch(`${gw.url}/admin/api/invites/sso`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: gw.url },
        body: JSON.stringify({ token }),
      });
      expect(r.status).toBe(200);
      jar.take(r.headers);
      const startAt = new URL(((await r.json()) as { url: string }).url);
      // The IdP is asked to sign the person in again, so a wrong account can be swapped for the invited one.
      expect(startAt.searchParams.get('prompt')).toBe('login');
      return { jar, startAt };
    };
    idp.people.set('lee', { email: 'lee@example.test', email_verified: true });
    idp.signInAs = 'lee';
    const wrong = await ssoSignIn(gw.url, await startSso());
    expect(wrong.landing.href).toBe(`${gw.url}/admin/invite?sso_error=sso_invite_email_mismatch`);
    expect(wrong.jar.get('cg_session')).toBeUndefined();
    expect(await q(gw, `SELECT 1 FROM users WHERE email = 'lee@example.test'`)).toEqual([]);
    expect((await anon('/admin/api/invites/inspect', { token })).status).toBe(200);

    idp.people.set('kim', { email: 'Kim@example.test', email_verified: true });
    idp.signInAs = 'kim';
    const right = await ssoSignIn(gw.url, await startSso());
    expect(right.landing.href).toBe(`${gw.url}/admin/`);
    const me = await call(gw, 'GET', '/admin/api/auth/me', {
      cookie: `cg_session=${right.jar.get('cg_session')}`,
    });
    expect(me.body.user.id).toBe(u.id);
    const used = await anon('/admin/api/invites/inspect', { token });
    expect(used.body.error.code).toBe('invite_used');
    const status = await asAdmin('GET', `/admin/api/users/${u.id}/invite`);
    expect(status.body.invite.usedVia).toBe('oidc');
  });

  it('invite tokens never reach the logs', async () => {
    const u = await createUser(gw);
    const token = tokenOf((await invite(u.id)).url);
    await anon('/admin/api/invites/inspect', { token });
    expect(gw.logs.text).not.toContain(token);
  });
});

describe('a fresh SSO sign-in stands in for currentPassword', () => {
  let idp: TestIdp;
  let gw: TestGateway;
  beforeAll(async () => {
    ({ idp, gw } = await startWithIdp());
    idp.people.set('sso-admin', {
      email: 'sso-admin@example.test',
      email_verified: true,
      groups: ['gw-admins'],
    });
    idp.signInAs = 'sso-admin';
  });
  afterAll(() => Promise.all([gw?.close(), idp?.close()]));

  /** Makes a session look `ageSeconds` old (its record in Redis is keyed by the cookie's SHA-256). */
  async function age(sid: string, ageSeconds: number) {
    const r = new Redis(TEST_REDIS_URL);
    try {
      const key = `${gw.config.REDIS_KEY_PREFIX}session:${sha256(sid)}`;
      const s = JSON.parse((await r.get(key))!);
      s.createdAt -= ageSeconds * 1000;
      await r.set(key, JSON.stringify(s), 'KEEPTTL');
    } finally {
      r.disconnect();
    }
  }

  it('an SSO-only admin removes another admin right after signing in; later they are sent through the IdP again', async () => {
    const run = await ssoSignIn(gw.url);
    const sid = run.jar.get('cg_session')!;
    const as = (method: string, path: string, cookieSid = sid) =>
      call(gw, method, path, { cookie: `cg_session=${cookieSid}`, headers: { origin: gw.url } });
    const a1 = await createUser(gw, { role: 'admin' });
    const fresh = await as('DELETE', `/admin/api/users/${a1.id}`);
    expect(fresh.status).toBe(200);
    const [audit] = await q(gw, `SELECT details FROM audit_logs WHERE action = 'auth.reauth_sso'`);
    expect(audit.details).toEqual({ for: 'delete an admin' });

    await age(sid, 120);
    const a2 = await createUser(gw, { role: 'admin' });
    const stale = await as('DELETE', `/admin/api/users/${a2.id}`);
    expect([stale.status, stale.body.error.code]).toEqual([403, 'fresh_sso_required']);
    expect(await q(gw, `SELECT 1 FROM users WHERE id = $1`, [a2.id])).toHaveLength(1);

    let authorize: URL | null = null;
    const again = await ssoSignIn(gw.url, {
      jar: run.jar,
      startAt: new URL(`${gw.url}/admin/api/auth/oidc/start?reauth=1&return=/users`),
      editAuthorize: (u) => (authorize = u),
    });
    expect(authorize!.searchParams.get('prompt')).toBe('login');
    expect(authorize!.searchParams.get('max_age')).toBe('60');
    expect(again.landing.href).toBe(`${gw.url}/admin/users`);
    const retried = await as('DELETE', `/admin/api/users/${a2.id}`, again.jar.get('cg_session'));
    expect(retried.status).toBe(200);
  });

  it('the return path cannot leave the web admin', async () => {
    for (const evil of ['//evil.test/x', 'https://evil.test', '/\\evil.test']) {
      const run = await ssoSignIn(gw.url, {
        startAt: new URL(`${gw.url}/admin/api/auth/oidc/start?return=${encodeURIComponent(evil)}`),
      });
      expect(run.landing.href).toBe(`${gw.url}/admin/`);
    }
  });

  it('a password session is not an SSO sign-in: a password admin still needs currentPassword', async () => {
    const admin = await signIn(gw, { role: 'admin' });
    const other = await createUser(gw, { role: 'admin' });
    const r = await call(gw, 'DELETE', `/admin/api/users/${other.id}`, {
      cookie: admin.cookie,
      headers: { origin: admin.origin },
    });
    expect([r.status, r.body.error.code]).toEqual([400, 'current_password_required']);
  });
});

describe('invites under LOCAL_SIGNIN=admins', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { LOCAL_SIGNIN: 'admins' } });
  });
  afterAll(() => gw?.close());

  it("a member's invite cannot set a password where members must use SSO; the invite stays open", async () => {
    const admin = await signIn(gw, { role: 'admin' });
    const u = await createUser(gw);
    const r = await call(gw, 'POST', `/admin/api/users/${u.id}/invite`, {
      cookie: admin.cookie,
      headers: { origin: admin.origin },
    });
    const token = tokenOf(r.body.url);
    const origin = { origin: gw.url };
    const info = await call(gw, 'POST', '/admin/api/invites/inspect', { body: { token }, headers: origin });
    expect(info.body).toMatchObject({ canSetPassword: false, sso: null });
    const accept = await call(gw, 'POST', '/admin/api/invites/accept', {
      body: { token, password: 'member-password-1' },
      headers: origin,
    });
    expect([accept.status, accept.body.error.code]).toEqual([403, 'local_signin_disabled']);
    const sso = await call(gw, 'POST', '/admin/api/invites/sso', { body: { token }, headers: origin });
    expect([sso.status, sso.body.error.code]).toEqual([404, 'sso_not_configured']);
    expect(
      (await call(gw, 'POST', '/admin/api/invites/inspect', { body: { token }, headers: origin })).status,
    ).toBe(200);
  });
});
