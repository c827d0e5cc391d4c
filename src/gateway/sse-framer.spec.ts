import type { UpstreamEvent } from '../upstream/events.js';
import { SseFramer } from './sse-framer.js';

/** Frames `body` cut into the given piece sizes (cycled); returns the events. */
function frame(body: Buffer | string, sizes: number[] = [body.length]): UpstreamEvent[] {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const framer = new SseFramer();
  const out: UpstreamEvent[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]);
    framer.push(bytes.subarray(at, at + n), out);
    at += n;
  }
  framer.end(out);
  return out;
}

const rawText = (ev: UpstreamEvent) => (typeof ev.raw === 'string' ? ev.raw : ev.raw.toString('utf8'));

describe('SseFramer (byte-level SSE framing; raw = the upstream bytes)', () => {
  const odd =
    'event:response.output_text.delta\r\ndata:{"delta" : "h\\u00e9 ✓ 👩‍👧" ,"type":"response.output_text.delta"}\r\n\r\n' +
    ': a comment\nid: 7\nevent: response.completed\ndata: {"type":"response.completed",\ndata: "response":{"id":"r"}}\n\n' +
    'event: response.in_progress\rdata: {"type":"response.in_progress"}\r\r';

  it('keeps every block as the upstream sent it, whatever the cut (every piece size 1–7 and whole)', () => {
    const blocks = [
      odd.slice(0, odd.indexOf('\r\n\r\n') + 4),
      odd.slice(odd.indexOf('\r\n\r\n') + 4, odd.indexOf('}}\n\n') + 4),
      odd.slice(odd.indexOf('}}\n\n') + 4),
    ];
    for (const sizes of [[odd.length], [1], [2], [3], [5, 1, 7], [4, 6, 2]]) {
      const evs = frame(odd, sizes);
      expect(evs.map((e) => e.type)).toEqual([
        'response.output_text.delta',
        'response.completed',
        'response.in_progress',
      ]);
      expect(evs.map(rawText)).toEqual(blocks);
      expect(Buffer.isBuffer(evs[0].raw)).toBe(true);
      expect((evs[0].data as any).delta).toBe('hé ✓ 👩‍👧');
      expect(evs[0].deltaLength!()).toBeGreaterThanOrEqual('hé ✓ 👩‍👧'.length);
      expect(evs[1].data).toEqual({ type: 'response.completed', response: { id: 'r' } });
      expect(evs[1].dataText!()).toBe('{"type":"response.completed",\n"response":{"id":"r"}}');
    }
  });

  it('counts a delta like its UTF-16 length without parsing', () => {
    const text = 'línea — ✓ 🚀';
    const [ev] = frame(`event: x.delta\ndata: {"delta":"${text}"}\n\n`);
    expect(ev.deltaLength!()).toBe(text.length);
  });

  it('skips a leading BOM, comment-only and data-less blocks, non-JSON data and an unfinished last block', () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(
        ': keep-alive\n\nevent: ping\n\nevent: a\ndata: not json\n\nevent: b\ndata: {"type":"b"}\n\nevent: c\ndata: {}',
      ),
    ]);
    for (const sizes of [[body.length], [1], [2, 3]]) {
      const evs = frame(body, sizes);
      expect(evs.map((e) => e.type)).toEqual(['b']);
      expect(rawText(evs[0])).toBe('event: b\ndata: {"type":"b"}\n\n');
    }
  });

  it('names an unnamed block from its JSON type (and drops one that is not JSON)', () => {
    const evs = frame('data: {"type":"response.created","response":{}}\n\ndata: [DONE]\n\n');
    expect(evs.map((e) => e.type)).toEqual(['response.created']);
    expect(rawText(evs[0])).toBe(
      'event: response.created\ndata: {"type":"response.created","response":{}}\n\n',
    );
  });

  it('the prelude is copied out of the chunk; other events are views into it', () => {
    const text =
      'event: response.created\ndata: {"type":"response.created"}\n\nevent: x.delta\ndata: {"delta":"a"}\n\n';
    const chunk = Buffer.alloc(text.length, text);
    const [created, delta] = frame(chunk);
    expect((created.raw as Buffer).buffer).not.toBe(chunk.buffer);
    expect((created.raw as Buffer).buffer.byteLength).toBe(created.raw.length);
    expect((delta.raw as Buffer).buffer).toBe(chunk.buffer);
  });
});
