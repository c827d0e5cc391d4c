import OpenAI from 'openai';
import { useFakeGateway } from './support/scenario.js';
import { assertOpenApi } from './support/openapi.js';

/** /v1/chat/completions end to end: official openai SDK → gateway → fake upstream. */
describe('chat completions e2e', () => {
  const s = useFakeGateway(1);

  it('answers a plain chat (non-streaming) with a schema-valid chat.completion', async () => {
    s.fake.respondWith({ text: 'Bonjour!', usage: { input_tokens: 11, output_tokens: 3, cached_tokens: 2 } });
    const r = await s.client.chat.completions.create({
      model: 'gpt-5.5',
      messages: [
        { role: 'system', content: 'Be French.' },
        { role: 'user', content: 'Hello' },
      ],
    });
    assertOpenApi('CreateChatCompletionResponse', r);
    expect(r.choices[0].message.content).toBe('Bonjour!');
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.usage).toMatchObject({
      prompt_tokens: 11,
      completion_tokens: 3,
      prompt_tokens_details: { cached_tokens: 2 },
    });
    const sent = s.fake.requestsTo('/backend-api/codex/responses').at(-1)!;
    expect(sent.body.input[0]).toMatchObject({
      role: 'developer',
      content: [{ type: 'input_text', text: 'Be French.' }],
    });
    expect(sent.body.stream).toBe(true);
    expect(sent.body.store).toBe(false);
  });

  it('streams chunks with include_usage, and finalChatCompletion() assembles them', async () => {
    s.fake.respondWith({ text: 'One two three', usage: { input_tokens: 5, output_tokens: 3 } });
    const stream = s.client.chat.completions.stream({
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'count' }],
      stream_options: { include_usage: true },
    });
    const chunks: any[] = [];
    stream.on('chunk', (c) => chunks.push(c));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].message.content).toBe('One two three');
    expect(final.choices[0].finish_reason).toBe('stop');
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) assertOpenApi('CreateChatCompletionStreamResponse', c);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  });

  it('runs a full tool-calling round trip', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    s.fake.respondWith({
      functionCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', callId: 'call_w1' }],
    });
    const first = await s.client.chat.completions.create({
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools,
    });
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call = first.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ id: 'call_w1', type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(s.fake.requestsTo('/backend-api/codex/responses').at(-1)!.body.tools[0]).toMatchObject({
      type: 'function',
      name: 'get_weather',
      strict: false,
    });

    s.fake.respondWith({ text: 'It is 18C and sunny.' });
    const second = await s.client.chat.completions.create({
      model: 'gpt-5.5',
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        first.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: '18C, sunny' },
      ],
    });
    expect(second.choices[0].message.content).toBe('It is 18C and sunny.');
    const input = s.fake.requestsTo('/backend-api/codex/responses').at(-1)!.body.input;
    expect(input).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'function_call', call_id: 'call_w1', name: 'get_weather' }),
        expect.objectContaining({ type: 'function_call_output', call_id: 'call_w1', output: '18C, sunny' }),
      ]),
    );
    expect(input.find((i: any) => i.type === 'function_call')).not.toHaveProperty('id');
  });

  it('accumulates streamed parallel tool calls with the SDK helper', async () => {
    s.fake.respondWith({
      functionCalls: [
        { name: 'a', arguments: '{"x":1}', callId: 'call_a' },
        { name: 'b', arguments: '{"y":2}', callId: 'call_b' },
      ],
    });
    const stream = s.client.chat.completions.stream({
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'both' }],
      tools: [
        { type: 'function', function: { name: 'a', parameters: { type: 'object', properties: {} } } },
        { type: 'function', function: { name: 'b', parameters: { type: 'object', properties: {} } } },
      ],
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    expect(
      final.choices[0].message.tool_calls!.map((t: any) => [t.id, t.function.name, t.function.arguments]),
    ).toEqual([
      ['call_a', 'a', '{"x":1}'],
      ['call_b', 'b', '{"y":2}'],
    ]);
  });

  it('sends image input, response_format json_schema and reasoning_effort upstream', async () => {
    s.fake.respondWith({ text: '{"name":"cat"}', reasoningSummary: 'Looking at the image' });
    const r = await s.client.chat.completions.create({
      model: 'gpt-5.5',
      reasoning_effort: 'high',
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'thing',
          schema: { type: 'object', properties: { name: { type: 'string' } } },
          strict: true,
        },
      },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is it?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
          ],
        },
      ],
    });
    expect(JSON.parse(r.choices[0].message.content!)).toEqual({ name: 'cat' });
    expect((r.choices[0].message as any).reasoning_content).toBe('Looking at the image');
    const body = s.fake.requestsTo('/backend-api/codex/responses').at(-1)!.body;
    expect(body.reasoning).toMatchObject({ effort: 'high', summary: 'auto' });
    expect(body.text.format).toMatchObject({ type: 'json_schema', name: 'thing', strict: true });
    expect(body.input[body.input.length - 1].content[1]).toEqual({
      type: 'input_image',
      image_url: 'data:image/png;base64,iVBORw0KGgo=',
      detail: 'high',
    });
  });

  it('refuses unsupported parameters with 400 and param', async () => {
    for (const [extra, param] of [
      [{ n: 2 }, 'n'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      [{ logprobs: true }, 'logprobs'],
    ] as const) {
      const err = await s.client.chat.completions
        .create({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'x' }], ...(extra as any) })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.param).toBe(param);
    }
  });

  it('ends a stream broken mid-way with an error the SDK surfaces', async () => {
    s.fake.respondWith({ text: 'a long answer that will be cut off somewhere in the middle' });
    s.fake.fault(s.accts[0].fake.chatgptAccountId, { kind: 'cut_stream', afterEvents: 6 });
    const stream = await s.client.chat.completions.create({
      model: 'gpt-5.5',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const err = await (async () => {
      for await (const _ of stream) {
        /* drain */
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
  });
});
