import { fakeEnv, useFakeUpstream } from './support/scenario.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';

/**
 * Upstream capacity: many long streams are held at once (no hidden connection cap / queue), the configured
 * bound answers 503 at once instead of queueing, and the capacity gauges show it.
 */
const fake = useFakeUpstream();

async function setup(env: Record<string, string> = {}) {
  const gw = await startGateway({
    env: { ...fakeEnv(fake), ...env },
  });
  const a = fake.addAccount();
  await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  const { key } = await createKey(gw);
  const stream = () =>
    fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5.5', input: 'hold', stream: true }),
    });
  return { gw, stream };
}

async function metric(gw: TestGateway, name: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

it('holds 150 streams open at the upstream at once (more than the old 64-connection pool)', async () => {
  const { gw, stream } = await setup();
  try {
    fake.configure({ holdMs: 5000, eventDelayMs: 0, record: false });
    const t0 = Date.now();
    const all = await Promise.all(
      Array.from({ length: 150 }, async () => {
        const r = await stream();
        return { status: r.status, text: await r.text() };
      }),
    );
    expect(all.every((r) => r.status === 200 && r.text.includes('response.completed'))).toBe(true);
    expect(fake.maxOpenStreams).toBe(150);
    expect(Date.now() - t0).toBeLessThan(5000 * 3); // with a 64-connection pool: three waves, > 15 s
    expect(await metric(gw, 'cg_upstream_inflight_requests')).toBe(0);
  } finally {
    await gw.close();
  }
}, 90_000);

it('refuses the request past UPSTREAM_MAX_INFLIGHT with a 503 at once, and reports the gauges', async () => {
  const { gw, stream } = await setup({ UPSTREAM_MAX_INFLIGHT: '2' });
  try {
    fake.configure({ holdMs: 3000, eventDelayMs: 0 });
    const held = [await stream(), await stream()];
    expect(held.map((r) => r.status)).toEqual([200, 200]);
    expect(await metric(gw, 'cg_upstream_inflight_requests')).toBe(2);
    expect(await metric(gw, 'cg_upstream_queued_requests')).toBe(0);
    const t0 = Date.now();
    const third = await stream();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    const body = (await third.json()) as any;
    expect(body.error).toMatchObject({ code: 'upstream_capacity', type: 'service_unavailable' });
    expect(body.error.message).toMatch(/capacity \(2 concurrent upstream requests\)/);
    expect(await metric(gw, 'cg_upstream_capacity_rejections_total')).toBe(1);
    await Promise.all(held.map((r) => r.text()));
    expect(await metric(gw, 'cg_upstream_inflight_requests')).toBe(0);
    // Capacity is back: the next request streams.
    fake.configure({ holdMs: 0 });
    expect((await stream()).status).toBe(200);
  } finally {
    await gw.close();
  }
});

it('exposes event-loop delay, heap and RSS for capacity dashboards', async () => {
  const { gw } = await setup();
  try {
    for (const name of [
      'cg_nodejs_eventloop_lag_p99_seconds',
      'cg_nodejs_heap_size_used_bytes',
      'cg_process_resident_memory_bytes',
    ])
      expect(await metric(gw, name)).toBeGreaterThan(0);
  } finally {
    await gw.close();
  }
});
