import OpenAI from 'openai';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { RedisService } from '../src/redis/redis.service.js';

/**
 * Issue 24 item 2: gateway-side response state for a store:false upstream. `previous_response_id` and
 * `item_reference` (the Vercel AI SDK's default in tool loops) resolve against the responses this gateway relayed
 * for the same key; unknown, other keys' and expired ids are a 400 naming them; the stored items are sealed.
 */
let fake: FakeUpstream;
let gw: TestGateway;
let client: OpenAI;
let other: OpenAI;
beforeAll(async () => {
  fake = await FakeUpstream.start();
  gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
  const a = fake.addAccount();
  await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  client = new OpenAI({ apiKey: (await createKey(gw)).key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  other = new OpenAI({ apiKey: (await createKey(gw)).key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const upstream = () => fake.requestsTo('/backend-api/codex/responses');
const tool = {
  type: 'function' as const,
  name: 'lookup',
  parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
  strict: false,
};

describe('previous_response_id', () => {
  it('chains a tool loop: the upstream gets the stored input + output + the new input', async () => {
    fake.respondWith({
      reasoningSummary: 'call the tool',
      functionCalls: [{ name: 'lookup', arguments: '{"q":"x"}' }],
    });
    const first = await client.responses.create({ model: 'gpt-5.5', input: 'look x up', tools: [tool] });
    const call = first.output.find((o) => o.type === 'function_call') as any;
    const reasoning = first.output.find((o) => o.type === 'reasoning') as any;
    const second = await client.responses.create({
      model: 'gpt-5.5',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'found it' }],
      tools: [tool],
    });
    expect(second.status).toBe('completed');
    const sent = upstream().at(-1)!.body;
    expect(sent).not.toHaveProperty('previous_response_id');
    expect(sent.input.map((i: any) => i.type ?? i.role)).toEqual([
      'message',
      'reasoning',
      'function_call',
      'function_call_output',
    ]);
    expect(sent.input[1].encrypted_content).toBe(reasoning.encrypted_content);
    expect(sent.input[2].call_id).toBe(call.call_id);

    // And on again from the second response, streaming.
    const stream = await client.responses.create({
      model: 'gpt-5.5',
      previous_response_id: second.id,
      input: 'and now?',
      stream: true,
    });
    let text = '';
    for await (const ev of stream) if (ev.type === 'response.output_text.delta') text += ev.delta;
    expect(text).toContain('and now?');
    expect(upstream().at(-1)!.body.input).toHaveLength(6);
  });

  it('unknown, another key’s and expired ids are a 400 naming the parameter and saying why', async () => {
    const mine = await client.responses.create({ model: 'gpt-5.5', input: 'mine' });
    for (const [c, id] of [
      [client, 'resp_unknown'],
      [other, mine.id],
    ] as const) {
      const e = await c.responses
        .create({ model: 'gpt-5.5', input: 'x', previous_response_id: id })
        .catch((x) => x);
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      expect(e.error).toMatchObject({ param: 'previous_response_id', code: 'previous_response_not_found' });
      expect(e.message).toContain(id);
      expect(e.message).toContain('upstream stores nothing');
    }
    const redis = gw.app.get(RedisService);
    const [stored] = await redis.client.keys(redis.key('resp', '*', mine.id));
    expect(stored).toBeDefined();
    await redis.client.pexpire(stored, 1); // as after the sticky TTL
    await new Promise((r) => setTimeout(r, 20));
    const e = await client.responses
      .create({ model: 'gpt-5.5', input: 'x', previous_response_id: mine.id })
      .catch((x) => x);
    expect(e.status).toBe(400);
    expect(e.error.param).toBe('previous_response_id');
    expect(upstream()).toHaveLength(1);
  });
});

describe('item_reference (Vercel AI SDK style)', () => {
  it('references expand to the items they name; an unknown one is a 400 naming its position', async () => {
    fake.respondWith({ text: 'the answer', reasoningSummary: 'pondering' });
    const first = await client.responses.create({ model: 'gpt-5.5', input: 'question' });
    const refs = first.output.map((o: any) => ({ type: 'item_reference', id: o.id }));
    await client.responses.create({
      model: 'gpt-5.5',
      input: [{ role: 'user', content: 'question' }, ...refs, { role: 'user', content: 'follow-up' }] as any,
    });
    const sent = upstream().at(-1)!.body.input;
    expect(sent.some((i: any) => i.type === 'item_reference')).toBe(false);
    expect(sent[1]).toMatchObject({
      type: 'reasoning',
      encrypted_content: (first.output[0] as any).encrypted_content,
    });
    expect(sent[2]).toMatchObject({ type: 'message', role: 'assistant' });
    expect(JSON.stringify(sent[2])).toContain('the answer');

    const e = await client.responses
      .create({
        model: 'gpt-5.5',
        input: [
          { role: 'user', content: 'q' },
          { type: 'item_reference', id: 'msg_nope' },
        ] as any,
      })
      .catch((x) => x);
    expect(e.status).toBe(400);
    expect(e.error).toMatchObject({ param: 'input[1]', code: 'item_not_found' });
    expect(e.message).toContain('msg_nope');
    const foreign = await other.responses
      .create({ model: 'gpt-5.5', input: [{ role: 'user', content: 'q' }, refs[1]] as any })
      .catch((x) => x);
    expect(foreign.status).toBe(400);
  });
});

describe('at rest', () => {
  it('stored items are unreadable in a Redis dump without the encryption key', async () => {
    const secret = 'my-very-secret-question-4711';
    fake.respondWith({ text: `echo ${secret}`, reasoningSummary: `thinking about ${secret}` });
    const r = await client.responses.create({ model: 'gpt-5.5', input: secret });
    const redis = gw.app.get(RedisService);
    const keys = await redis.client.keys(`${gw.config.REDIS_KEY_PREFIX}*`);
    const dump: string[] = [];
    for (const k of keys) {
      const type = await redis.client.type(k);
      if (type === 'string') dump.push(k, (await redis.client.get(k)) ?? '');
      else if (type === 'list') dump.push(k, ...(await redis.client.lrange(k, 0, -1)));
      else if (type === 'hash') dump.push(k, JSON.stringify(await redis.client.hgetall(k)));
    }
    const all = dump.join('\n');
    expect(all).toContain(r.id); // the response is stored (by id) …
    expect(all).not.toContain(secret); // … but neither the question, the answer nor the reasoning is readable
    expect(all).not.toContain((r.output[0] as any).encrypted_content);
    expect(all).not.toContain('pondering');
  });
});
