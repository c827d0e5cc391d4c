import OpenAI from 'openai';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';

/**
 * Issue 24, the small client failures: LangChain's `strict: null` tools, the per-byte prompt-cache prefix of a tool
 * loop, and Cursor's Azure-style route with an `api-key` header. (Reasoning efforts a model lacks:
 * test/codex-models.e2e-spec.ts.)
 */
let fake: FakeUpstream;
let gw: TestGateway;
let key: string;
beforeAll(async () => {
  fake = await FakeUpstream.start();
  gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
  const a = fake.addAccount();
  await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  key = (await createKey(gw)).key;
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const upstream = () => fake.requestsTo('/backend-api/codex/responses');
const post = (
  path: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${key}` },
) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const weather = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('tool definitions', () => {
  it('strict: null (LangChain) is treated as absent: the upstream gets strict false', async () => {
    const r = await post('/v1/responses', {
      model: 'gpt-5.5',
      input: 'hi',
      tools: [{ ...weather, strict: null }],
    });
    expect(r.status).toBe(200);
    expect(upstream().at(-1)!.body.tools[0].strict).toBe(false);
    const chat = await post('/v1/chat/completions', {
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [
        { type: 'function', function: { name: 'get_weather', parameters: weather.parameters, strict: null } },
      ],
    });
    expect(chat.status).toBe(200);
    expect(upstream().at(-1)!.body.tools[0].strict).toBe(false);
  });

  /** The bytes the model's prompt is built from, in prompt order: tools, then the input items. */
  const promptBytes = (raw: string) => {
    const b = JSON.parse(raw);
    const tools = JSON.stringify(b.tools);
    const input = JSON.stringify(b.input);
    return { tools, input: input.slice(0, -1) }; // open-ended: turn N+1 only appends items
  };

  it.each(['responses', 'chat'] as const)(
    'a %s tool loop keeps the upstream prompt a byte prefix of the next turn (prompt cache)',
    async (endpoint) => {
      const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const raws: string[] = [];
      if (endpoint === 'responses') {
        let input: any[] = [{ role: 'user', content: 'weather in Paris, then Rome, then Oslo?' }];
        for (const city of ['Paris', 'Rome', 'Oslo']) {
          fake.respondWith({
            reasoningSummary: 'need a tool',
            functionCalls: [{ name: 'get_weather', arguments: JSON.stringify({ city }) }],
          });
          const r = await client.responses.create({
            model: 'gpt-5.5',
            input,
            tools: [{ ...weather, strict: null } as any],
            reasoning: { effort: 'low', summary: 'auto' },
          });
          raws.push(upstream().at(-1)!.rawBody);
          const call = r.output.find((o) => o.type === 'function_call') as any;
          input = [
            ...input,
            ...r.output,
            { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
          ];
        }
      } else {
        let messages: any[] = [{ role: 'user', content: 'weather in Paris, then Rome, then Oslo?' }];
        for (const city of ['Paris', 'Rome', 'Oslo']) {
          fake.respondWith({ functionCalls: [{ name: 'get_weather', arguments: JSON.stringify({ city }) }] });
          const r = await client.chat.completions.create({
            model: 'gpt-5.5',
            messages,
            tools: [{ type: 'function', function: { name: weather.name, parameters: weather.parameters } }],
          });
          raws.push(upstream().at(-1)!.rawBody);
          const m = r.choices[0].message;
          messages = [
            ...messages,
            m,
            ...m.tool_calls!.map((c) => ({ role: 'tool', tool_call_id: c.id, content: 'sunny' })),
          ];
        }
      }
      for (let i = 1; i < raws.length; i++) {
        const before = promptBytes(raws[i - 1]);
        const now = promptBytes(raws[i]);
        expect(now.tools).toBe(before.tools);
        expect(now.input.startsWith(before.input)).toBe(true);
        expect(now.input.length).toBeGreaterThan(before.input.length);
      }
    },
  );
});

describe("Cursor's Azure-style route", () => {
  it('POST /openai/deployments/{deployment}/chat/completions with api-key is chat with model = deployment', async () => {
    const r = await post(
      '/openai/deployments/gpt-5.5/chat/completions?api-version=2024-10-21',
      { messages: [{ role: 'user', content: 'hello azure' }] },
      { 'api-key': key },
    );
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].message.content).toContain('hello azure');
    expect(upstream().at(-1)!.body.model).toBe('gpt-5.5');
  });

  it('streams too, and a wrong key is the usual 401 envelope', async () => {
    const r = await post(
      '/openai/deployments/gpt-5.5/chat/completions?api-version=2024-10-21',
      { messages: [{ role: 'user', content: 'hi' }], stream: true, model: 'ignored' },
      { 'api-key': key },
    );
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('data: [DONE]');
    expect(upstream().at(-1)!.body.model).toBe('gpt-5.5');
    const bad = await post(
      '/openai/deployments/gpt-5.5/chat/completions?api-version=2024-10-21',
      { messages: [{ role: 'user', content: 'hi' }] },
      { 'api-key': 'cg_wrong' },
    );
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as any).error.type).toBeDefined();
  });
});
