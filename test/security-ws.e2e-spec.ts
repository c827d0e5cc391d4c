import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey, createUser } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { call } from './support/http.js';
import { query } from './support/wait.js';
import { connectWs, type WsConn } from './support/ws.js';

/**
 * Issue 22 (security, third pass), the WebSocket items: a socket is admitted frame by frame with the key's and
 * user's current state (item 1, on two replicas of one deployment), has a maximum lifetime, prewarm frames are
 * counted and bounded (item 4), frames obey the JSON depth limit (item 9).
 */
let fake: FakeUpstream;
let gw1: TestGateway;
let gw2: TestGateway;
let admin: string;

beforeAll(async () => {
  fake = await FakeUpstream.start();
  const env = {
    OPENAI_AUTH_ISSUER: fake.url,
    CODEX_BASE_URL: fake.codexBaseUrl,
    RESPONSES_WS_MAX_LIFETIME_SECONDS: '3',
    RESPONSES_WS_MAX_FRAME_BYTES: '1048576',
    RESPONSES_WS_HISTORY_BYTES_PER_SOCKET: '200000',
    RESPONSES_WS_HISTORY_BYTES_PER_KEY: '300000',
  };
  gw1 = await startGateway({ env });
  gw2 = await startGateway({ env, shareWith: gw1 });
  const a = fake.addAccount();
  await seedAccount(gw1, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  admin = (await createAdminKey(gw1)).key;
});
afterAll(async () => {
  await gw2.close();
  await gw1.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const connect = connectWs;
type Conn = WsConn;

const create = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'response.create', model: 'gpt-5.5', stream: true, input: 'hi', ...extra });
const ends = (f: any) => f.type === 'response.completed' || f.type === 'error';
const upstreamCalls = () => fake.requestsTo('/backend-api/codex/responses').length;

/** Sends one frame and waits for its terminal frame (completed or error), skipping the ones already seen. */
async function roundTrip(c: Conn, frame: string): Promise<any> {
  const seen = new Set(c.frames);
  c.ws.send(frame);
  return c.next((f) => ends(f) && !seen.has(f));
}

describe('item 1: a WebSocket keeps only the permissions its key and user have now', () => {
  it('a key revoked on replica 1 closes a socket open on replica 2 within 1 s (close 1008)', async () => {
    const { key, keyId } = await createKey(gw1);
    const c = await connect(gw2, key);
    fake.respondWith({ text: 'before' });
    expect((await roundTrip(c, create())).type).toBe('response.completed');
    const t0 = Date.now();
    const r = await call(gw1, 'DELETE', `/admin/api/keys/${keyId}`, { key: admin });
    expect(r.status).toBeLessThan(300);
    const closed = await Promise.race([
      c.closed,
      new Promise<null>((res) => setTimeout(() => res(null), 3000)),
    ]);
    expect(closed).not.toBeNull();
    expect(closed!.code).toBe(1008);
    expect(closed!.reason).toMatch(/revoked|expired|disabled/);
    expect(closed!.at - t0).toBeLessThan(1000 + 300);
  });

  it('a disabled user: every replica closes its sockets; a deleted user likewise', async () => {
    const u = await createUser(gw1);
    const { key } = await createKey(gw1, { userId: u.id });
    const c1 = await connect(gw1, key);
    const c2 = await connect(gw2, key);
    const r = await call(gw1, 'PATCH', `/admin/api/users/${u.id}`, { key: admin, body: { disabled: true } });
    expect(r.status).toBe(200);
    const [a, b] = await Promise.all([c1.closed, c2.closed]);
    expect([a.code, b.code]).toEqual([1008, 1008]);
    const u2 = await createUser(gw1);
    const k2 = await createKey(gw1, { userId: u2.id });
    const c3 = await connect(gw2, k2.key);
    const del = await call(gw1, 'DELETE', `/admin/api/users/${u2.id}`, { key: admin });
    expect(del.status).toBeLessThan(300);
    expect((await c3.closed).code).toBe(1008);
  });

  it('an expiry that passes while the socket is open closes it', async () => {
    const { key } = await createKey(gw1, { expiresAt: new Date(Date.now() + 1500) });
    const c = await connect(gw2, key);
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
  });

  it('lowered user limits and a narrowed model list apply to the next frame of an open socket', async () => {
    const u = await createUser(gw1);
    const { key, keyId } = await createKey(gw1, { userId: u.id });
    const c = await connect(gw2, key);
    fake.respondWith({ text: 'one', usage: { input_tokens: 5, output_tokens: 5 } }, 3);
    expect((await roundTrip(c, create())).type).toBe('response.completed');
    const r = await call(gw1, 'PATCH', `/admin/api/users/${u.id}`, {
      key: admin,
      body: { rpm: 1, dailyTokenQuota: 1 },
    });
    expect(r.status).toBe(200);
    await new Promise((res) => setTimeout(res, 300));
    // The user's new counters start now: this frame takes the one request of the minute (and the quota's first).
    expect((await roundTrip(c, create())).type).toBe('response.completed');
    const before = upstreamCalls();
    const limited = await roundTrip(c, create());
    expect(limited).toMatchObject({ type: 'error', status: 429 });
    // A prewarm frame is admitted like any other (item 4): refused too, nothing goes upstream.
    const warm = await roundTrip(c, create({ generate: false }));
    expect(warm).toMatchObject({ type: 'error', status: 429 });
    expect(upstreamCalls()).toBe(before);
    await call(gw1, 'PATCH', `/admin/api/users/${u.id}`, {
      key: admin,
      body: { rpm: null, dailyTokenQuota: null },
    });
    const narrowed = await call(gw1, 'PATCH', `/admin/api/keys/${keyId}`, {
      key: admin,
      body: { allowedModels: ['gpt-5.4'] },
    });
    expect(narrowed.status).toBe(200);
    await new Promise((res) => setTimeout(res, 300));
    const refused = await roundTrip(c, create());
    expect(refused).toMatchObject({ type: 'error', status: 403, error: { code: 'model_not_allowed' } });
    expect(upstreamCalls()).toBe(before);
    c.ws.close();
  });

  it('a socket has a maximum lifetime that frames do not extend (RESPONSES_WS_MAX_LIFETIME_SECONDS)', async () => {
    const { key } = await createKey(gw1);
    const c = await connect(gw2, key);
    const t0 = Date.now();
    const timer = setInterval(() => c.ws.send(JSON.stringify({ type: 'response.processed' })), 200);
    const closed = await c.closed;
    clearInterval(timer);
    expect(closed.code).toBe(1000);
    expect(closed.reason).toMatch(/lifetime/);
    expect(Date.now() - t0).toBeLessThan(4500);
  });
});

describe('item 4: prewarm frames are admitted and what a socket remembers is bounded', () => {
  const big = (tag: string) => create({ generate: false, input: `${tag} ${'x'.repeat(120_000)}` });
  const chainTo = (id: string) => create({ generate: false, previous_response_id: id, input: 'more' });

  it("prewarm frames count against the key's RPM", async () => {
    const { key } = await createKey(gw1, { rpm: 2 });
    const c = await connect(gw2, key);
    expect((await roundTrip(c, create({ generate: false }))).type).toBe('response.completed');
    expect((await roundTrip(c, create({ generate: false }))).type).toBe('response.completed');
    expect(await roundTrip(c, create({ generate: false }))).toMatchObject({ type: 'error', status: 429 });
    c.ws.close();
  });

  it('remembered histories are bounded per socket and per key; the oldest make room', async () => {
    const { key } = await createKey(gw1);
    const a = await connect(gw2, key);
    const a1 = await roundTrip(a, big('a1'));
    const a2 = await roundTrip(a, big('a2'));
    // 2 × 120 KB > 200 KB per socket: a1 was dropped to make room for a2.
    expect(await roundTrip(a, chainTo(a1.response.id))).toMatchObject({
      type: 'error',
      error: { code: 'previous_response_not_found' },
    });
    const b = await connect(gw2, key);
    const b1 = await roundTrip(b, big('b1'));
    // a2 + b1 = 240 KB ≤ 300 KB per key; a third socket's history does not fit beside them.
    const c = await connect(gw2, key);
    const c1 = await roundTrip(c, big('c1'));
    expect(await roundTrip(c, chainTo(c1.response.id))).toMatchObject({
      error: { code: 'previous_response_not_found' },
    });
    expect((await roundTrip(b, chainTo(b1.response.id))).type).toBe('response.completed');
    // A closed socket gives its bytes back to the key.
    a.ws.close();
    await a.closed;
    const c2 = await roundTrip(c, big('c2'));
    expect((await roundTrip(c, chainTo(c2.response.id))).type).toBe('response.completed');
    void a2;
    b.ws.close();
    c.ws.close();
  });

  it('a compressed frame is bounded by its inflated size (1009 above RESPONSES_WS_MAX_FRAME_BYTES)', async () => {
    const { key } = await createKey(gw1);
    const c = await connect(gw2, key);
    c.ws.send(create({ input: 'y'.repeat(2 * 1024 * 1024) }), { compress: true });
    expect((await c.closed).code).toBe(1009);
  });
});

describe('item 9: frames obey the JSON depth limit of HTTP bodies', () => {
  it.each([100, 20_000])(
    'a %d-deep frame → error frame 400 json_too_deep, nothing upstream, socket usable',
    async (depth) => {
      const { key, keyId } = await createKey(gw1);
      const c = await connect(gw2, key);
      const deep = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
      const frame = create({ metadata: '__deep__' }).replace('"__deep__"', deep);
      const err = await roundTrip(c, frame);
      expect(err).toMatchObject({ type: 'error', status: 400, error: { code: 'json_too_deep' } });
      expect(upstreamCalls()).toBe(0);
      fake.respondWith({ text: 'fine' });
      expect((await roundTrip(c, create())).type).toBe('response.completed');
      c.ws.close();
      await new Promise((res) => setTimeout(res, 1200));
      const rows = await query(gw1, 'SELECT status FROM usage_records WHERE "keyId" = $1', [keyId]);
      expect(rows.map((r) => Number(r.status))).toEqual([200]);
    },
  );
});
