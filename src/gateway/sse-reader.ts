import type { Readable } from 'node:stream';
import type { UpstreamEvent } from '../upstream/events.js';
import { SseFramer } from './sse-framer.js';

/**
 * Upstream SSE body → events, as they arrive (framed at the byte level by SseFramer: each event's `raw` is the
 * upstream's own bytes, decoded only if the gateway reads the event). Events come out in batches: all the events
 * of one body chunk at once.
 */
export async function* readSseBatches(body: Readable): AsyncGenerator<UpstreamEvent[]> {
  const framer = new SseFramer();
  let batch: UpstreamEvent[] = [];
  // Stopping early does not destroy the body: the caller decides (see releaseBody).
  for await (const chunk of body.iterator({ destroyOnReturn: false })) {
    framer.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer), batch);
    if (batch.length) {
      yield batch;
      batch = [];
    }
  }
  framer.end(batch);
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
