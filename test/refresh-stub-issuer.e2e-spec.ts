/**
 * TEMPORARY (refresh flows against a minimal in-test issuer stub): written because test/fake-upstream had not
 * landed when issue 4 was done. The fake-based versions (test/auth.e2e-spec.ts, test/refresh.e2e-spec.ts) replace
 * this file once the fake exists — delete it then. The stub speaks only what the code under test needs.
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { startGateway, type TestGateway } from './support/gateway.js';
import { seedAccount } from './support/accounts.js';
import { AccountSource } from '../src/accounts/account-source.js';

function jwt(payload: Record<string, unknown>): string {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'none' })}.${b(payload)}.${randomBytes(6).toString('base64url')}`;
}
const at = (ttl: number) =>
  jwt({
    exp: Math.floor(Date.now() / 1000) + ttl,
    'https://api.openai.com/auth': { chatgpt_account_id: 'acct-x' },
  });

describe('refresh against a stub issuer (temporary)', () => {
  let gwA: TestGateway, gwB: TestGateway;
  let calls: any[] = [];
  let valid = new Set<string>(['rt0']);
  let fault = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const j = JSON.parse(body);
      calls.push({ headers: req.headers, body: j });
      setTimeout(() => {
        if (fault > 0) {
          fault--;
          res.writeHead(500).end('{}');
          return;
        }
        if (!valid.has(j.refresh_token)) {
          res
            .writeHead(401, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: { code: 'refresh_token_reused' } }));
          return;
        }
        valid.delete(j.refresh_token);
        const rt = `rt${calls.length}`;
        valid.add(rt);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: at(3600), refresh_token: rt }));
      }, 100);
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as any).port;
    const env = {
      OPENAI_AUTH_ISSUER: `http://127.0.0.1:${port}`,
      REFRESH_LEAD_SECONDS: '358',
      ACCOUNT_SWEEP_SECONDS: '1',
      REFRESH_RETRY_BASE_MS: '100',
    };
    gwA = await startGateway({ env });
    gwB = await startGateway({ env, shareWith: gwA });
  });
  afterAll(async () => {
    await gwB.close();
    await gwA.close();
    server.close();
  });

  it('a permanent error marks needs_reauth, later callers do not reuse the token', async () => {
    calls = [];
    valid = new Set();
    const old = at(3600);
    const id = await seedAccount(gwA, {
      accessToken: old,
      refreshToken: 'gone',
      idToken: jwt({}),
      chatgptAccountId: 'acct-z',
      accessTokenExpiresAt: new Date(Date.now() + 3600_000),
    });
    await expect(gwB.app.get(AccountSource).refreshAfterUnauthorized(id, old)).rejects.toMatchObject({
      permanent: true,
      reason: 'refresh_token_reused',
    });
    await expect(gwA.app.get(AccountSource).refreshAfterUnauthorized(id, old)).rejects.toMatchObject({
      permanent: true,
    });
    expect(calls.length).toBe(1);
    expect((await gwA.app.get(AccountSource).listRoutable()).some((x) => x.id === id)).toBe(false);
  });

  it('single flight', async () => {
    calls = [];
    valid = new Set(['rt0']);
    const old = at(3600);
    const id = await seedAccount(gwA, {
      accessToken: old,
      refreshToken: 'rt0',
      idToken: jwt({}),
      chatgptAccountId: 'acct-x',
      accessTokenExpiresAt: new Date(Date.now() + 3600_000),
    });
    const s = [gwA.app.get(AccountSource), gwB.app.get(AccountSource)];
    const res = await Promise.all(
      Array.from({ length: 40 }, (_, i) => s[i % 2].refreshAfterUnauthorized(id, old)),
    );
    expect(calls.length).toBe(1);
    expect(new Set(res.map((r) => r.accessToken)).size).toBe(1);
    expect(calls[0].headers.originator).toBe('codex_exec');
    expect(calls[0].headers['user-agent']).toMatch(/^codex_exec\/0\.169\.0 \(/);
    expect(Object.keys(calls[0].headers).sort()).toEqual([
      'accept',
      'connection',
      'content-length',
      'content-type',
      'host',
      'originator',
      'user-agent',
    ]);
    expect(calls[0].body).toEqual({
      client_id: 'app_EMoamEEZ73f0CkXaXp7hrann',
      grant_type: 'refresh_token',
      refresh_reason: 'unauthorized_recovery',
      refresh_token: 'rt0',
    });
    for (const s2 of s) expect((await s2.getCredentials(id)).accessToken).toBe(res[0].accessToken);
  });
  it('worker with transient', async () => {
    calls = [];
    valid = new Set(['w0']);
    fault = 2;
    const old2 = at(360);
    const id = await seedAccount(gwA, {
      accessToken: old2,
      refreshToken: 'w0',
      idToken: jwt({}),
      chatgptAccountId: 'acct-y',
      accessTokenExpiresAt: new Date(Date.now() + 359_000),
    });
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline && !(calls.length >= 3)) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    expect(calls.length).toBe(3);
    expect(
      calls.every((c) => c.body.refresh_reason === 'proactive_expiry' && c.body.refresh_token === 'w0'),
    ).toBe(true);
    const c = await gwA.app.get(AccountSource).getCredentials(id);
    expect(c.accessToken).not.toBe(old2);
  });
});
