import { fakeEnv, useFakeUpstream } from './support/scenario.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { call, isEnvelope, signIn } from './support/http.js';
import { eventually } from './support/wait.js';

/**
 * Issue 11, the rest of items 4 and 11 against the real gateway: admin-set per-user limits shared by all of a
 * user's keys; sensitive user changes need a signed-in session and the acting admin's password; password
 * changes end the user's other sessions and can revoke the user's keys; pending OAuth logins belong to the
 * admin who started them.
 */
describe('security: user limits and admin re-authentication', () => {
  const fake = useFakeUpstream();
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: fakeEnv(fake) });
    const a = fake.addAccount();
    await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  });
  afterAll(() => gw.close());

  const ask = (key: string) =>
    call(gw, 'POST', '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } });
  const sess = (s: { cookie: string; origin: string }, method: string, path: string, body?: unknown) =>
    call(gw, method, path, { cookie: s.cookie, body, headers: { origin: s.origin } });

  describe('item 4: admin-set per-user limits shared by all of a user key', () => {
    it('PATCH /admin/api/users/:id sets and clears limits (validated), GET shows them', async () => {
      const admin = await createAdminKey(gw);
      const { userId } = await createKey(gw);
      const set = await call(gw, 'PATCH', `/admin/api/users/${userId}`, {
        key: admin.key,
        body: { rpm: 10, tpm: 2000, dailyTokenQuota: 100_000, monthlyTokenQuota: 3_000_000 },
      });
      expect(set.status).toBe(200);
      expect(set.body.limits).toEqual({
        rpm: 10,
        tpm: 2000,
        dailyTokenQuota: 100_000,
        monthlyTokenQuota: 3_000_000,
        monthlyBudgetUsd: null,
      });
      const listed = await call(gw, 'GET', '/admin/api/users', { key: admin.key });
      expect(listed.body.data.find((u: any) => u.id === userId).limits.rpm).toBe(10);
      for (const body of [
        { rpm: 2 ** 31 },
        { tpm: -1 },
        { rpm: 0 },
        { rpm: 1.5 },
        { tpm: '100' },
        { dailyTokenQuota: 2 ** 63 },
      ]) {
        const r = await call(gw, 'PATCH', `/admin/api/users/${userId}`, { key: admin.key, body });
        expect(`${JSON.stringify(body)} ${r.status}`).toBe(`${JSON.stringify(body)} 400`);
        expect(isEnvelope(r.body)).toBe(true);
      }
      const cleared = await call(gw, 'PATCH', `/admin/api/users/${userId}`, {
        key: admin.key,
        body: { rpm: null, dailyTokenQuota: null },
      });
      expect(cleared.status).toBe(200);
      expect(cleared.body.limits).toEqual({
        rpm: null,
        tpm: 2000,
        dailyTokenQuota: null,
        monthlyTokenQuota: 3_000_000,
        monthlyBudgetUsd: null,
      });
    });

    it('user RPM is shared by the user keys and an admin change applies at once (warm key cache)', async () => {
      const admin = await createAdminKey(gw);
      const k1 = await createKey(gw);
      const k2 = await createKey(gw, { userId: k1.userId });
      fake.respondWith({ text: 'ok', usage: { input_tokens: 5, output_tokens: 5 } }, 10);
      // Both keys are in the key cache before the admin sets the user's limit.
      expect((await ask(k1.key)).status).toBe(200);
      expect((await ask(k2.key)).status).toBe(200);
      const set = await call(gw, 'PATCH', `/admin/api/users/${k1.userId}`, {
        key: admin.key,
        body: { rpm: 1 },
      });
      expect(set.status).toBe(200);
      expect((await ask(k1.key)).status).toBe(200);
      const refused = await ask(k2.key);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limit_exceeded');
      expect(refused.body.error.message).toContain("this key's user");
      // Another user's keys are not affected.
      expect((await ask((await createKey(gw)).key)).status).toBe(200);
      // Clearing the limit applies at once too.
      await call(gw, 'PATCH', `/admin/api/users/${k1.userId}`, { key: admin.key, body: { rpm: null } });
      expect((await ask(k2.key)).status).toBe(200);
    });

    it('an admin change reaches the key cache of another replica', async () => {
      const gw2 = await startGateway({
        shareWith: gw,
        env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl },
      });
      try {
        const admin = await createAdminKey(gw);
        const k1 = await createKey(gw);
        const k2 = await createKey(gw, { userId: k1.userId });
        const on2 = () =>
          call(gw2, 'POST', '/v1/responses', { key: k2.key, body: { model: 'gpt-5.5', input: 'hi' } });
        expect((await on2()).status).toBe(200); // k2 is now cached on replica 2, without a user limit
        await call(gw, 'PATCH', `/admin/api/users/${k1.userId}`, { key: admin.key, body: { rpm: 1 } });
        expect((await ask(k1.key)).status).toBe(200);
        // Pub/sub is asynchronous: replica 2 refuses as soon as it has dropped its cached entry.
        await eventually(async () => (await on2()).status === 429, 'replica 2 applies the user limit');
      } finally {
        await gw2.close();
      }
    });

    it('user TPM and daily quota: the second key is refused once the first spent the user budget', async () => {
      const admin = await createAdminKey(gw);
      for (const [field, code] of [
        ['tpm', 'rate_limit_exceeded'],
        ['dailyTokenQuota', 'insufficient_quota'],
      ] as const) {
        const k1 = await createKey(gw);
        const k2 = await createKey(gw, { userId: k1.userId });
        const r = await call(gw, 'PATCH', `/admin/api/users/${k1.userId}`, {
          key: admin.key,
          body: { [field]: 100 },
        });
        expect(r.status).toBe(200);
        fake.respondWith({ text: 'x', usage: { input_tokens: 150, output_tokens: 50 } });
        expect((await ask(k1.key)).status).toBe(200);
        const refused = await ask(k2.key);
        expect(`${field} ${refused.status}`).toBe(`${field} 429`);
        expect(refused.body.error.code).toBe(code);
        expect(refused.body.error.message).toContain("this key's user");
        // The key's own budget is untouched: another user's limit does not leak into it.
        expect((await call(gw, 'GET', '/v1/me', { key: k2.key })).body.usage.tokensToday).toBe(0);
      }
    });

    it('members cannot create a key with a limit above their user limit (400); below is fine', async () => {
      const admin = await createAdminKey(gw);
      await call(gw, 'PUT', '/admin/api/settings', {
        key: admin.key,
        body: { members_can_create_keys: true },
      });
      const m = await signIn(gw);
      await call(gw, 'PATCH', `/admin/api/users/${m.userId}`, {
        key: admin.key,
        body: { rpm: 10, dailyTokenQuota: 1000 },
      });
      for (const body of [{ rpm: 11 }, { dailyTokenQuota: 1001 }]) {
        const r = await sess(m, 'POST', '/admin/api/keys', body);
        expect(`${JSON.stringify(body)} ${r.status}`).toBe(`${JSON.stringify(body)} 400`);
        expect(r.body.error.code).toBe('above_user_limit');
      }
      const ok = await sess(m, 'POST', '/admin/api/keys', { rpm: 5, dailyTokenQuota: 1000, tpm: 50 });
      expect(ok.status).toBe(201);
      expect(ok.body.limits).toMatchObject({ rpm: 5, dailyTokenQuota: 1000, tpm: 50 });
      // Admins may give a key any limit: the user's limit still binds all keys together.
      const byAdmin = await call(gw, 'POST', '/admin/api/keys', {
        key: admin.key,
        body: { userId: m.userId, rpm: 100 },
      });
      expect(byAdmin.status).toBe(201);
    });
  });

  describe('item 11: sensitive user changes need a session and the acting admin password', () => {
    it('an admin-scoped key cannot create an admin, promote a user, or set an admin password (403)', async () => {
      const admin = await createAdminKey(gw);
      const other = await signIn(gw, { role: 'admin' });
      const member = await createKey(gw);
      const attempts = [
        [
          'POST',
          '/admin/api/users',
          { email: 'new-admin@example.test', role: 'admin', password: 'x'.repeat(12) },
        ],
        ['PATCH', `/admin/api/users/${member.userId}`, { role: 'admin' }],
        ['PATCH', `/admin/api/users/${other.userId}`, { password: 'new-password-123' }],
        ['PATCH', `/admin/api/users/${admin.userId}`, { password: 'new-password-123' }],
      ] as const;
      for (const [method, path, body] of attempts) {
        const r = await call(gw, method, path, { key: admin.key, body });
        expect(`${method} ${JSON.stringify(body)} ${r.status}`).toBe(`${method} ${JSON.stringify(body)} 403`);
        expect(r.body.error.code).toBe('session_required');
        expect(r.body.error.message).toMatch(/signed-in session/);
      }
      // Nothing changed: the other admin still signs in with the old password, the member is still a member.
      const login = await call(gw, 'POST', '/admin/api/auth/login', {
        body: { email: other.email, password: other.password },
        headers: { origin: other.origin },
      });
      expect(login.status).toBe(200);
      const users = (await call(gw, 'GET', '/admin/api/users', { key: admin.key })).body.data;
      expect(users.find((u: any) => u.id === member.userId).role).toBe('member');
      expect(users.some((u: any) => u.email === 'new-admin@example.test')).toBe(false);
      // Ordinary changes still work with a key: a member, a member's password, a name.
      expect(
        (await call(gw, 'POST', '/admin/api/users', { key: admin.key, body: { email: 'm2@example.test' } }))
          .status,
      ).toBe(201);
      expect(
        (
          await call(gw, 'PATCH', `/admin/api/users/${member.userId}`, {
            key: admin.key,
            body: { password: 'member-pass-123', name: 'M' },
          })
        ).status,
      ).toBe(200);
    });

    it('a session must give its own currentPassword: missing → 400, wrong → 403, right → done', async () => {
      const me = await signIn(gw, { role: 'admin' });
      const other = await signIn(gw, { role: 'admin' });
      const member = await createKey(gw);
      const cases = [
        ['POST', '/admin/api/users', { email: 'boss@example.test', role: 'admin' }],
        ['PATCH', `/admin/api/users/${member.userId}`, { role: 'admin' }],
        ['PATCH', `/admin/api/users/${other.userId}`, { password: 'reset-password-1' }],
      ] as const;
      for (const [method, path, body] of cases) {
        const missing = await sess(me, method, path, body);
        expect(`${path} missing ${missing.status}`).toBe(`${path} missing 400`);
        expect(missing.body.error.param).toBe('currentPassword');
        const wrong = await sess(me, method, path, { ...body, currentPassword: 'not-my-password' });
        expect(`${path} wrong ${wrong.status}`).toBe(`${path} wrong 403`);
        expect(wrong.body.error.code).toBe('current_password_invalid');
        // The other admin's password is not the acting admin's.
        const theirs = await sess(me, method, path, { ...body, currentPassword: other.password + '!' });
        expect(theirs.status).toBe(403);
        const ok = await sess(me, method, path, { ...body, currentPassword: me.password });
        expect(`${path} ok ${ok.status}`).toBe(`${path} ok ${method === 'POST' ? 201 : 200}`);
      }
      const users = (await sess(me, 'GET', '/admin/api/users')).body.data;
      expect(users.find((u: any) => u.email === 'boss@example.test').role).toBe('admin');
      expect(users.find((u: any) => u.id === member.userId).role).toBe('admin');
      const relogin = await call(gw, 'POST', '/admin/api/auth/login', {
        body: { email: other.email, password: 'reset-password-1' },
        headers: { origin: other.origin },
      });
      expect(relogin.status).toBe(200);
    });

    it('wrong currentPassword guesses are throttled per admin (429 after LOGIN_MAX_FAILURES_PER_ACCOUNT)', async () => {
      const me = await signIn(gw, { role: 'admin' });
      const member = await createKey(gw);
      const promote = (currentPassword: string) =>
        sess(me, 'PATCH', `/admin/api/users/${member.userId}`, { role: 'admin', currentPassword });
      for (let i = 0; i < 5; i++) expect((await promote(`guess-${i}`)).status).toBe(403);
      const blocked = await promote(me.password);
      expect(blocked.status).toBe(429);
      expect(blocked.body.error.code).toBe('too_many_attempts');
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    });
  });

  describe('item 11: password changes end other sessions and can revoke keys', () => {
    it("a reset ends all the user's sessions; keys survive unless revokeKeys: true", async () => {
      const admin = await signIn(gw, { role: 'admin' });
      const m = await signIn(gw);
      const k = await createKey(gw, { userId: m.userId });
      expect((await sess(m, 'GET', '/admin/api/auth/me')).status).toBe(200);
      const r1 = await sess(admin, 'PATCH', `/admin/api/users/${m.userId}`, { password: 'new-password-1' });
      expect(r1.status).toBe(200);
      expect((await sess(m, 'GET', '/admin/api/auth/me')).status).toBe(401);
      expect((await call(gw, 'GET', '/v1/me', { key: k.key })).status).toBe(200);

      // revokeKeys only goes with a new password.
      const alone = await sess(admin, 'PATCH', `/admin/api/users/${m.userId}`, { revokeKeys: true });
      expect(alone.status).toBe(400);
      expect(alone.body.error.param).toBe('revokeKeys');
      expect((await call(gw, 'GET', '/v1/me', { key: k.key })).status).toBe(200);

      const r2 = await sess(admin, 'PATCH', `/admin/api/users/${m.userId}`, {
        password: 'new-password-2',
        revokeKeys: true,
      });
      expect(r2.status).toBe(200);
      expect(r2.body.revokedKeys).toBe(1);
      expect((await call(gw, 'GET', '/v1/me', { key: k.key })).status).toBe(401);
    });

    it('changing your own password keeps this session and ends your other ones', async () => {
      const me = await signIn(gw, { role: 'admin' });
      const again = await call(gw, 'POST', '/admin/api/auth/login', {
        body: { email: me.email, password: me.password },
        headers: { origin: me.origin },
      });
      const second = { cookie: (again.headers.get('set-cookie') ?? '').split(';')[0], origin: me.origin };
      expect((await sess(second, 'GET', '/admin/api/auth/me')).status).toBe(200);
      const r = await sess(me, 'PATCH', `/admin/api/users/${me.userId}`, {
        password: 'my-new-password-1',
        currentPassword: me.password,
      });
      expect(r.status).toBe(200);
      expect((await sess(me, 'GET', '/admin/api/auth/me')).status).toBe(200);
      expect((await sess(second, 'GET', '/admin/api/auth/me')).status).toBe(401);
    });
  });

  describe('issue 29 item 4: removing an admin needs a person', () => {
    it('demoting, disabling or deleting another admin needs a session and currentPassword; keys get 403', async () => {
      const me = await signIn(gw, { role: 'admin' });
      const key = await createAdminKey(gw);
      for (const [method, body] of [
        ['PATCH', { role: 'member' }],
        ['PATCH', { disabled: true }],
        ['DELETE', undefined],
      ] as const) {
        const other = await signIn(gw, { role: 'admin' });
        const path = `/admin/api/users/${other.userId}`;
        const byKey = await call(gw, method, path, { key: key.key, ...(body ? { body } : {}) });
        expect(byKey.status).toBe(403);
        expect(byKey.body.error.code).toBe('session_required');
        const bare = await sess(me, method, path, body ?? {});
        expect(bare.status).toBe(400);
        expect(bare.body.error.code).toBe('current_password_required');
        const wrong = await sess(me, method, path, { ...body, currentPassword: 'not-my-password' });
        expect(wrong.status).toBe(403);
        expect(wrong.body.error.code).toBe('current_password_invalid');
        const ok = await sess(me, method, path, { ...body, currentPassword: me.password });
        expect(ok.status).toBe(200);
        expect((await sess(other, 'GET', '/admin/api/auth/me')).status).toBe(401);
      }
      // Members stay manageable by admin keys (automation).
      const { userId } = await createKey(gw);
      expect(
        (await call(gw, 'PATCH', `/admin/api/users/${userId}`, { key: key.key, body: { disabled: true } }))
          .status,
      ).toBe(200);
    });
  });

  describe('item 11: pending OAuth logins belong to the admin who started them', () => {
    it('another admin polling or completing the login gets 404; the starter (session or own key) does not', async () => {
      const a = await signIn(gw, { role: 'admin' });
      const aKey = await createKey(gw, { userId: a.userId, scope: 'admin' });
      const b = await createAdminKey(gw);
      const start = await sess(a, 'POST', '/admin/api/accounts/oauth/start');
      expect(start.status).toBe(200);
      const loginId = start.body.loginId;
      const state = new URL(start.body.authorizeUrl).searchParams.get('state');
      const callbackUrl = `http://127.0.0.1:1455/auth/callback?code=abc&state=${state}`;

      const poll = await call(gw, 'GET', `/admin/api/accounts/logins/${loginId}`, { key: b.key });
      expect(poll.status).toBe(404);
      expect(poll.body.error.code).toBe('login_not_found');
      const complete = await call(gw, 'POST', '/admin/api/accounts/oauth/complete', {
        key: b.key,
        body: { loginId, callbackUrl },
      });
      expect(complete.status).toBe(404);
      expect(complete.body.error.code).toBe('login_not_found');

      // Still pending for its owner, through the session or the owner's own admin key.
      expect((await sess(a, 'GET', `/admin/api/accounts/logins/${loginId}`)).body.status).toBe('pending');
      const own = await call(gw, 'GET', `/admin/api/accounts/logins/${loginId}`, { key: aKey.key });
      expect(own.status).toBe(200);
      expect(own.body.status).toBe('pending');
    });

    it('the starter can cancel a pending login; others get 404; a cancelled login cannot be completed', async () => {
      const a = await signIn(gw, { role: 'admin' });
      const b = await createAdminKey(gw);
      const start = await sess(a, 'POST', '/admin/api/accounts/oauth/start');
      const loginId = start.body.loginId;
      const state = new URL(start.body.authorizeUrl).searchParams.get('state');
      const other = await call(gw, 'DELETE', `/admin/api/accounts/logins/${loginId}`, { key: b.key });
      expect(other.status).toBe(404);
      expect(other.body.error.code).toBe('login_not_found');

      const cancel = await sess(a, 'DELETE', `/admin/api/accounts/logins/${loginId}`);
      expect(cancel.status).toBe(200);
      expect(cancel.body).toMatchObject({ status: 'failed', error: { code: 'login_cancelled' } });
      expect((await sess(a, 'GET', `/admin/api/accounts/logins/${loginId}`)).body.error.code).toBe(
        'login_cancelled',
      );
      const complete = await sess(a, 'POST', '/admin/api/accounts/oauth/complete', {
        loginId,
        callbackUrl: `http://127.0.0.1:1455/auth/callback?code=abc&state=${state}`,
      });
      expect(complete.status).toBe(409);
      const again = await sess(a, 'DELETE', `/admin/api/accounts/logins/${loginId}`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('login_not_pending');
    });
  });
});
