import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createParser } from 'eventsource-parser';
import { FakeUpstream, type FakeAccount } from './fake-upstream/index.ts';

/** The fake upstream is a test component of its own: it must reject what the real servers reject. */
const CLIENT_ID = 'app_EMoamEEZ73f0CkXaXp7hrann';
const REDIRECT = 'http://127.0.0.1:1455/auth/callback';

describe('fake upstream', () => {
  it('loads under Node type stripping alone (`npm run fake-upstream`, the bench and test/deploy run it so)', () => {
    // Parameter properties, enums or namespaces in any of its files make strip-only mode refuse the file.
    const r = spawnSync(
      process.execPath,
      [
        '--no-warnings',
        '--experimental-strip-types',
        '-e',
        "import('./test/fake-upstream/index.ts').then((m) => process.stdout.write(typeof m.FakeUpstream))",
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('function');
  });

  let fake: FakeUpstream;
  let acct: FakeAccount;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.reset();
    acct = fake.addAccount({ planType: 'plus' });
  });

  const headers = (a: FakeAccount, extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${a.accessToken}`,
    'chatgpt-account-id': a.chatgptAccountId,
    originator: 'codex_exec',
    'user-agent': 'codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)',
    version: '0.169.0',
    'session-id': 'a1b2',
    accept: 'text/event-stream',
    'content-type': 'application/json',
    ...extra,
  });
  const body = (extra: Record<string, unknown> = {}) => ({
    model: 'gpt-5.5',
    instructions: '',
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello there' }] }],
    stream: true,
    store: false,
    ...extra,
  });
  const post = (h: Record<string, string>, b: unknown) =>
    fetch(`${fake.codexBaseUrl}/responses`, { method: 'POST', headers: h, body: JSON.stringify(b) });

  async function events(r: Response): Promise<{ event: string; data: any }[]> {
    const out: { event: string; data: any }[] = [];
    const p = createParser({ onEvent: (e) => out.push({ event: e.event ?? '', data: JSON.parse(e.data) }) });
    p.feed(await r.text());
    return out;
  }

  function pkce() {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  }
  function authorizeUrl(challenge: string, state = 'st_' + randomBytes(8).toString('hex')) {
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT,
      scope: 'openid profile email offline_access',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
    });
    return `${fake.url}/oauth/authorize?${q}`;
  }
  const exchange = (code: string, verifier: string) =>
    fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: CLIENT_ID,
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      }),
    });
  const refresh = (rt: string) =>
    fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: CLIENT_ID,
        grant_type: 'refresh_token',
        refresh_token: rt,
        refresh_reason: 'proactive_expiry',
      }),
    });

  it('authorization code with PKCE: the right verifier gets tokens, a wrong one is rejected, a code is single-use', async () => {
    const { verifier, challenge } = pkce();
    const cb = new URL(await fake.authorize(authorizeUrl(challenge, 'state-1'), acct));
    expect(cb.origin + cb.pathname).toBe(REDIRECT);
    expect(cb.searchParams.get('state')).toBe('state-1');
    const code = cb.searchParams.get('code')!;
    const bad = await exchange(code, pkce().verifier);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toBe('invalid_grant');

    const { challenge: c2, verifier: v2 } = { challenge, verifier };
    const code2 = new URL(await fake.authorize(authorizeUrl(c2), acct)).searchParams.get('code')!;
    const ok = await exchange(code2, v2);
    expect(ok.status).toBe(200);
    const t = (await ok.json()) as any;
    expect(t).toEqual(
      expect.objectContaining({
        id_token: expect.any(String),
        access_token: expect.any(String),
        refresh_token: expect.any(String),
      }),
    );
    const claims = JSON.parse(Buffer.from(t.id_token.split('.')[1], 'base64url').toString());
    expect(claims['https://api.openai.com/auth']).toMatchObject({
      chatgpt_account_id: acct.chatgptAccountId,
      chatgpt_plan_type: 'plus',
    });
    expect((await exchange(code2, v2)).status).toBe(400);
  });

  it('authorize refuses a plain challenge and an unknown redirect', async () => {
    const u = new URL(authorizeUrl('x'));
    u.searchParams.set('code_challenge_method', 'plain');
    expect(new URL(await fake.authorize(u.toString(), acct)).searchParams.get('error')).toBe(
      'invalid_request',
    );
    u.searchParams.set('redirect_uri', 'https://evil.example/cb');
    await expect(fake.authorize(u.toString(), acct)).rejects.toThrow(/400/);
  });

  it('refresh rotates the token; reusing the old one is rejected and ends the login', async () => {
    const r1 = await refresh(acct.refreshToken);
    expect(r1.status).toBe(200);
    const t1 = (await r1.json()) as any;
    expect(t1.refresh_token).not.toBe(acct.refreshToken);
    const reuse = await refresh(acct.refreshToken);
    expect(reuse.status).toBe(401);
    expect(((await reuse.json()) as any).error.code).toBe('refresh_token_reused');
    // the whole login is gone: the newest token no longer works either
    const after = await refresh(t1.refresh_token);
    expect(after.status).toBe(401);
    expect(((await after.json()) as any).error.code).toBe('refresh_token_invalidated');
    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(3);
  });

  it('scripted token faults: 5xx then permanent', async () => {
    fake.tokenFault({ kind: 'server_error' });
    fake.tokenFault({ kind: 'permanent', code: 'refresh_token_expired' });
    expect((await refresh(acct.refreshToken)).status).toBe(502);
    const p = await refresh(acct.refreshToken);
    expect(p.status).toBe(401);
    expect(((await p.json()) as any).error.code).toBe('refresh_token_expired');
    expect((await refresh(acct.refreshToken)).status).toBe(200);
  });

  it('device code: pending until approved, then an authorization code exchangeable with its verifier', async () => {
    const uc = (await (
      await fetch(`${fake.url}/api/accounts/deviceauth/usercode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: CLIENT_ID }),
      })
    ).json()) as any;
    const poll = () =>
      fetch(`${fake.url}/api/accounts/deviceauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ device_auth_id: uc.device_auth_id, user_code: uc.user_code }),
      });
    const pending = await poll();
    expect(pending.status).toBe(403);
    expect(((await pending.json()) as any).error.code).toBe('deviceauth_authorization_pending');
    fake.approveDevice(uc.user_code, acct);
    const done = (await (await poll()).json()) as any;
    const r = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: CLIENT_ID,
        code: done.authorization_code,
        redirect_uri: `${fake.url}/deviceauth/callback`,
        code_verifier: done.code_verifier,
      }),
    });
    expect(r.status).toBe(200);
  });

  it('streams a well-formed SSE answer: typed events, increasing sequence numbers, usage at the end', async () => {
    fake.respondWith({
      text: 'Hello world from the fake',
      reasoningSummary: 'thinking',
      usage: { input_tokens: 9, output_tokens: 5 },
    });
    const r = await post(headers(acct), body());
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    expect(r.headers.get('x-codex-primary-used-percent')).toMatch(/^\d+(\.\d+)?$/);
    const ev = await events(r);
    ev.forEach((e, i) => {
      expect(e.data.type).toBe(e.event);
      expect(e.data.sequence_number).toBe(i);
    });
    const types = ev.map((e) => e.event);
    expect(types[0]).toBe('codex.rate_limits');
    expect(types.indexOf('response.created')).toBeLessThan(types.indexOf('response.output_text.delta'));
    expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(1);
    expect(types).toContain('response.reasoning_summary_text.delta');
    const last = ev[ev.length - 1];
    expect(last.event).toBe('response.completed');
    expect(last.data.response.usage).toMatchObject({ input_tokens: 9, output_tokens: 5, total_tokens: 14 });
    const text = ev
      .filter((e) => e.event === 'response.output_text.delta')
      .map((e) => e.data.delta)
      .join('');
    expect(text).toBe('Hello world from the fake');
  });

  it('streams function calls with call ids and argument deltas', async () => {
    fake.respondWith({ functionCalls: [{ name: 'f', arguments: '{"a":1,"b":2}', callId: 'call_1' }] });
    const ev = await events(await post(headers(acct), body()));
    const added = ev.find(
      (e) => e.event === 'response.output_item.added' && e.data.item.type === 'function_call',
    )!;
    expect(added.data.item).toMatchObject({ call_id: 'call_1', name: 'f' });
    const args = ev
      .filter((e) => e.event === 'response.function_call_arguments.delta')
      .map((e) => e.data.delta)
      .join('');
    expect(args).toBe('{"a":1,"b":2}');
  });

  it.each([
    [{ stream: false }, 'Stream must be set to true'],
    [{ store: true }, 'Store must be set to false'],
    [{ instructions: undefined }, 'Instructions are required'],
    [{ max_output_tokens: 10 }, 'Unsupported parameter: max_output_tokens'],
    [{ temperature: 0.2 }, 'Unsupported parameter: temperature'],
  ])('rejects a body with %j', async (extra, detail) => {
    const r = await post(headers(acct), body(extra));
    expect(r.status).toBe(400);
    expect((await r.json()) as any).toEqual({ detail });
  });

  it('rejects missing client headers, a foreign account id and a bad token', async () => {
    expect((await post(headers(acct, { originator: '' }), body())).status).toBe(400);
    expect((await post(headers(acct, { 'chatgpt-account-id': 'other' }), body())).status).toBe(401);
    expect((await post(headers(acct, { authorization: 'Bearer nope' }), body())).status).toBe(401);
    fake.revokeAccessToken(acct.chatgptAccountId);
    expect((await post(headers(acct), body())).status).toBe(401);
  });

  it('scripted faults are reproducible: 401, usage limit with reset, usage_not_included, 5xx, rate limit', async () => {
    fake.fault(acct.chatgptAccountId, { kind: 'unauthorized' });
    fake.fault(acct.chatgptAccountId, { kind: 'usage_limit', resetsInSeconds: 120 });
    fake.fault(acct.chatgptAccountId, { kind: 'usage_not_included' });
    fake.fault(acct.chatgptAccountId, { kind: 'server_error', status: 503 });
    fake.fault(acct.chatgptAccountId, { kind: 'rate_limited', retryAfterSeconds: 3 });
    expect((await post(headers(acct), body())).status).toBe(401);
    const ul = await post(headers(acct), body());
    expect(ul.status).toBe(429);
    const ulb = (await ul.json()) as any;
    expect(ulb.error).toMatchObject({
      type: 'usage_limit_reached',
      resets_in_seconds: 120,
      plan_type: 'plus',
    });
    expect(ulb.error.resets_at).toBeGreaterThan(Date.now() / 1000 + 100);
    expect(((await (await post(headers(acct), body())).json()) as any).error.type).toBe('usage_not_included');
    expect((await post(headers(acct), body())).status).toBe(503);
    const rl = await post(headers(acct), body());
    expect(rl.status).toBe(429);
    expect(rl.headers.get('retry-after')).toBe('3');
    expect((await post(headers(acct), body())).status).toBe(200);
  });

  it('slow first byte delays the answer; a cut stream ends without a terminal event', async () => {
    fake.fault(acct.chatgptAccountId, { kind: 'slow_first_byte', delayMs: 300 });
    const t0 = Date.now();
    const r = await post(headers(acct), body());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await r.text();
    fake.fault(acct.chatgptAccountId, { kind: 'cut_stream', afterEvents: 5 });
    const cut = await post(headers(acct), body());
    const text = await cut.text().catch(() => '');
    expect(text).not.toContain('response.completed');
  });

  it('records every request, and sees a client that disconnects mid-stream', async () => {
    fake.respondWith({ text: 'word '.repeat(400) });
    const ac = new AbortController();
    const r = await post(headers(acct), body());
    const reader = r.body!.getReader();
    await reader.read();
    expect(fake.openStreams).toBe(1);
    await reader.cancel();
    ac.abort();
    expect(await fake.waitForStreamsClosed(1000)).toBe(true);
    const rec = fake.requestsTo('/backend-api/codex/responses').at(-1)!;
    expect(rec.chatgptAccountId).toBe(acct.chatgptAccountId);
    expect(rec.body.model).toBe('gpt-5.5');
    expect(rec.rawHeaderNames.map((h) => h.toLowerCase())).toContain('session-id');
  });

  it('lists models for a valid token and client version', async () => {
    const r = await fetch(`${fake.codexBaseUrl}/models?client_version=0.169.0`, { headers: headers(acct) });
    expect(r.status).toBe(200);
    const m = (await r.json()) as any;
    expect(m.models.map((x: any) => x.slug)).toContain('gpt-5.5');
    expect(m.models[0].supported_reasoning_levels[0]).toHaveProperty('effort');
  });
});
