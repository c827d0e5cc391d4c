import OpenAI from 'openai';
import { fakeEnv, useFakeUpstream } from './support/scenario.js';
import { startGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';

/**
 * `response.failed` inside a 200 stream (issue 10 defect 7): a usage-limit or rate-limit failure before any output
 * cools the account down and fails over invisibly, because the client's headers are held until the first output
 * event. Also measures what holding the headers costs in time to first byte.
 */
const fake = useFakeUpstream({ reset: false });

async function setup(env: Record<string, string> = {}) {
  const gw = await startGateway({
    env: {
      ...fakeEnv(fake),
      POOL_STRATEGY: 'priority',
      ...env,
    },
  });
  const a = fake.addAccount();
  const b = fake.addAccount();
  await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt, label: 'A', priority: 10 });
  await seedAccount(gw, { ...b, accessTokenExpiresAt: b.accessExpiresAt, label: 'B', priority: 1 });
  const { key } = await createKey(gw);
  return { gw, a, b, key, client: new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 }) };
}
const calls = () => fake.requestsTo('/backend-api/codex/responses').map((r) => r.chatgptAccountId);

describe('failover on response.failed before any output', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    ctx = await setup();
  });
  afterAll(() => ctx.gw.close());
  beforeEach(() => fake.reset());

  it('usage_limit_reached (streaming /v1/responses): the client sees only B’s answer; A cools down', async () => {
    fake.fault(ctx.a.chatgptAccountId, {
      kind: 'failed_in_stream',
      code: 'usage_limit_reached',
      resetsInSeconds: 3600,
    });
    const stream = await ctx.client.responses.create({ model: 'gpt-5.5', input: 'hello', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    expect(text).toContain('hello');
    expect(types).not.toContain('response.failed');
    expect(types.filter((t) => t === 'response.created')).toHaveLength(1);
    expect(calls()).toEqual([ctx.a.chatgptAccountId, ctx.b.chatgptAccountId]);
    fake.reset();
    await ctx.client.responses.create({ model: 'gpt-5.5', input: 'again' });
    expect(calls()).toEqual([ctx.b.chatgptAccountId]);
  });

  it('rate_limit_exceeded (chat, streaming and not): fails over, chat stream stays valid', async () => {
    const c2 = await setup();
    try {
      fake.reset();
      fake.fault(c2.a.chatgptAccountId, {
        kind: 'failed_in_stream',
        code: 'rate_limit_exceeded',
        message: 'Rate limit reached. Please try again in 20s.',
      });
      const r = await c2.client.chat.completions.create({
        model: 'gpt-5.5',
        messages: [{ role: 'user', content: 'ping' }],
      });
      expect(r.choices[0].message.content).toContain('ping');
      expect(calls()).toEqual([c2.a.chatgptAccountId, c2.b.chatgptAccountId]);
      fake.reset();
      const stream = await c2.client.chat.completions.create({
        model: 'gpt-5.5',
        messages: [{ role: 'user', content: 'pong' }],
        stream: true,
      });
      let text = '';
      for await (const ch of stream) text += ch.choices[0]?.delta?.content ?? '';
      expect(text).toContain('pong');
      expect(calls()).toEqual([c2.b.chatgptAccountId]); // A still cooling down
    } finally {
      await c2.gw.close();
    }
  });

  it('a failure that is not about the account (context_length_exceeded) is not failed over', async () => {
    fake.fault(ctx.b.chatgptAccountId, { kind: 'failed_in_stream', code: 'context_length_exceeded' });
    const e = await ctx.client.responses.create({ model: 'gpt-5.5', input: 'too long' }).catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(calls()).toHaveLength(1);
  });
});

describe('what holding the headers costs', () => {
  it('time to first byte with and without the hold (fake upstream, 30 streams each)', async () => {
    const measure = async (hold: boolean, firstOutputDelayMs: number) => {
      const c = await setup({ HOLD_HEADERS_UNTIL_OUTPUT: String(hold) });
      try {
        const ttfb: number[] = [];
        for (let i = 0; i < 30; i++) {
          fake.respondWith({ text: 'a b c d', firstOutputDelayMs });
          const t = performance.now();
          const res = await fetch(`${c.gw.url}/v1/responses`, {
            method: 'POST',
            headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'gpt-5.5', input: 'x', stream: true }),
          });
          ttfb.push(performance.now() - t);
          await res.text();
        }
        ttfb.sort((x, y) => x - y);
        return { p50: ttfb[15], p90: ttfb[27] };
      } finally {
        await c.gw.close();
      }
    };
    const results: Record<string, { p50: number; p90: number }> = {};
    for (const delay of [0, 200]) {
      results[`hold off, first output after ${delay} ms`] = await measure(false, delay);
      results[`hold on, first output after ${delay} ms`] = await measure(true, delay);
    }
    console.log(
      'TTFB (ms) of streaming /v1/responses against the fake upstream:\n' +
        Object.entries(results)
          .map(([k, v]) => `  ${k}: p50 ${v.p50.toFixed(1)}, p90 ${v.p90.toFixed(1)}`)
          .join('\n'),
    );
    // The hold costs the upstream's own gap between its prelude and its first output event, and little else.
    const on0 = results['hold on, first output after 0 ms'].p50;
    const off0 = results['hold off, first output after 0 ms'].p50;
    expect(on0 - off0).toBeLessThan(50);
    expect(results['hold on, first output after 200 ms'].p50).toBeGreaterThanOrEqual(190);
    expect(results['hold off, first output after 200 ms'].p50).toBeLessThan(150);
  }, 120_000);
});
