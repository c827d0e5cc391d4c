import { createParser } from 'eventsource-parser';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { UpstreamEvent } from '../upstream/events.js';

const UNPARSED = Symbol('unparsed');

class LazyEvent implements UpstreamEvent {
  private parsed: any = UNPARSED;
  readonly raw: string;
  constructor(
    readonly type: string,
    private readonly text: string,
  ) {
    this.raw = `event: ${type}\ndata: ${text}\n\n`;
  }
  deltaLength(): number {
    if (this.parsed !== UNPARSED)
      return typeof this.parsed?.delta === 'string' ? this.parsed.delta.length : 0;
    const t = this.text;
    const at = t.indexOf('"delta":"');
    if (at < 0) return 0;
    let end = at + 9;
    // To the closing quote; an escape counts as the characters written (an estimate for charging aborted streams).
    for (; end < t.length; end++) {
      const c = t.charCodeAt(end);
      if (c === 0x5c) end++;
      else if (c === 0x22) break;
    }
    return end - at - 9;
  }
  get data(): any {
    if (this.parsed === UNPARSED) {
      const v = parseData(this.text);
      this.parsed = v === NOT_JSON ? {} : v;
    }
    return this.parsed;
  }
}

const NOT_JSON = Symbol('not json');

function parseData(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

function looksLikeObject(text: string): boolean {
  const t = text.trim();
  return t.startsWith('{') && t.endsWith('}');
}

/**
 * Upstream SSE body → events, as they arrive (eventsource-parser does the framing). Bytes are decoded as a
 * stream: a UTF-8 character split across two body chunks is joined, never replaced by U+FFFD. Events come out
 * in batches: all the events of one body chunk at once.
 */
export async function* readSseBatches(body: Readable): AsyncGenerator<UpstreamEvent[]> {
  let batch: UpstreamEvent[] = [];
  const parser = createParser({
    onEvent: (e) => {
      // Clients parse every event, so data that is not JSON is never relayed; the stream goes on. Named events
      // (all the Codex backend sends) are only checked for an object's outline here and parsed when read.
      if (e.event) {
        if (looksLikeObject(e.data)) batch.push(new LazyEvent(e.event, e.data));
        return;
      }
      const data = parseData(e.data);
      if (data === NOT_JSON) return;
      const ev = new LazyEvent(data?.type ?? 'message', e.data);
      batch.push(ev);
    },
  });
  const decoder = new StringDecoder('utf8');
  // Stopping early does not destroy the body: the caller decides (see releaseBody).
  for await (const chunk of body.iterator({ destroyOnReturn: false })) {
    parser.feed(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    if (batch.length) {
      yield batch;
      batch = [];
    }
  }
  const rest = decoder.end();
  if (rest) parser.feed(rest);
  if (batch.length) yield batch;
}

/**
 * Lets an upstream body that has delivered its terminal event finish on its own, so its keep-alive connection
 * goes back to the pool (destroying it mid-body closes the socket and builds an abort error per request). A
 * body that is still open after `graceMs` is destroyed.
 */
export function releaseBody(body: Readable, graceMs = 5000): void {
  if (body.destroyed || body.readableEnded) return;
  body.on('error', ignore);
  const timer = setTimeout(() => body.destroy(), graceMs);
  timer.unref();
  body.once('close', () => clearTimeout(timer));
  body.resume();
}

const ignore = () => {};

/** Stops an upstream body that is no longer wanted (client gone, stream broken); its abort error is expected. */
export function discardBody(body: Readable): void {
  if (body.destroyed) return;
  body.on('error', ignore);
  body.destroy();
}

/** The same, one event at a time. */
export async function* readSse(body: Readable): AsyncGenerator<UpstreamEvent> {
  for await (const batch of readSseBatches(body)) yield* batch;
}
