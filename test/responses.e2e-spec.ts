import OpenAI from 'openai';
import { FakeUpstream } from './fake-upstream/index.ts';
import { gatewayWithAccounts } from './support/scenario.js';

/** /v1/responses and /v1/models end to end: official openai SDK → gateway → fake upstream. */
let fake: FakeUpstream;
beforeAll(async () => {
  fake = await FakeUpstream.start();
});
afterAll(() => fake.close());

const setup = (accounts: number, env: Record<string, string> = {}) =>
  gatewayWithAccounts(fake, accounts, env);

const responsesCalls = () => fake.requestsTo('/backend-api/codex/responses');

describe('basic API', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    ctx = await setup(1);
  });
  afterAll(() => ctx.gw.close());
  beforeEach(() => fake.reset());

  it('responses.create without stream returns the assembled Response', async () => {
    fake.respondWith({ text: 'Hello from upstream', usage: { input_tokens: 7, output_tokens: 3 } });
    const r = await ctx.client.responses.create({ model: 'gpt-5.5', input: 'hi', instructions: 'Be brief.' });
    expect(r.output_text).toBe('Hello from upstream');
    expect(r.status).toBe('completed');
    expect(r.usage).toMatchObject({ input_tokens: 7, output_tokens: 3, total_tokens: 10 });
  });

  it('streams events as the upstream sends them, without codex.* events', async () => {
    fake.respondWith({ text: 'one two three four five six', reasoningSummary: 'hmm' });
    const stream = await ctx.client.responses.create({ model: 'gpt-5.5', input: 'count', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    expect(text).toBe('one two three four five six');
    expect(types[0]).toBe('response.created');
    expect(types[types.length - 1]).toBe('response.completed');
    expect(types.some((t) => t.startsWith('codex.'))).toBe(false);
    expect(types).toContain('response.reasoning_summary_text.delta');
  });

  it('sends what the Codex CLI sends: header names in order, Codex body rules', async () => {
    await ctx.client.responses.create({
      model: 'gpt-5.5',
      input: [{ role: 'user', content: 'hi' }],
      instructions: 'System text',
      temperature: 0.3,
      max_output_tokens: 50,
      reasoning: { effort: 'low' },
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} } } as any],
      prompt_cache_key: 'conv-1',
    });
    const rec = responsesCalls().at(-1)!;
    const names = rec.rawHeaderNames
      .map((h) => h.toLowerCase())
      .filter((h) => !['host', 'content-length', 'connection'].includes(h));
    expect(names).toEqual([
      'version',
      'x-codex-window-id',
      'x-codex-routing-hint',
      'x-client-request-id',
      'session-id',
      'thread-id',
      'accept',
      'content-type',
      'authorization',
      'chatgpt-account-id',
      'originator',
      'user-agent',
    ]);
    expect(rec.headers.originator).toBe('codex_exec');
    expect(rec.headers['user-agent']).toBe(
      'codex_exec/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.169.0)',
    );
    expect(rec.headers['session-id']).toBe(rec.headers['thread-id']);
    expect(rec.headers['x-codex-window-id']).toBe(`${rec.headers['session-id']}:0`);
    for (const n of Object.keys(rec.headers)) expect(n).not.toMatch(/^x-stainless|^x-forwarded/);
    expect(rec.body).toMatchObject({
      model: 'gpt-5.5',
      stream: true,
      store: false,
      instructions: '',
      // the per-user conversation id, never the client's raw key (test/conversation.e2e-spec.ts)
      prompt_cache_key: rec.headers['session-id'],
    });
    expect(rec.body.input[0]).toEqual({
      type: 'message',
      role: 'developer',
      content: [{ type: 'input_text', text: 'System text' }],
    });
    expect(rec.body.include).toEqual(['reasoning.encrypted_content']);
    expect(rec.body.tools[0].strict).toBe(false);
    expect(rec.body).not.toHaveProperty('temperature');
    expect(rec.body).not.toHaveProperty('max_output_tokens');
  });

  it('lists models with reasoning-effort aliases, and resolves an alias upstream', async () => {
    const models = await ctx.client.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-5.5', 'gpt-5.5-high', 'gpt-5.6-codex']));
    expect(models.data[0]).toMatchObject({
      object: 'model',
      owned_by: 'openai',
      created: expect.any(Number),
    });
    const one = await ctx.client.models.retrieve('gpt-5.5-high');
    expect(one.id).toBe('gpt-5.5-high');
    await ctx.client.responses.create({ model: 'gpt-5.5-high', input: 'x' });
    expect(responsesCalls().at(-1)!.body).toMatchObject({ model: 'gpt-5.5', reasoning: { effort: 'high' } });
    const missing = await ctx.client.models.retrieve('nope').catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('refuses previous_response_id, bad JSON and the wrong method with the envelope', async () => {
    const e = await ctx.client.responses
      .create({ model: 'gpt-5.5', input: 'x', previous_response_id: 'resp_1' })
      .catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(e.param).toBe('previous_response_id');
    const bad = await fetch(`${ctx.gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.key}`, 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe('invalid_json');
    const get = await fetch(`${ctx.gw.url}/v1/responses`, {
      headers: { authorization: `Bearer ${ctx.key}` },
    });
    expect(get.status).toBe(405);
  });

  it('refreshes after a lasting upstream 401 and retries, invisibly', async () => {
    fake.revokeAccessToken(ctx.accts[0].fake.chatgptAccountId);
    const before = fake.refreshCount(ctx.accts[0].fake.chatgptAccountId);
    const r = await ctx.client.responses.create({ model: 'gpt-5.5', input: 'after 401' });
    expect(r.output_text).toContain('after 401');
    expect(fake.refreshCount(ctx.accts[0].fake.chatgptAccountId)).toBe(before + 1);
  });

  it('ends a stream cut mid-way with an error event the SDK raises', async () => {
    fake.fault(ctx.accts[0].fake.chatgptAccountId, { kind: 'cut_stream', afterEvents: 6 });
    fake.respondWith({ text: 'a b c d e f g h i j k l m n o p' });
    const stream = await ctx.client.responses.create({ model: 'gpt-5.5', input: 'x', stream: true });
    const err = await (async () => {
      for await (const _ev of stream) {
        /* drain */
      }
    })().catch((x) => x);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String(err.message)).toMatch(/ended before|broke/);
  });

  it('closes the upstream stream within a second when the client aborts', async () => {
    fake.respondWith({ text: 'word '.repeat(3000) });
    const ac = new AbortController();
    const stream = await ctx.client.responses.create(
      { model: 'gpt-5.5', input: 'x', stream: true },
      { signal: ac.signal },
    );
    let n = 0;
    await (async () => {
      for await (const _ev of stream) {
        if (++n === 5) ac.abort();
      }
    })().catch(() => {});
    expect(await fake.waitForStreamsClosed(1000)).toBe(true);
  });
});
