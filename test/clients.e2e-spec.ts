import OpenAI from 'openai';
import { zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { generateText, stepCountIs, streamText, tool as aiTool } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { tool as lcTool } from '@langchain/core/tools';
import { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool as agentTool } from '@openai/agents';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';

/**
 * Issue 24 item 6: current releases of mainstream clients, with their default settings, multi-turn with tools,
 * structured output and streaming, against the gateway (devDependencies; versions in package.json).
 */
let fake: FakeUpstream;
let gw: TestGateway;
let key: string;
let baseURL: string;
beforeAll(async () => {
  fake = await FakeUpstream.start();
  gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
  const a = fake.addAccount();
  await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  key = (await createKey(gw)).key;
  baseURL = `${gw.url}/v1`;
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const upstream = () => fake.requestsTo('/backend-api/codex/responses');
const weatherCall = (city: string) => ({
  reasoningSummary: 'use the tool',
  functionCalls: [{ name: 'get_weather', arguments: JSON.stringify({ city }) }],
});

describe('OpenAI Agents SDK (defaults)', () => {
  it('new Agent({ model: "gpt-5.5" }) with a tool runs two turns', async () => {
    setTracingDisabled(true);
    setDefaultOpenAIClient(new OpenAI({ apiKey: key, baseURL, maxRetries: 0 }) as any);
    const agent = new Agent({
      name: 'weather',
      instructions: 'Answer about the weather.',
      model: 'gpt-5.5',
      tools: [
        agentTool({
          name: 'get_weather',
          description: 'Weather in a city',
          parameters: z.object({ city: z.string() }),
          execute: async ({ city }) => `sunny in ${city}`,
        }),
      ],
    });
    fake.respondWith(weatherCall('Paris'));
    fake.respondWith({ text: 'It is sunny in Paris.', reasoningSummary: 'done' });
    const first = await run(agent, 'Weather in Paris?');
    expect(first.finalOutput).toContain('sunny in Paris');
    fake.respondWith({ text: 'Still sunny.' });
    const second = await run(agent, [...first.history, { role: 'user', content: 'And now?' }]);
    expect(second.finalOutput).toContain('Still sunny');
    expect(upstream()).toHaveLength(3);
    expect(upstream()[0].body.tools[0].name).toBe('get_weather');
  });
});

describe('Vercel AI SDK', () => {
  const weather = aiTool({
    description: 'Weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }: { city: string }) => `sunny in ${city}`,
  });

  it.each(['responses', 'chat'] as const)('%s provider: tool loop, then a follow-up turn', async (kind) => {
    const openai = createOpenAI({ apiKey: key, baseURL });
    const model = kind === 'responses' ? openai.responses('gpt-5.5') : openai.chat('gpt-5.5');
    fake.respondWith(weatherCall('Rome'));
    fake.respondWith({ text: 'Sunny in Rome.', reasoningSummary: 'done' });
    const first = await generateText({
      model,
      tools: { get_weather: weather },
      stopWhen: stepCountIs(3),
      prompt: 'Weather in Rome?',
    });
    expect(first.text).toContain('Sunny in Rome');
    fake.respondWith({ text: 'Still sunny in Rome.' });
    const messages = [
      { role: 'user' as const, content: 'Weather in Rome?' },
      ...first.response.messages,
      { role: 'user' as const, content: 'And tomorrow?' },
    ];
    const stream = streamText({ model, tools: { get_weather: weather }, messages });
    let text = '';
    for await (const d of stream.textStream) text += d;
    expect(text).toContain('Still sunny');
    const sent = upstream().at(-1)!.body.input;
    expect(sent.some((i: any) => i.type === 'item_reference')).toBe(false);
    expect(JSON.stringify(sent)).toContain('Sunny in Rome.'); // the earlier answer went back up
  });
});

describe('LangChain JS', () => {
  it('ChatOpenAI with bound tools (strict: null) and a follow-up turn', async () => {
    const llm = new ChatOpenAI({ model: 'gpt-5.5', apiKey: key, configuration: { baseURL }, maxRetries: 0 });
    const getWeather = lcTool(async ({ city }: { city: string }) => `sunny in ${city}`, {
      name: 'get_weather',
      description: 'Weather in a city',
      schema: z.object({ city: z.string() }),
    });
    const withTools = llm.bindTools([getWeather]);
    fake.respondWith(weatherCall('Oslo'));
    const ai = await withTools.invoke('Weather in Oslo?');
    expect(ai.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: { city: 'Oslo' } });
    const toolMsg = await getWeather.invoke(ai.tool_calls![0] as any);
    fake.respondWith({ text: 'Sunny in Oslo.' });
    const answer = await withTools.invoke([
      { role: 'user', content: 'Weather in Oslo?' },
      ai,
      toolMsg,
    ] as any);
    expect(String(answer.content)).toContain('Sunny in Oslo');
    expect(upstream()[0].body.tools[0].strict).not.toBeNull();
  });
});

describe('openai SDK helpers', () => {
  const client = () => new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
  const City = z.object({ city: z.string(), temperature: z.number() });

  it('responses.parse and chat.completions.parse give typed output', async () => {
    fake.respondWith({ text: '{"city":"Paris","temperature":21}' });
    const r = await client().responses.parse({
      model: 'gpt-5.5',
      input: 'Paris weather as JSON',
      text: { format: zodTextFormat(City, 'city') },
    });
    expect(r.output_parsed).toEqual({ city: 'Paris', temperature: 21 });
    fake.respondWith({ text: '{"city":"Rome","temperature":25}' });
    const c = await client().chat.completions.parse({
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'Rome weather as JSON' }],
      response_format: zodResponseFormat(City, 'city'),
    });
    expect(c.choices[0].message.parsed).toEqual({ city: 'Rome', temperature: 25 });
  });

  it('responses.stream and chat.completions.stream helpers', async () => {
    fake.respondWith({ text: 'streamed responses answer' });
    const rs = client().responses.stream({ model: 'gpt-5.5', input: 'stream please' });
    let deltas = '';
    rs.on('response.output_text.delta', (e) => (deltas += e.delta));
    const final = await rs.finalResponse();
    expect(final.output_text).toBe('streamed responses answer');
    expect(deltas).toBe('streamed responses answer');
    fake.respondWith({ text: 'streamed chat answer' });
    const cs = client().chat.completions.stream({
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'stream please' }],
    });
    const done = await cs.finalChatCompletion();
    expect(done.choices[0].message.content).toBe('streamed chat answer');
  });
});
