import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { call } from './support/http.js';
import { query } from './support/wait.js';

/**
 * Issue 22 (security, third pass), what the unauthenticated surfaces give away: item 6, `/metrics` never carries an
 * email, even for accounts whose label is the default (their email) with circuit and cooldown gauges set; item 12,
 * /admin pages carry hardening headers (the SPA working under the CSP is test/browser/web-admin.e2e-spec.ts).
 */
let fake: FakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  fake = await FakeUpstream.start();
  gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});

describe('item 6: no email in /metrics', () => {
  it('accounts labelled by their email (the default) with an open circuit and a cooldown: /metrics has no stored email', async () => {
    const failing = fake.addAccount();
    const limited = fake.addAccount();
    for (const [a, priority] of [
      [failing, 0],
      [limited, 1],
    ] as const)
      await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt, label: a.email, priority });
    const { key } = await createKey(gw);
    fake.fault(failing.chatgptAccountId, { kind: 'server_error', status: 500 }, 3);
    fake.fault(limited.chatgptAccountId, { kind: 'usage_limit', resetsInSeconds: 600 }, 3);
    for (let i = 0; i < 3; i++)
      await call(gw, 'POST', '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    // The gauges are there (so the scan below looks at real account series)…
    expect(metrics).toMatch(/^cg_account_circuit_open\{account="[^"]+"\} 1$/m);
    expect(metrics).toMatch(/^cg_account_cooldown_seconds\{account="[^"]+"\} [1-9]/m);
    // …and no email stored anywhere in the gateway appears in them.
    const emails = [
      ...(await query(gw, 'SELECT email FROM accounts WHERE email IS NOT NULL')),
      ...(await query(gw, 'SELECT email FROM users')),
    ].map((r) => String(r.email));
    expect(emails).toContain(failing.email);
    for (const e of emails) expect(metrics).not.toContain(e);
    expect(metrics).not.toMatch(/account="[^"]*@/);
  });
});

describe('item 12: /admin pages carry hardening headers', () => {
  it.each(['/admin/', '/admin/setup?token=abc', '/admin/keys', '/admin/favicon.svg'])(
    '%s: CSP with frame-ancestors, X-Frame-Options, nosniff, no referrer',
    async (path) => {
      const r = await fetch(gw.url + path);
      expect(r.status).toBe(200);
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    },
  );
});
