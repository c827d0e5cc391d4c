import OpenAI from 'openai';
import WebSocket from 'ws';
import { FakeUpstream, type FakeAccount } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { call } from './support/http.js';

/**
 * Issue 24 acceptance: a 20-turn tool-using conversation whose account is forced to change three times (a usage
 * limit cooldown, an account deactivated upstream, the owner's reserve reached) completes with 0 client-visible errors, over
 * HTTP and WebSocket, /v1/responses and /v1/chat/completions. The fake refuses another account's encrypted
 * reasoning exactly as the backend does, so every move exercises the rewrite (and `refusedOpaque` stays 0).
 */
let fake: FakeUpstream;
let gw: TestGateway | null = null;
let key: string;
let client: OpenAI;
/** The gateway's ids of A–D, and an admin key to change them. */
let ids: string[] = [];
let admin: string;
beforeAll(async () => {
  fake = await FakeUpstream.start();
});
afterEach(async () => {
  await gw?.close();
  gw = null;
});
afterAll(() => fake.close());

/** A fresh gateway with four accounts in priority order A > B > C > D. */
async function accounts(): Promise<FakeAccount[]> {
  fake.reset();
  gw = await startGateway({
    env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl, POOL_STRATEGY: 'priority' },
  });
  const out: FakeAccount[] = [];
  ids = [];
  for (let i = 0; i < 4; i++) {
    const a = fake.addAccount();
    // C reports half of its windows used: reaching the owner's reserve below is a setting, not traffic.
    if (i === 2)
      fake.setUsageHeaders(a.chatgptAccountId, { primaryUsedPercent: 50, secondaryUsedPercent: 50 });
    const id = await seedAccount(gw, {
      ...a,
      accessTokenExpiresAt: a.accessExpiresAt,
      label: 'ABCD'[i],
      priority: 40 - i * 10,
    });
    ids.push(id);
    out.push(a);
  }
  key = (await createKey(gw)).key;
  admin = (await createAdminKey(gw)).key;
  client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  return out;
}

const lookup = {
  type: 'function' as const,
  name: 'lookup',
  parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
  strict: false,
};
const served = () => fake.requestsTo('/backend-api/codex/responses').at(-1)!.chatgptAccountId;

/** Before turn t: the faults that force the three moves; the answer the turn gets (odd turns call the tool). */
async function stage(t: number, acc: FakeAccount[]): Promise<boolean> {
  if (t === 6) fake.fault(acc[0].chatgptAccountId, { kind: 'usage_limit', resetsInSeconds: 3600 });
  if (t === 11) fake.fault(acc[1].chatgptAccountId, { kind: 'forbidden', variant: 'account_deactivated' });
  if (t === 16) {
    // The owner keeps 60 % of C's plan: at 50 % used, C takes no new work (issue 23's reserve).
    const r = await call(gw!, 'PATCH', `/admin/api/accounts/${ids[2]}`, {
      key: admin,
      body: { reservePercent: 60 },
    });
    expect(r.status).toBe(200);
  }
  const tool = t % 2 === 1;
  fake.respondWith(
    tool
      ? { reasoningSummary: `plan ${t}`, functionCalls: [{ name: 'lookup', arguments: `{"q":"${t}"}` }] }
      : { reasoningSummary: `plan ${t}`, text: `answer ${t}` },
  );
  return tool;
}

function expectMovedThreeTimes(path: string[], acc: FakeAccount[]) {
  const ids = acc.map((a) => a.chatgptAccountId);
  expect(path).toEqual([
    ...Array(5).fill(ids[0]),
    ...Array(5).fill(ids[1]),
    ...Array(5).fill(ids[2]),
    ...Array(5).fill(ids[3]),
  ]);
  expect(fake.refusedOpaque).toBe(0);
}

describe('a 20-turn tool conversation survives three account changes', () => {
  it('HTTP /v1/responses, the client replaying every item (encrypted reasoning included)', async () => {
    const acc = await accounts();
    const path: string[] = [];
    let input: any[] = [{ role: 'user', content: 'http responses run' }];
    for (let t = 1; t <= 20; t++) {
      const tool = await stage(t, acc);
      const r = await client.responses.create({ model: 'gpt-5.5', input, tools: [lookup] });
      expect(r.status).toBe('completed');
      path.push(served()!);
      const call = r.output.find((o) => o.type === 'function_call') as any;
      expect(Boolean(call)).toBe(tool);
      input = [
        ...input,
        ...r.output,
        tool
          ? { type: 'function_call_output', call_id: call.call_id, output: `result ${t}` }
          : { role: 'user', content: `turn ${t + 1}` },
      ];
    }
    expectMovedThreeTimes(path, acc);
  });

  it('HTTP /v1/responses streaming with previous_response_id (gateway-side state)', async () => {
    const acc = await accounts();
    const path: string[] = [];
    let previous: string | undefined;
    let next: any[] = [{ role: 'user', content: 'stored state run' }];
    for (let t = 1; t <= 20; t++) {
      const tool = await stage(t, acc);
      const stream = await client.responses.create({
        model: 'gpt-5.5',
        input: next,
        tools: [lookup],
        stream: true,
        ...(previous ? { previous_response_id: previous } : {}),
      });
      let done: any;
      const items: any[] = [];
      for await (const ev of stream) {
        expect(ev.type).not.toBe('error');
        if (ev.type === 'response.output_item.done') items.push(ev.item);
        if (ev.type === 'response.completed') done = ev.response;
      }
      path.push(served()!);
      previous = done.id;
      const call = items.find((o: any) => o.type === 'function_call');
      next = tool
        ? [{ type: 'function_call_output', call_id: call.call_id, output: `result ${t}` }]
        : [{ role: 'user', content: `turn ${t + 1}` }];
    }
    expectMovedThreeTimes(path, acc);
  });

  it('WebSocket /v1/responses, chained with previous_response_id on one socket', async () => {
    const acc = await accounts();
    const ws = new WebSocket(`${gw!.url.replace('http', 'ws')}/v1/responses`, {
      headers: { authorization: `Bearer ${key}` },
    });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const frames: any[] = [];
    let wake: (() => void) | null = null;
    ws.on('message', (d) => {
      frames.push(JSON.parse(String(d)));
      wake?.();
    });
    const terminal = async () => {
      for (;;) {
        const f = frames.find(
          (x) => x.type === 'response.completed' || x.type === 'error' || x.type === 'response.failed',
        );
        if (f) {
          const items = frames.filter((x) => x.type === 'response.output_item.done').map((x) => x.item);
          frames.length = 0;
          return { ...f, items };
        }
        await new Promise<void>((r) => (wake = r));
      }
    };
    const path: string[] = [];
    let previous: string | undefined;
    let next: any[] = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'ws run' }] }];
    try {
      for (let t = 1; t <= 20; t++) {
        const tool = await stage(t, acc);
        ws.send(
          JSON.stringify({
            type: 'response.create',
            model: 'gpt-5.5',
            stream: true,
            input: next,
            tools: [lookup],
            ...(previous ? { previous_response_id: previous } : {}),
          }),
        );
        const end = await terminal();
        expect(end.type).toBe('response.completed');
        path.push(served()!);
        previous = end.response.id;
        const call = end.items.find((o: any) => o.type === 'function_call');
        next = tool
          ? [{ type: 'function_call_output', call_id: call.call_id, output: `result ${t}` }]
          : [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: `turn ${t + 1}` }] }];
      }
    } finally {
      ws.close();
    }
    expectMovedThreeTimes(path, acc);
  });

  it('HTTP /v1/chat/completions tool loop', async () => {
    const acc = await accounts();
    const path: string[] = [];
    let messages: any[] = [{ role: 'user', content: 'chat run' }];
    for (let t = 1; t <= 20; t++) {
      const tool = await stage(t, acc);
      const r = await client.chat.completions.create({
        model: 'gpt-5.5',
        messages,
        tools: [{ type: 'function', function: { name: lookup.name, parameters: lookup.parameters } }],
        stream: t % 4 === 0 ? undefined : false,
      });
      path.push(served()!);
      const m = r.choices[0].message;
      expect(Boolean(m.tool_calls?.length)).toBe(tool);
      messages = [
        ...messages,
        m,
        ...(tool
          ? m.tool_calls!.map((c) => ({ role: 'tool', tool_call_id: c.id, content: `result ${t}` }))
          : [{ role: 'user', content: `turn ${t + 1}` }]),
      ];
    }
    expectMovedThreeTimes(path, acc);
  });
});
