import { Readable } from 'node:stream';
import { UpstreamStreamError } from '../upstream/classify.js';
import type { UpstreamEvent } from '../upstream/events.js';
import { relayEvents, WHOLE_STREAM, type EventSink } from './relay-events.js';
import { readSse } from './sse-reader.js';

const sse = (...types: string[]) => types.map((t) => `event: ${t}\ndata: {"type":"${t}"}\n\n`).join('');

async function* breaking(): AsyncGenerator<UpstreamEvent> {
  yield* readSse(Readable.from([sse('response.created')]));
  throw new UpstreamStreamError('The upstream stream broke: reset', 'stream_disconnected');
}

describe('relayEvents (the one relay loop of every model route)', () => {
  it('hands every event on in order and reports a clean end as null', async () => {
    const seen: string[] = [];
    const events = readSse(
      Readable.from([sse('response.created', 'response.output_text.delta', 'response.completed')]),
    );
    const broke = await relayEvents(events, WHOLE_STREAM, (ev) => seen.push(ev.type));
    expect(broke).toBeNull();
    expect(seen).toEqual(['response.created', 'response.output_text.delta', 'response.completed']);
  });

  it('stops reading once the sink is gone', async () => {
    const seen: string[] = [];
    const sink = { gone: false };
    const events = readSse(Readable.from([sse('a', 'b', 'c')]));
    await relayEvents(events, sink, (ev) => {
      seen.push(ev.type);
      sink.gone = true;
    });
    expect(seen).toEqual(['a']);
  });

  it('waits for the sink to drain before the next event', async () => {
    const order: string[] = [];
    let release!: () => void;
    let waits = 0;
    const sink: EventSink = {
      gone: false,
      drained: () =>
        waits++ === 0
          ? new Promise<void>((r) => {
              release = () => {
                order.push('drained');
                r();
              };
            })
          : null,
    };
    const done = relayEvents(readSse(Readable.from([sse('a', 'b')])), sink, (ev) => order.push(ev.type));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['a']);
    release();
    await done;
    expect(order).toEqual(['a', 'drained', 'b']);
  });

  it('returns a break with its message and class, or null when the sink is gone anyway', async () => {
    expect(await relayEvents(breaking(), WHOLE_STREAM, () => {})).toEqual({
      message: 'The upstream stream broke: reset',
      errorClass: 'stream_disconnected',
    });
    const gone = { gone: false };
    expect(await relayEvents(breaking(), gone, () => (gone.gone = true))).toBeNull();
  });
});
