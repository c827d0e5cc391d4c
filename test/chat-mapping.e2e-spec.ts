import { useFakeGateway } from './support/scenario.js';
import { assertOpenApi } from './support/openapi.js';

/** Chat mapping gaps (issue 10 defect 11): custom tools, long tool names, orphan tool outputs, cached tokens. */
const s = useFakeGateway(1);
const last = () => s.fake.requestsTo('/backend-api/codex/responses').at(-1)!;
const customTool = { type: 'custom', custom: { name: 'apply_patch', description: 'patch files' } } as any;

it('a custom tool call comes back as a tool call (non-streaming), finish_reason tool_calls', async () => {
  s.fake.respondWith({
    customToolCalls: [{ name: 'apply_patch', input: '*** Begin Patch\n*** End Patch', callId: 'call_c1' }],
  });
  const r = await s.client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [{ role: 'user', content: 'patch it' }],
    tools: [customTool],
  });
  assertOpenApi('CreateChatCompletionResponse', r);
  expect(r.choices[0].finish_reason).toBe('tool_calls');
  expect(r.choices[0].message.tool_calls).toEqual([
    {
      id: 'call_c1',
      type: 'custom',
      custom: { name: 'apply_patch', input: '*** Begin Patch\n*** End Patch' },
    },
  ]);
});

it('a custom tool call streams as tool-call deltas, finish_reason tool_calls', async () => {
  s.fake.respondWith({
    customToolCalls: [{ name: 'apply_patch', input: 'one two three four', callId: 'call_c2' }],
  });
  const stream = await s.client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [{ role: 'user', content: 'patch it' }],
    tools: [customTool],
    stream: true,
  });
  const chunks: any[] = [];
  for await (const ch of stream) chunks.push(ch);
  const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
  expect(calls[0]).toMatchObject({
    index: 0,
    id: 'call_c2',
    type: 'custom',
    custom: { name: 'apply_patch' },
  });
  expect(calls.map((c) => c.custom?.input ?? '').join('')).toBe('one two three four');
  expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
});

it('tool names over 64 characters are shortened upstream and restored for the client', async () => {
  const long = `mcp__${'very_long_server_name_'.repeat(4)}__search_documents`;
  expect(long.length).toBeGreaterThan(64);
  const fn = {
    type: 'function' as const,
    function: { name: long, parameters: { type: 'object', properties: {} } },
  };
  // First call: see what name went upstream; the fake answers with a call to that short name.
  await s.client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [{ role: 'user', content: 'x' }],
    tools: [fn],
  });
  const short = last().body.tools[0].name;
  expect(short.length).toBeLessThanOrEqual(64);
  expect(short).not.toBe(long);
  s.fake.respondWith({ functionCalls: [{ name: short, arguments: '{"q":"a"}', callId: 'call_l1' }] });
  const r = await s.client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [
      { role: 'user', content: 'x' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_0', type: 'function', function: { name: long, arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_0', content: 'result' },
    ],
    tools: [fn],
    tool_choice: { type: 'function', function: { name: long } },
  });
  assertOpenApi('CreateChatCompletionResponse', r);
  expect((r.choices[0].message.tool_calls![0] as any).function.name).toBe(long);
  const sent = last().body;
  expect(sent.tool_choice.name).toBe(short);
  expect(sent.input.find((i: any) => i.type === 'function_call').name).toBe(short);
});

it('a tool output without a matching call is not forwarded', async () => {
  await s.client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [
      { role: 'user', content: 'x' },
      { role: 'tool', tool_call_id: 'call_nowhere', content: 'stray' },
      { role: 'user', content: 'y' },
    ],
  });
  expect(last().body.input.some((i: any) => i.type === 'function_call_output')).toBe(false);
});

it('cached tokens are mapped to prompt_tokens_details.cached_tokens', async () => {
  s.fake.respondWith({ text: 'ok', usage: { input_tokens: 100, cached_tokens: 64, output_tokens: 2 } });
  const r = await s.client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [{ role: 'user', content: 'x' }],
  });
  expect(r.usage?.prompt_tokens_details?.cached_tokens).toBe(64);
});
