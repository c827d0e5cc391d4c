import { Readable } from 'node:stream';
import type { UpstreamEvent } from '../upstream/events.js';
import { readSse } from './sse-reader.js';

async function events(text: string): Promise<UpstreamEvent[]> {
  const out: UpstreamEvent[] = [];
  for await (const ev of readSse(Readable.from([Buffer.from(text)]))) out.push(ev);
  return out;
}

const block = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

describe('UpstreamEvent.deltaLength (charging aborted streams without parsing every event)', () => {
  it.each([
    ['plain text', 'Hello world'],
    ['escaped quotes and backslashes', 'say "hi" \\ bye'],
    ['newlines and unicode', 'línea 1\nlínea 2 — ✓'],
    ['empty', ''],
  ])('matches the parsed delta for %s', async (_name, delta) => {
    const [ev] = await events(
      block('response.output_text.delta', {
        type: 'response.output_text.delta',
        item_id: 'msg_1',
        output_index: 0,
        delta,
      }),
    );
    // JSON escapes count as written: equal for text without escapes, never less than the real length.
    const est = ev.deltaLength!();
    expect(est).toBeGreaterThanOrEqual(delta.length);
    expect(est).toBeLessThanOrEqual(JSON.stringify(delta).length - 2);
    if (!/["\\\n]/.test(delta)) expect(est).toBe(delta.length);
  });

  it('is 0 for an event without a delta, and uses the parsed value once the event was read', async () => {
    const [a, b] = await events(
      block('response.created', { type: 'response.created', response: { id: 'r' } }) +
        block('response.output_text.delta', { type: 'response.output_text.delta', delta: 'a"b' }),
    );
    expect(a.deltaLength!()).toBe(0);
    expect((b.data as { delta?: string }).delta).toBe('a"b');
    expect(b.deltaLength!()).toBe(3);
  });
});
