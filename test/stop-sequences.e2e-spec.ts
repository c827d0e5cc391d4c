import OpenAI from 'openai';
import { useFakeGateway } from './support/scenario.js';
import { assertOpenApi } from './support/openapi.js';
import { query, eventually } from './support/wait.js';

/** Chat `stop` sequences (issue 10 defect 12), as ReAct-style agents use them. */
const s = useFakeGateway(1);

// The fake sends two words per delta: "…Action: search\n" | "Observation: 42\n" — the stop spans a delta boundary.
const REACT = 'Thought: I should look it up\nAction: search\nObservation: 42\nThought: done';
const BEFORE = 'Thought: I should look it up\nAction: ';

it('streaming: cut before the stop sequence (spanning two deltas), finish_reason stop, schema-valid', async () => {
  s.fake.respondWith({ text: REACT, usage: { input_tokens: 9, output_tokens: 20 } });
  const stream = await s.client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [{ role: 'user', content: 'what is 6*7' }],
    stop: ['search\nObservation:', 'Final Answer:'],
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks: any[] = [];
  for await (const ch of stream) chunks.push(ch);
  for (const c of chunks) assertOpenApi('CreateChatCompletionStreamResponse', c);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  expect(text).toBe(BEFORE);
  for (const c of chunks) expect(c.choices[0]?.delta?.content ?? '').not.toMatch(/search|Observation/);
  expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual([
    'stop',
  ]);
  expect(chunks.at(-1).usage).toBeTruthy();
  // The request is still accounted with the upstream's real usage (the gateway reads the rest of the stream).
  await eventually(async () => {
    const rows = await query(
      s.gw,
      `SELECT "outputTokens" FROM usage_records ORDER BY "createdAt" DESC LIMIT 1`,
    ).catch(() => []);
    return rows.length > 0 && Number(rows[0].outputTokens) === 20;
  }, 'usage row with the upstream usage');
});

it('non-streaming: content cut, finish_reason stop, real usage, schema-valid', async () => {
  s.fake.respondWith({ text: REACT, usage: { input_tokens: 9, output_tokens: 20 } });
  const r = await s.client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [{ role: 'user', content: 'what is 6*7' }],
    stop: 'Observation:',
  });
  assertOpenApi('CreateChatCompletionResponse', r);
  expect(r.choices[0].message.content).toBe('Thought: I should look it up\nAction: search\n');
  expect(r.choices[0].finish_reason).toBe('stop');
  expect(r.usage?.completion_tokens).toBe(20);
});

it('a stop sequence that never appears changes nothing (held text released at the end)', async () => {
  s.fake.respondWith({ text: 'ends with Obs' });
  const stream = await s.client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [{ role: 'user', content: 'x' }],
    stop: ['Observation:'],
    stream: true,
  });
  let text = '';
  for await (const ch of stream) {
    assertOpenApi('CreateChatCompletionStreamResponse', ch);
    text += ch.choices[0]?.delta?.content ?? '';
  }
  expect(text).toBe('ends with Obs');
});

it('more than 4 sequences: 400 naming stop', async () => {
  const e = await s.client.chat.completions
    .create({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'x' }], stop: ['a', 'b', 'c', 'd', 'e'] })
    .catch((x) => x);
  expect(e).toBeInstanceOf(OpenAI.BadRequestError);
  expect(e.param).toBe('stop');
});
