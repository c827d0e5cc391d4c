import { FakeUpstream } from '../fake-upstream/index.ts';
import { createKey } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { flushPrefix, testPrefix, TEST_REDIS_URL } from '../support/redis.js';
import {
  GatewayProc,
  hasBuild,
  metricValue,
  modelRequest,
  report,
  seedFakeAccounts,
  seedTarget,
  sleep,
  waitFor,
  gatewayEnv,
} from './support.js';

/**
 * Scenario 5 — upstream faults against the built gateway (child process) and the fake upstream: 5xx bursts,
 * slow first byte, a half-open peer, a stream that stalls, a reset mid-stream, malformed SSE, a 10 MB event.
 * Bounded retries before the first byte, a clean error event after it, circuit breaking, nothing leaked.
 */
const FIRST_BYTE_MS = 1500;
// Long enough for the fake to serialise a 10 MB event on a loaded 2-core machine (1.5 s was not).
const IDLE_MS = 4000;
const CIRCUIT_S = 3;

(hasBuild ? describe : describe.skip)('faults: upstream', () => {
  let fake: FakeUpstream;
  let db: TestDatabase;
  let gw: GatewayProc;
  let key: string;
  const prefix = testPrefix();
  const accounts: { id: string; chatgptAccountId: string }[] = [];
  let baseline = { handles: 0, timers: 0 };
  const handleCount = () => metricValue(gw.url, /^cg_nodejs_active_handles_total /);
  const timerCount = () => metricValue(gw.url, /^cg_nodejs_active_resources\{type="Timeout"\}/);

  beforeAll(async () => {
    fake = await FakeUpstream.start();
    db = await createTestDatabase();
    accounts.push(...(await seedFakeAccounts(fake, db.url, 3)));
    key = (await createKey(seedTarget(db.url))).key;
    gw = await GatewayProc.start(
      'serve',
      gatewayEnv(
        fake,
        { db: db.url, redis: TEST_REDIS_URL, prefix },
        {
          UPSTREAM_FIRST_BYTE_TIMEOUT_MS: String(FIRST_BYTE_MS),
          UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS),
          POOL_CIRCUIT_OPEN_SECONDS: String(CIRCUIT_S),
          POOL_STRATEGY: 'round-robin',
        },
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await gw?.kill('SIGTERM');
    await fake?.close();
    await db?.drop();
    await flushPrefix(prefix);
  });

  const responses = () => fake.requestsTo('/backend-api/codex/responses');
  const streamReq = (body: Record<string, unknown> = {}) =>
    fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5.5', input: 'hello there', stream: true, ...body }),
    });

  it('5xx bursts: bounded failover before the first byte; a failing account is skipped, then probed back in', async () => {
    // Warm-up (first request loads caches), then a baseline of handles for the leak check at the end.
    expect((await modelRequest(gw.url, key)).status).toBe('200');
    await waitFor('idle upstream sockets closed', () => fake.openSockets === 0, 15_000);
    baseline = { handles: await handleCount(), timers: await timerCount() };
    const bad = accounts[0];
    fake.fault(bad.chatgptAccountId, { kind: 'server_error', status: 502 }, 1000);
    const before = responses().length;
    const statuses: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const r = await modelRequest(gw.url, key);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
    const sent = responses().slice(before);
    const toBad = sent.filter((r) => r.chatgptAccountId === bad.chatgptAccountId).length;
    // Re-enable: after the open time, one probe succeeds and the account takes traffic again.
    fake.reset();
    await sleep(CIRCUIT_S * 1000 + 300);
    const mark = responses().length;
    for (let i = 0; i < 9; i++) expect((await modelRequest(gw.url, key)).status).toBe('200');
    const backToBad = responses()
      .slice(mark)
      .filter((r) => r.chatgptAccountId === bad.chatgptAccountId).length;
    report('upstream-5xx-burst', {
      sent: 30,
      byStatus: statuses,
      upstreamCalls: sent.length,
      callsToFailingAccount: toBad,
      afterProbe: `${backToBad}/9`,
    });
    expect(statuses['200']).toBe(30);
    // Opened after 3 consecutive failures, then skipped (a 4th: the probe, when the open time passed meanwhile).
    expect(toBad).toBeLessThanOrEqual(4);
    expect(sent.length).toBe(30 + toBad);
    expect(backToBad).toBeGreaterThanOrEqual(2);
  });

  it('slow first byte and a half-open peer: timed out before the first byte, answered by another account', async () => {
    const out: Record<string, unknown> = {};
    for (const fault of [
      { kind: 'slow_first_byte', delayMs: FIRST_BYTE_MS * 3 } as const,
      { kind: 'half_open' } as const,
    ]) {
      fake.faultNext(fault);
      const before = responses().length;
      const r = await modelRequest(gw.url, key);
      out[fault.kind] = { status: r.status, ms: r.ms, upstreamCalls: responses().length - before };
      expect(r.status).toBe('200');
      expect(r.ms).toBeLessThan(FIRST_BYTE_MS + 3000);
      expect(responses().length - before).toBe(2);
    }
    report('upstream-first-byte', out);
  });

  it('after the first byte: a stall (idle timeout) and a reset end in one clean error event, never a retry', async () => {
    const out: Record<string, unknown> = {};
    for (const fault of [
      { kind: 'stall', afterEvents: 4 } as const,
      { kind: 'cut_stream', afterEvents: 4 } as const,
    ]) {
      fake.faultNext(fault);
      const before = responses().length;
      const t0 = Date.now();
      const res = await streamReq();
      const text = await res.text();
      const ms = Date.now() - t0;
      const errors = text.split('\n').filter((l) => l === 'event: error').length;
      out[fault.kind] = {
        status: res.status,
        ms,
        errorEvents: errors,
        upstreamCalls: responses().length - before,
      };
      expect(res.status).toBe(200);
      expect(errors).toBe(1);
      expect(text).not.toContain('event: response.completed');
      expect(text).toMatch(/"code":"stream_disconnected"/);
      expect(responses().length - before).toBe(1);
      if (fault.kind === 'stall') expect(ms).toBeLessThan(IDLE_MS + 3000);
    }
    report('upstream-mid-stream', out);
  });

  it('malformed SSE is skipped; a 10 MB event is relayed whole', async () => {
    fake.faultNext({ kind: 'malformed' });
    const m = await (await streamReq()).text();
    expect(m).toContain('event: response.completed');
    expect(m).not.toContain('broken json');
    expect(m).not.toContain('event: message');

    const size = 10 * 1024 * 1024;
    fake.faultNext({ kind: 'huge_event', bytes: size });
    const t0 = Date.now();
    const res = await streamReq();
    const big = await res.text();
    const ms = Date.now() - t0;
    expect(big).toContain('event: response.completed');
    expect(big).toContain('x'.repeat(size));
    report('upstream-malformed-and-10MB', {
      malformed: 'completed',
      bigEventBytes: big.length,
      bigEventMs: ms,
    });
  });

  it('no leaked sockets or timers: counts return to their baseline', async () => {
    // Idle keep-alive sockets close after the fake's 5 s keep-alive timeout.
    await waitFor('upstream sockets closed', () => fake.openSockets === 0 && fake.openStreams === 0, 15_000);
    const handles = await handleCount();
    const streams = await metricValue(gw.url, /^cg_inflight_streams /);
    const timers = await timerCount();
    report('upstream-leaks', {
      fakeSockets: fake.openSockets,
      handles: `${baseline.handles}->${handles}`,
      timers: `${baseline.timers}->${timers}`,
      inflight: streams,
    });
    expect(streams).toBe(0);
    // Back to the idle baseline taken before the faults (no upstream socket, no stray timer).
    expect(handles).toBeLessThanOrEqual(baseline.handles + 1);
    expect(timers).toBeLessThanOrEqual(baseline.timers + 2);
  });
});
