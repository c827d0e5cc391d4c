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

export { createAdminKey, createKey };
