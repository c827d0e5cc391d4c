import WebSocket from 'ws';
import { FakeUpstream, type FakeAccount } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { connectWs } from './support/ws.js';

/**
 * Responses over WebSocket with a plain `ws` client: frames, chaining, limits and abuse. Every case ends with the
 * gateway healthy, no 5xx logged and no upstream stream left open.
 */
let fake: FakeUpstream;
let gw: TestGateway;
let key: string;
let accts: FakeAccount[];

beforeAll(async () => {
  fake = await FakeUpstream.start();
  gw = await startGateway({
    env: {
      OPENAI_AUTH_ISSUER: fake.url,
      CODEX_BASE_URL: fake.codexBaseUrl,
      RESPONSES_WS_MAX_FRAME_BYTES: '65536',
      RESPONSES_WS_IDLE_SECONDS: '1',
      RESPONSES_WS_MAX_PER_KEY: '2',
      POOL_STRATEGY: 'priority',
    },
  });
  accts = [fake.addAccount(), fake.addAccount()];
  for (const [i, a] of accts.entries())
    await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt, label: `a${i}`, priority: i });
  key = (await createKey(gw)).key;
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});
beforeEach(() => fake.reset());
afterEach(async () => {
  expect(await fake.waitForStreamsClosed(3000)).toBe(true);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  expect(metrics.split('\n').filter((l) => /^cg_requests_total\{.*status="5/.test(l))).toEqual([]);
  expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
});

const connect = (k = key, headers: Record<string, string> = {}) => connectWs(gw, k, headers);

const create = (extra: Record<string, unknown>) =>
  JSON.stringify({ type: 'response.create', model: 'gpt-5.5', stream: true, ...extra });
const userMsg = (text: string) => ({
  type: 'message',
  role: 'user',
  content: [{ type: 'input_text', text }],
});
const done = (f: any) => f.type === 'response.completed' || f.type === 'error';

describe('frames', () => {
  it('streams the backend events of a response as JSON text frames, without codex.* events', async () => {
    fake.respondWith({ text: 'Hello over ws' });
    const c = await connect();
    c.ws.send(create({ input: [userMsg('hi')] }));
    const end = await c.next(done);
    expect(end.type).toBe('response.completed');
    const types = c.frames.map((f) => f.type);
    expect(types[0]).toBe('response.created');
    expect(types).toContain('response.output_text.delta');
    expect(types.some((t) => t.startsWith('codex.'))).toBe(false);
    const text = c.frames
      .filter((f) => f.type === 'response.output_text.delta')
      .map((f) => f.delta)
      .join('');
    expect(text).toBe('Hello over ws');
    c.ws.close();
  });

  it('prewarm is answered locally; the chained frame goes up with the whole history; unknown ids are refused', async () => {
    const c = await connect();
    c.ws.send(create({ input: [{ ...userMsg('base'), role: 'developer' }], generate: false }));
    const warm = await c.next(done);
    expect(warm.type).toBe('response.completed');
    expect(fake.requestsTo('/backend-api/codex/responses')).toHaveLength(0);
    fake.respondWith({ text: 'one' });
    c.ws.send(create({ previous_response_id: warm.response.id, input: [userMsg('first')] }));
    const first = await c.next((f) => done(f) && f !== warm);
    fake.respondWith({ text: 'two' });
    c.ws.send(create({ previous_response_id: first.response.id, input: [userMsg('second')] }));
    await c.next((f) => done(f) && f !== warm && f !== first);
    const [up1, up2] = fake.requestsTo('/backend-api/codex/responses');
    expect(up1.body.input.map((i: any) => i.role)).toEqual(['developer', 'user']);
    expect(up2.body.input.map((i: any) => i.role ?? i.type)).toEqual([
      'developer',
      'user',
      'assistant',
      'user',
    ]);
    expect(up2.body.previous_response_id).toBeUndefined();
    c.ws.send(create({ previous_response_id: 'resp_unknown', input: [userMsg('x')] }));
    const err = await c.next((f) => f.type === 'error');
    expect(err).toMatchObject({ status: 400, error: { code: 'previous_response_not_found' } });
    c.ws.close();
  });

  it('keeps the turn state within a turn and the account for the connection', async () => {
    const c = await connect();
    fake.respondWith({ text: 'a' }, 2);
    c.ws.send(create({ input: [userMsg('a')], client_metadata: { turn_id: 't1' } }));
    const r1 = await c.next(done);
    c.ws.send(
      create({
        previous_response_id: r1.response.id,
        input: [userMsg('b')],
        client_metadata: { turn_id: 't1' },
      }),
    );
    await c.next((f) => done(f) && f !== r1);
    const [u1, u2] = fake.requestsTo('/backend-api/codex/responses');
    expect(u1.headers['x-codex-turn-state']).toBeUndefined();
    expect(u2.headers['x-codex-turn-state']).toBe(fake.turnStates[0]);
    expect(u2.chatgptAccountId).toBe(u1.chatgptAccountId);
    c.ws.close();
  });

  it('fails over before the first output event, then stays on the account that served', async () => {
    const c = await connect();
    fake.respondWith({ text: 'probe' });
    c.ws.send(create({ input: [userMsg('x')], prompt_cache_key: 'conv-failover' }));
    const r0 = await c.next(done);
    const first = fake.requestsTo('/backend-api/codex/responses')[0].chatgptAccountId;
    // The account this conversation sticks to hits its usage limit: the next response moves to the other one.
    fake.fault(first!, { kind: 'usage_limit', resetsInSeconds: 2 });
    fake.respondWith({ text: 'served' }, 2);
    c.ws.send(
      create({
        previous_response_id: r0.response.id,
        input: [userMsg('y')],
        prompt_cache_key: 'conv-failover',
      }),
    );
    const r1 = await c.next((f) => done(f) && f !== r0);
    expect(r1.type).toBe('response.completed');
    c.ws.send(
      create({
        previous_response_id: r1.response.id,
        input: [userMsg('z')],
        prompt_cache_key: 'conv-failover',
      }),
    );
    await c.next((f) => done(f) && f !== r0 && f !== r1);
    const calls = fake.requestsTo('/backend-api/codex/responses').map((r) => r.chatgptAccountId);
    expect(calls).toHaveLength(4);
    expect(calls[1]).toBe(first);
    expect(calls[2]).not.toBe(first);
    expect(calls[3]).toBe(calls[2]);
    c.ws.close();
    await new Promise((res) => setTimeout(res, 2100));
  });

  it('applies the key rules: bad key refused before the upgrade, model allow-list and RPM as error frames', async () => {
    await expect(connect('sk-cg-nope')).rejects.toMatchObject({ status: 401 });
    const limited = await createKey(gw, { rpm: 1, allowedModels: ['gpt-5.5'] });
    const c = await connect(limited.key);
    c.ws.send(create({ model: 'gpt-5.5-mini', input: [userMsg('x')] }));
    expect(await c.next(done).catch(() => c.frames)).toMatchObject({
      type: 'error',
      status: 403,
      error: { code: 'model_not_allowed' },
    });
    fake.respondWith({ text: 'ok' });
    c.ws.send(create({ input: [userMsg('x')] }));
    await c.next((f) => f.type === 'response.completed').catch(() => expect(c.frames).toBe('printed'));
    c.ws.send(create({ input: [userMsg('x')] }));
    const limitedErr = await c.next((f) => f.type === 'error' && f.status === 429);
    expect(limitedErr.error.type).toBe('rate_limit_error');
    c.ws.close();
  });
});

describe('abuse is bounded with clean close codes', () => {
  it('oversized frame → 1009', async () => {
    const c = await connect();
    c.ws.send(create({ input: [userMsg('x'.repeat(70_000))] }));
    expect((await c.closed).code).toBe(1009);
    expect(fake.requestsTo('/backend-api/codex/responses')).toHaveLength(0);
  });

  it('invalid JSON → 1007, binary → 1003, unknown frame type → error frame and the socket stays open', async () => {
    const a = await connect();
    a.ws.send('{not json');
    expect((await a.closed).code).toBe(1007);
    const b = await connect();
    b.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await b.closed).code).toBe(1003);
    const c = await connect();
    c.ws.send(JSON.stringify({ type: 'session.update' }));
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ status: 400 });
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
  });

  it('idle connection → closed with 1000 "idle timeout"', async () => {
    const c = await connect();
    const closed = await c.closed;
    expect(closed).toMatchObject({ code: 1000, reason: 'idle timeout' });
  });

  it('too many connections per key → the extra one is closed with 1013', async () => {
    const own = await createKey(gw);
    const a = await connect(own.key);
    const b = await connect(own.key);
    const c = await connect(own.key);
    expect((await c.closed).code).toBe(1013);
    expect(c.frames[0]).toMatchObject({
      type: 'error',
      status: 429,
      error: { code: 'too_many_connections' },
    });
    a.ws.close();
    b.ws.close();
    await Promise.all([a.closed, b.closed]);
    const d = await connect(own.key); // slots are given back on close
    d.ws.close();
  });

  it('a client that drops mid-response leaves no upstream stream open', async () => {
    const c = await connect();
    fake.respondWith({ text: 'word '.repeat(400) });
    c.ws.send(create({ input: [userMsg('long')] }));
    await c.next((f) => f.type === 'response.output_text.delta');
    c.ws.terminate();
    expect(await fake.waitForStreamsClosed(3000)).toBe(true);
  });

  it('a second response.create while one is running is refused on the same socket', async () => {
    const c = await connect();
    fake.fault(accts[0].chatgptAccountId, { kind: 'slow_first_byte', delayMs: 300 });
    fake.fault(accts[1].chatgptAccountId, { kind: 'slow_first_byte', delayMs: 300 });
    fake.respondWith({ text: 'slow' });
    c.ws.send(create({ input: [userMsg('a')] }));
    c.ws.send(create({ input: [userMsg('b')] }));
    expect(await c.next((f) => f.type === 'error')).toMatchObject({
      status: 409,
      error: { code: 'response_in_progress' },
    });
    expect((await c.next((f) => f.type === 'response.completed')).type).toBe('response.completed');
    c.ws.close();
    fake.reset();
  });
});

describe('switched off', () => {
  it('answers the upgrade with 426 at once', async () => {
    const off = await startGateway({
      env: { CODEX_BASE_URL: fake.codexBaseUrl, RESPONSES_WEBSOCKET: 'false' },
    });
    const offKey = (await createKey(off)).key;
    try {
      const t0 = Date.now();
      const err = await new Promise<{ status: number; body: string }>((resolve) => {
        const ws = new WebSocket(`${off.url.replace('http', 'ws')}/v1/responses`, {
          headers: { authorization: `Bearer ${offKey}` },
        });
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
      });
      expect(err.status).toBe(426);
      expect(JSON.parse(err.body).error.code).toBe('upgrade_required');
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await off.close();
    }
  });
});
