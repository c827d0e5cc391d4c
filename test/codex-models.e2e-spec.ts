import { FAKE_MODELS } from './fake-upstream/index.ts';
import { createKey } from './support/auth.js';
import { useFakeGateway } from './support/scenario.js';

/**
 * The Codex CLI's side of the HTTP API: its model catalog (`/v1/models?client_version=…`), effort aliases and
 * their validation (issue 10 defect 6), catalog caching and re-fetch (defect 9), remote compaction
 * (`/v1/responses/compact`) and the turn state relay.
 */
const s = useFakeGateway(2, { MODELS_FAILURE_CACHE_SECONDS: '30' });
beforeEach(() => dropCatalogCache());

/** Forgets the cached catalog (Redis + the replica's memory) so each test sees a fresh fetch. */
async function dropCatalogCache() {
  const { ModelsService } = await import('../src/models/models.service.js');
  const svc = s.gw.app.get(ModelsService);
  (svc as any).memory = null;
  (svc as any).lastEtagSeen = null;
  await (svc as any).redis.client.del((svc as any).redisKey);
}

const get = (path: string, k = s.key, headers: Record<string, string> = {}) =>
  fetch(`${s.gw.url}${path}`, { headers: { authorization: `Bearer ${k}`, ...headers } });
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${s.gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const modelCalls = () => s.fake.requestsTo('/backend-api/codex/models');

describe('the Codex CLI model catalog', () => {
  it('answers client_version requests in the backend format, filtered by the key, with ETag = x-models-etag', async () => {
    const r = await get('/v1/models?client_version=0.169.0');
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.models.map((m: any) => m.slug)).toEqual(FAKE_MODELS.map((m) => m.slug));
    // Entries pass through as the upstream sent them.
    const upstream: any = await (
      await fetch(`${s.fake.codexBaseUrl}/models?client_version=0.169.0`, {
        headers: s.fake.requestsTo('/backend-api/codex/models')[0].headers,
      })
    ).json();
    expect(body.models[0]).toEqual(upstream.models[0]);
    const etag = r.headers.get('etag');
    expect(etag).toMatch(/^"cg-/);
    expect(r.headers.get('x-models-etag')).toBe(etag);
    expect((await get('/v1/models?client_version=0.169.0', s.key, { 'if-none-match': etag! })).status).toBe(
      304,
    );

    const narrow = await createKey(s.gw, { allowedModels: ['gpt-5.5'] });
    const n = await get('/v1/models?client_version=0.169.0', narrow.key);
    expect(((await n.json()) as any).models.map((m: any) => m.slug)).toEqual(['gpt-5.5']);
    expect(n.headers.get('etag')).not.toBe(etag);

    const plain = (await (await get('/v1/models')).json()) as any;
    expect(plain.object).toBe('list');
    expect(plain.data[0]).toMatchObject({ object: 'model' });
  });

  it('every advertised alias resolves on the request path (defect 6)', async () => {
    const ids: string[] = ((await (await get('/v1/models')).json()) as any).data.map((m: any) => m.id);
    const aliases = ids.filter((id) => !FAKE_MODELS.some((m) => m.slug === id));
    expect(aliases.length).toBeGreaterThan(5);
    for (const alias of aliases) {
      const r = await post('/v1/responses', { model: alias, input: 'hi' });
      expect({ alias, status: r.status }).toEqual({ alias, status: 200 });
      const up = s.fake.requestsTo('/backend-api/codex/responses').at(-1)!;
      const m = FAKE_MODELS.find(
        (x) => alias.startsWith(`${x.slug}-`) && x.levels.includes(alias.slice(x.slug.length + 1)),
      )!;
      expect(up.body.model).toBe(m.slug);
      expect(up.body.reasoning.effort).toBe(alias.slice(m.slug.length + 1));
    }
  });

  it('an effort the model lacks maps to the nearest it supports (issue 24: Agents SDK sends "none")', async () => {
    const up = () => s.fake.requestsTo('/backend-api/codex/responses').at(-1)!.body;
    const cases: [string, Record<string, unknown>, string][] = [
      ['/v1/responses', { model: 'gpt-5.5', input: 'hi', reasoning: { effort: 'none' } }, 'low'],
      ['/v1/responses', { model: 'gpt-5.6-codex', input: 'hi', reasoning: { effort: 'xhigh' } }, 'high'],
      [
        '/v1/chat/completions',
        { model: 'gpt-5.5', reasoning_effort: 'none', messages: [{ role: 'user', content: 'hi' }] },
        'low',
      ],
      [
        '/v1/chat/completions',
        { model: 'gpt-5.6-codex', reasoning_effort: 'minimal', messages: [{ role: 'user', content: 'hi' }] },
        'low',
      ],
    ];
    for (const [path, body, served] of cases) {
      const r = await post(path, body);
      expect(r.status).toBe(200);
      expect(up().reasoning.effort).toBe(served);
    }
  });

  it('a value that is no reasoning effort at all is still a 400 naming the supported ones (defect 6)', async () => {
    const r = await post('/v1/responses', {
      model: 'gpt-5.6-codex',
      input: 'hi',
      reasoning: { effort: 'extreme' },
    });
    expect(r.status).toBe(400);
    const e = ((await r.json()) as any).error;
    expect(e).toMatchObject({
      param: 'reasoning.effort',
      code: 'unsupported_value',
      type: 'invalid_request_error',
    });
    expect(e.message).toContain('low, medium, high');
    const chat = await post('/v1/chat/completions', {
      model: 'gpt-5.6-codex',
      reasoning_effort: 'banana',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(chat.status).toBe(400);
    expect(s.fake.requestsTo('/backend-api/codex/responses')).toHaveLength(0);
  });

  it('a failed catalog fetch is cached briefly and the fallback served (defect 9)', async () => {
    s.fake.modelsFailStatus = 500;
    for (let i = 0; i < 3; i++) expect((await get('/v1/models')).status).toBe(200);
    expect((await get('/v1/models?client_version=0.169.0')).status).toBe(200);
    expect((await post('/v1/responses', { model: 'gpt-5.5-high', input: 'hi' })).status).toBe(200);
    expect(modelCalls()).toHaveLength(1);
    const fallback = (await (await get('/v1/models?client_version=0.169.0')).json()) as any;
    expect(fallback.models[0]).toMatchObject({
      slug: 'gpt-5.5',
      shell_type: 'shell_command',
      visibility: 'list',
    });
  });

  it('re-fetches the catalog when a /responses answer carries a new x-models-etag (defect 9)', async () => {
    await get('/v1/models');
    expect(modelCalls()).toHaveLength(1);
    expect((await post('/v1/responses', { model: 'gpt-5.5', input: 'hi' })).status).toBe(200);
    expect(modelCalls()).toHaveLength(1);
    s.fake.modelsEtag = '"s.fake-models-2"';
    expect((await post('/v1/responses', { model: 'gpt-5.5', input: 'hi' })).status).toBe(200);
    const deadline = Date.now() + 3000;
    while (modelCalls().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(modelCalls()).toHaveLength(2);
    expect((await post('/v1/responses', { model: 'gpt-5.5', input: 'hi' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(modelCalls()).toHaveLength(2);
  });
});

describe('remote compaction and turn state over HTTP', () => {
  /** The body CLI 0.169 builds for /responses/compact (codex-api CompactionInput), trimmed. */
  const compactBody = {
    model: 'gpt-5.5',
    input: [
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'You are Codex.' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'a long conversation' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'answer' }] },
    ],
    instructions: '',
    tools: [],
    parallel_tool_calls: true,
    reasoning: { effort: 'medium' },
    text: { verbosity: 'low' },
  };

  it('POST /v1/responses/compact goes upstream as the CLI sent it (plus the conversation id) with the beta-feature header, output relayed', async () => {
    const r = await post('/v1/responses/compact', compactBody, {
      'x-codex-beta-features': 'remote_compaction_v2',
    });
    expect(r.status).toBe(200);
    const out = (await r.json()) as any;
    expect(out.output[0].content[0].text).toBe('Summary of 3 items (fake compaction).');
    expect(r.headers.get('x-codex-turn-state')).toMatch(/^ts_/);
    const up = s.fake.requestsTo('/backend-api/codex/responses/compact');
    expect(up).toHaveLength(1);
    // Only prompt_cache_key is the gateway's: the per-user conversation id (issue 22, item 5).
    expect(up[0].body).toEqual({ ...compactBody, prompt_cache_key: expect.any(String) });
    expect(up[0].headers['x-codex-beta-features']).toBe('remote_compaction_v2');
    expect(up[0].headers.authorization).toMatch(/^Bearer /);
  });

  it('compaction follows the same key rules (model allow-list) and fails over', async () => {
    const narrow = await createKey(s.gw, { allowedModels: ['gpt-5.5-mini'] });
    const r = await fetch(`${s.gw.url}/v1/responses/compact`, {
      method: 'POST',
      headers: { authorization: `Bearer ${narrow.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(compactBody),
    });
    expect(r.status).toBe(403);
    expect((await post('/v1/responses/compact', { model: 'gpt-5.5' })).status).toBe(400);
    expect(s.fake.requestsTo('/backend-api/codex/responses/compact')).toHaveLength(0);
  });

  it('plain clients get no beta header upstream; the Codex CLI header is relayed only when sent', async () => {
    await post('/v1/responses', { model: 'gpt-5.5', input: 'hi' });
    await post(
      '/v1/responses',
      { model: 'gpt-5.5', input: 'hi' },
      { 'x-codex-beta-features': 'remote_compaction_v2' },
    );
    const [a, b] = s.fake.requestsTo('/backend-api/codex/responses');
    expect(a.headers['x-codex-beta-features']).toBeUndefined();
    expect(b.headers['x-codex-beta-features']).toBe('remote_compaction_v2');
  });

  it('relays x-codex-turn-state both ways and keeps the turn on the account that issued it', async () => {
    const r1 = await post('/v1/responses', {
      model: 'gpt-5.5',
      input: 'hi',
      stream: true,
      prompt_cache_key: 'c1',
    });
    await r1.text();
    const ts = r1.headers.get('x-codex-turn-state');
    expect(ts).toBe(s.fake.turnStates[0]);
    const issuer = s.fake.requestsTo('/backend-api/codex/responses')[0].chatgptAccountId;
    // A different conversation key (sticky elsewhere or nowhere) with the same turn state: the turn state wins.
    for (let i = 0; i < 4; i++) {
      const r = await post(
        '/v1/responses',
        { model: 'gpt-5.5', input: 'more', prompt_cache_key: `other-${i}` },
        {
          'x-codex-turn-state': ts!,
        },
      );
      expect(r.status).toBe(200);
      expect(r.headers.get('x-codex-turn-state')).toBe(ts);
    }
    const later = s.fake.requestsTo('/backend-api/codex/responses').slice(1);
    expect(later.every((c) => c.chatgptAccountId === issuer && c.headers['x-codex-turn-state'] === ts)).toBe(
      true,
    );
  });
});
