/**
 * TEMPORARY (login flows against a minimal in-test issuer stub): written because test/fake-upstream had not
 * landed when issue 4 was done. The fake-based versions (test/auth.e2e-spec.ts, test/refresh.e2e-spec.ts) replace
 * this file once the fake exists — delete it then. The stub speaks only what the code under test needs.
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { startGateway, type TestGateway } from './support/gateway.js';
import { LoginService } from '../src/auth/login.service.js';
import { authLogin } from '../src/accounts/accounts.cli.js';

function jwt(payload: Record<string, unknown>): string {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'none' })}.${b(payload)}.${randomBytes(6).toString('base64url')}`;
}
const auth = { chatgpt_account_id: 'acct-l', chatgpt_user_id: 'u-l', chatgpt_plan_type: 'pro' };
const tokens = () => ({
  id_token: jwt({ email: 'l@x.com', 'https://api.openai.com/auth': auth }),
  access_token: jwt({ exp: Math.floor(Date.now() / 1000) + 3600, 'https://api.openai.com/auth': auth }),
  refresh_token: 'rt-' + randomBytes(4).toString('hex'),
});

describe('logins against a stub issuer (temporary)', () => {
  let gw: TestGateway;
  const reqs: any[] = [];
  let approved = false;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      reqs.push({ url: req.url, headers: req.headers, body });
      const json = (s: number, o: unknown) =>
        res.writeHead(s, { 'content-type': 'application/json' }).end(JSON.stringify(o));
      if (req.url === '/oauth/token') {
        const f = new URLSearchParams(body);
        if (f.get('code') === 'good' || f.get('code') === 'devcode') return json(200, tokens());
        return json(400, { error: 'invalid_grant' });
      }
      if (req.url === '/api/accounts/deviceauth/usercode')
        return json(200, {
          device_auth_id: 'da1',
          user_code: 'ABCD-EFGH',
          interval: '1',
          expires_at: new Date(Date.now() + 60000).toISOString(),
        });
      if (req.url === '/api/accounts/deviceauth/token')
        return approved
          ? json(200, { authorization_code: 'devcode', code_challenge: 'x', code_verifier: 'vvv' })
          : json(403, { error: { code: 'deviceauth_authorization_pending' } });
      json(404, {});
    });
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    gw = await startGateway({
      env: { OPENAI_AUTH_ISSUER: `http://127.0.0.1:${(server.address() as any).port}` },
    });
  });
  afterAll(async () => {
    await gw.close();
    server.close();
  });

  it('pkce', async () => {
    const l = gw.app.get(LoginService);
    const s = await l.startPkce({ type: 'system' });
    const state = new URL(s.authorizeUrl).searchParams.get('state');
    await expect(
      l.completePkce(s.loginId, `http://127.0.0.1:1455/auth/callback?code=good&state=nope`),
    ).rejects.toMatchObject({ code: 'state_mismatch' });
    const r = await l.completePkce(s.loginId, `http://localhost:1455/auth/callback?code=good&state=${state}`);
    expect(r.account.email).toBe('l@x.com');
    await expect(
      l.completePkce(s.loginId, `http://localhost:1455/auth/callback?code=good&state=${state}`),
    ).rejects.toMatchObject({ code: 'login_already_used' });
    const s2 = await l.startPkce({ type: 'system' });
    const st2 = new URL(s2.authorizeUrl).searchParams.get('state');
    await expect(
      l.completePkce(s2.loginId, `http://localhost:1455/auth/callback?code=bad&state=${st2}`),
    ).rejects.toMatchObject({ code: 'code_exchange_failed', httpStatus: 400 });
    expect((await l.status(s2.loginId)).status).toBe('failed');
  });
  it('device', async () => {
    const l = gw.app.get(LoginService);
    const d = await l.startDevice({ type: 'system' });
    await new Promise((r) => setTimeout(r, 2500));
    expect((await l.status(d.loginId)).status).toBe('pending');
    approved = true;
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && (await l.status(d.loginId)).status === 'pending')
      await new Promise((r) => setTimeout(r, 200));
    expect((await l.status(d.loginId)).status).toBe('completed');
  });
  it('cli', async () => {
    let out = '';
    const port = 30000 + Math.floor(Math.random() * 10000);
    const run = authLogin(gw.config, ['--port', String(port), '--no-browser'], {
      out: (t) => (out += t),
      err: (t) => (out += t),
      openBrowser: () => {},
    });
    while (!out.includes('oauth/authorize')) await new Promise((r) => setTimeout(r, 50));
    const url = out.match(/(http\S+oauth\/authorize\S+)/)![1];
    const state = new URL(url).searchParams.get('state');
    const page = await fetch(`http://127.0.0.1:${port}/auth/callback?code=good&state=${state}`);
    expect(page.status).toBe(200);
    expect(await run).toBe(0);
  });
});
