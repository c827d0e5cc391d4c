import type { UpstreamEvent } from '../upstream/events.js';

/** Where a relayed stream goes: reading stops once it is gone, and waits while it is full (back-pressure). */
export interface EventSink {
  readonly gone: boolean;
  drained?(): Promise<void> | null;
}

/** How a stream broke after it started: the message and class the route tells its client. */
export interface StreamBreak {
  message: string;
  errorClass: string | null;
}

/** A sink that never goes away (non-streaming answers read the whole stream). */
export const WHOLE_STREAM: EventSink = { gone: false };

/**
 * The relay loop every model route shares (HTTP SSE, chat chunks, WebSocket frames, assembled answers): hands the
 * upstream events to `each` in order until the stream ends or the sink is gone, waiting while the sink is full.
 * A break of the stream is returned, not thrown (null when the sink is gone anyway): each route tells its client
 * in its own shape.
 */
export async function relayEvents(
  events: AsyncIterable<UpstreamEvent>,
  sink: EventSink,
  each: (ev: UpstreamEvent) => void,
): Promise<StreamBreak | null> {
  try {
    for await (const ev of events) {
      if (sink.gone) break;
      each(ev);
      const wait = sink.drained?.();
      if (wait) await wait;
    }
    return null;
  } catch (err) {
    if (sink.gone) return null;
    return {
      message: (err as Error).message,
      errorClass: (err as { errorClass?: string }).errorClass ?? null,
    };
  }
}
