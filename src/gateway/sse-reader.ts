import { createParser } from 'eventsource-parser';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/**
 * Upstream SSE body → events, as they arrive (eventsource-parser does the framing). `raw` is the event written
 * back in SSE form with its data string untouched, so the gateway relays what the upstream sent without
 * re-serialising JSON. Bytes are decoded as a stream: a UTF-8 character split across two body chunks is joined,
 * never replaced by U+FFFD.
 */
export interface UpstreamEvent {
  type: string;
  data: any;
  raw: string;
}

export async function* readSse(body: Readable): AsyncGenerator<UpstreamEvent> {
  const queue: UpstreamEvent[] = [];
  const parser = createParser({
    onEvent: (e) => {
      let data: any;
      try {
        data = JSON.parse(e.data);
      } catch {
        // Not JSON: never relayed (clients parse every event); the stream goes on with the next event.
        return;
      }
      const type = e.event ?? data?.type ?? 'message';
      queue.push({ type, data, raw: `event: ${type}\ndata: ${e.data}\n\n` });
    },
  });
  const decoder = new StringDecoder('utf8');
  for await (const chunk of body) {
    parser.feed(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    while (queue.length) yield queue.shift()!;
  }
  const rest = decoder.end();
  if (rest) parser.feed(rest);
  while (queue.length) yield queue.shift()!;
}
