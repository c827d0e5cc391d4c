import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey } from './support/auth.js';
import { call, signIn } from './support/http.js';
import { query } from './support/wait.js';

const PUBLIC_URL = 'https://gw.example.test';

/** Issue 11, items 6 (sign-in throttling) and 11 (CSRF and admin settings), against the real gateway. */
describe('security: sign-in and admin sessions', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({
      env: {
        PUBLIC_URL,
        TRUST_PROXY: 'true',
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '5',
        LOGIN_MAX_FAILURES_PER_IP: '1000',
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const login = (email: string, password: string, ip: string, on = gw) =>
    call(on, 'POST', '/admin/api/auth/login', {
      body: { email, password },
      headers: { origin: PUBLIC_URL, 'x-forwarded-for': ip },
    });

  describe('item 4: member key policy', () => {
    const sess = (m: { cookie: string }, method: string, path: string, body?: unknown) =>
      call(gw, method, path, { cookie: m.cookie, body, headers: { origin: PUBLIC_URL } });

    it('members narrow only: admin allowedModels cannot be cleared or widened; expiry only closer; expired keys stay expired; key cap', async () => {
      const admin = await createAdminKey(gw);
      await call(gw, 'PUT', '/admin/api/settings', {
        key: admin.key,
        body: { members_can_create_keys: true },
      });
      const m = await signIn(gw);
      const restricted = await call(gw, 'POST', '/admin/api/keys', {
        key: admin.key,
        body: {
          userId: m.userId,
          allowedModels: ['gpt-5.5', 'gpt-5.5-mini'],
          expiresAt: '2099-01-01T00:00:00Z',
        },
      });
      expect(restricted.status).toBe(201);
      const id = restricted.body.id;
      for (const body of [{ allowedModels: [] }, { allowedModels: ['gpt-5*'] }, { allowedModels: ['o3'] }]) {
        const r = await sess(m, 'PATCH', `/admin/api/keys/${id}`, body);
        expect(`${JSON.stringify(body)} ${r.status}`).toBe(`${JSON.stringify(body)} 403`);
        expect(r.body.error.code).toBe('narrow_only');
      }
      expect((await sess(m, 'PATCH', `/admin/api/keys/${id}`, { allowedModels: ['gpt-5.5'] })).status).toBe(
        200,
      );
      expect((await sess(m, 'PATCH', `/admin/api/keys/${id}`, { expiresAt: null })).status).toBe(403);
      expect(
        (await sess(m, 'PATCH', `/admin/api/keys/${id}`, { expiresAt: '2199-01-01T00:00:00Z' })).status,
      ).toBe(403);
      expect(
        (await sess(m, 'PATCH', `/admin/api/keys/${id}`, { expiresAt: '2098-01-01T00:00:00Z' })).status,
      ).toBe(200);
      expect((await sess(m, 'PATCH', `/admin/api/keys/${id}`, { rpm: 1_000_000 })).status).toBe(403);
      const after = await call(gw, 'GET', `/admin/api/keys/${id}`, { key: admin.key });
      expect(after.body.allowedModels).toEqual(['gpt-5.5']);

      // expiresAt: null cannot revive an expired key (members nor admins).
      const expired = await createKey(gw, { userId: m.userId, expiresAt: new Date(Date.now() - 1000) });
      for (const who of ['member', 'admin'] as const) {
        const r =
          who === 'member'
            ? await sess(m, 'PATCH', `/admin/api/keys/${expired.keyId}`, { expiresAt: null })
            : await call(gw, 'PATCH', `/admin/api/keys/${expired.keyId}`, {
                key: admin.key,
                body: { expiresAt: null },
              });
        expect(`${who} ${r.status}`).toBe(`${who} 400`);
        expect(r.body.error.code).toBe('key_expired');
      }
      expect((await call(gw, 'GET', '/v1/me', { key: expired.key })).status).toBe(401);

      // A cap on keys per user (MAX_KEYS_PER_USER, 25 by default).
      let last = 201;
      let made = 0;
      for (let i = 0; i < 30 && last === 201; i++) {
        last = (await sess(m, 'POST', '/admin/api/keys', { name: `k${i}` })).status;
        if (last === 201) made++;
      }
      const active = await query(
        gw,
        `SELECT count(*)::int AS n FROM api_keys WHERE "userId" = $1 AND "revokedAt" IS NULL`,
        [m.userId],
      );
      console.log(`member key cap: created ${made} more, ${active[0].n} active, then ${last}`);
      expect(last).toBe(409);
      expect(active[0].n).toBe(25);
    }, 60_000);
  });

  describe('item 6: sign-in throttling', () => {
    it('40 parallel wrong passwords: exactly 5 are evaluated (401), the other 35 get 429 before the check', async () => {
      const victim = await signIn(gw, { role: 'admin' });
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => login(victim.email, `wrong-${i}`, '10.0.0.1')),
      );
      const evaluated = results.filter((r) => r.status === 401).length;
      const throttled = results.filter((r) => r.status === 429).length;
      console.log(`parallel wrong passwords: evaluated ${evaluated}/40, throttled ${throttled}`);
      expect(evaluated).toBe(5);
      expect(throttled).toBe(35);
      const failures = await query(
        gw,
        `SELECT count(*)::int AS n FROM audit_logs WHERE action = 'auth.login_failed' AND "targetId" = $1`,
        [victim.userId],
      );
      expect(failures[0].n).toBe(5);
      // The right password from the attacked IP waits too…
      const same = await login(victim.email, victim.password, '10.0.0.1');
      expect(same.status).toBe(429);
      expect(Number(same.headers.get('retry-after'))).toBeGreaterThan(0);
      // …but the account is not locked for everyone: the admin signs in from another address.
      const elsewhere = await login(victim.email, victim.password, '10.0.0.2');
      expect(elsewhere.status).toBe(200);
    }, 60_000);

    it('backs off exponentially per (account, IP) instead of a hard lock', async () => {
      // A 30 s window: the backoff starts at 1 s (window / 30) and doubles up to the window.
      const g = await startGateway({
        env: {
          PUBLIC_URL,
          TRUST_PROXY: 'true',
          LOGIN_MAX_FAILURES_PER_ACCOUNT: '5',
          LOGIN_THROTTLE_WINDOW_SECONDS: '30',
        },
      });
      const u = await signIn(g);
      const ip = '10.0.0.3';
      for (let i = 0; i < 5; i++) expect((await login(u.email, 'bad-password', ip, g)).status).toBe(401);
      const waits: number[] = [];
      for (let round = 0; round < 3; round++) {
        const r = await login(u.email, 'bad-password', ip, g);
        expect(r.status).toBe(429);
        const ms =
          Number(r.headers.get('retry-after-ms') ?? 0) || Number(r.headers.get('retry-after')) * 1000;
        waits.push(Number(r.headers.get('retry-after')));
        await new Promise((res) => setTimeout(res, ms + 150));
        // After the wait exactly one more guess is evaluated.
        expect((await login(u.email, 'bad-password', ip, g)).status).toBe(401);
      }
      console.log(`sign-in backoff (Retry-After seconds): ${waits.join(', ')}`);
      expect(waits[1]).toBeGreaterThan(waits[0]);
      expect(waits[2]).toBeGreaterThan(waits[1]);
      // A success clears the pair.
      await new Promise((res) => setTimeout(res, 8_500));
      expect((await login(u.email, u.password, ip, g)).status).toBe(200);
      expect((await login(u.email, 'bad-password', ip, g)).status).toBe(401);
      await g.close();
    }, 60_000);
  });
});
