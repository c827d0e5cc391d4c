import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import { ApiError } from '../common/errors.js';
import { assertOpenApi } from '../../test/support/openapi.js';
import { ChatTranslator, type StreamOutput } from './from-responses.js';

/**
 * Golden tests: recorded upstream SSE sequences (test/fixtures/chat/streams/*.sse) → the chunk sequence a
 * streaming client receives (*.chunks.json) and the object a non-streaming client receives (*.completion.json).
 * Every chunk and completion must also validate against OpenAI's own OpenAPI schemas.
 * Regenerate after a deliberate change with UPDATE_GOLDEN=1 and review the diff.
 */
const dir = join(process.cwd(), 'test', 'fixtures', 'chat', 'streams');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.sse'))
  .map((f) => f.replace(/\.sse$/, ''));

function events(name: string): { type: string; data: any }[] {
  const out: { type: string; data: any }[] = [];
  const p = createParser({
    onEvent: (e) => out.push({ type: e.event ?? 'message', data: JSON.parse(e.data) }),
  });
  p.feed(readFileSync(join(dir, `${name}.sse`), 'utf8'));
  return out;
}

function run(name: string, includeUsage: boolean) {
  const t = new ChatTranslator(
    { model: 'gpt-5.5', stream: true, includeUsage, reasoningContent: true },
    'chatcmpl-test',
    1700000000,
  );
  const outputs: StreamOutput[] = [];
  for (const e of events(name)) outputs.push(...t.push(e.type, e.data));
  if (!t.done)
    outputs.push(
      ...t.fail('The upstream stream ended before the response was complete.', 'stream_disconnected'),
    );
  return { t, outputs };
}

function golden(file: string, actual: unknown) {
  const path = join(dir, file);
  if (process.env.UPDATE_GOLDEN || !existsSync(path))
    writeFileSync(path, JSON.stringify(actual, null, 1) + '\n');
  expect(actual).toEqual(JSON.parse(readFileSync(path, 'utf8')));
}

describe.each(names)('stream golden: %s', (name) => {
  it('streams the expected chunks, each valid against CreateChatCompletionStreamResponse', () => {
    const { outputs } = run(name, true);
    golden(`${name}.chunks.json`, outputs);
    for (const o of outputs) {
      if (o === '[DONE]' || 'error' in o) continue;
      assertOpenApi('CreateChatCompletionStreamResponse', o);
    }
    const errors = outputs.filter((o) => o !== '[DONE]' && 'error' in o);
    for (const e of errors) assertOpenApi('ErrorResponse', e);
  });

  it('builds the expected non-streaming completion (valid CreateChatCompletionResponse) or error', () => {
    const { t } = run(name, false);
    let result: unknown;
    try {
      result = t.completion();
      assertOpenApi('CreateChatCompletionResponse', result);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      result = { status: e.httpStatus, ...e.toBody() };
    }
    golden(`${name}.completion.json`, result);
  });
});

describe('stream invariants', () => {
  it.each(names)(
    '%s: one id, role first, finish_reason key on every choice, usage only at the end',
    (name) => {
      const { outputs } = run(name, true);
      const chunks = outputs.filter(
        (o): o is Exclude<StreamOutput, '[DONE]' | { error: any }> => o !== '[DONE]' && !('error' in o),
      );
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant' });
      for (const c of chunks) for (const ch of c.choices) expect(ch).toHaveProperty('finish_reason');
      const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
      const ok = outputs[outputs.length - 1] === '[DONE]';
      expect(finishes.length).toBe(ok ? 1 : 0);
      if (ok)
        expect(chunks[chunks.length - 1]).toMatchObject({
          choices: [],
          usage: { total_tokens: expect.any(Number) },
        });
    },
  );

  it('tool call indexes are contiguous from 0 and the first delta of each carries id, type and name', () => {
    const { outputs } = run('parallel-tool-calls', false);
    const deltas = outputs.flatMap((o) =>
      o !== '[DONE]' && !('error' in o) ? o.choices.flatMap((c) => c.delta.tool_calls ?? []) : [],
    );
    const firsts = new Map<number, any>();
    for (const d of deltas) if (!firsts.has(d.index)) firsts.set(d.index, d);
    expect([...firsts.keys()]).toEqual([0, 1]);
    for (const d of firsts.values())
      expect(d).toMatchObject({
        id: expect.any(String),
        type: 'function',
        function: { name: expect.any(String) },
      });
  });

  it('emits no usage key at all without include_usage', () => {
    const { outputs } = run('text', false);
    for (const o of outputs) if (o !== '[DONE]' && !('error' in o)) expect(o).not.toHaveProperty('usage');
  });
});
