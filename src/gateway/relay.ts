import type { FastifyReply, FastifyRequest } from 'fastify';
import { startSse } from '../common/sse.js';
import type { EventSink } from './relay-events.js';

/**
 * The client side of one model request, shared by every model route: an abort signal that fires when the client
 * goes away before the reply finished (so the upstream request is cancelled at once), and the SSE writing.
 * Always `dispose()` it (in a `finally`): the close listener is detached whatever happened, including when
 * opening the upstream threw.
 */
export class ClientRelay implements EventSink {
  private readonly controller = new AbortController();
  private readonly onClose = () => {
    if (!this.reply.raw.writableFinished) this.controller.abort();
  };
  private streaming = false;
  /** SSE written in this tick, not yet handed to the socket: the upstream's bytes and the gateway's own text. */
  private pending: (Buffer | string)[] = [];
  private scheduled = false;
  /**
   * Ends a batch: everything written since the first write of this tick goes to the response as ONE write, so
   * one HTTP chunk and one socket syscall. (`res.cork()` does not do this: on uncork, Node's ServerResponse
   * uncorks the socket first and then sends every buffered chunk as its own write(2) — measured with strace,
   * one syscall per SSE event; docs/bench.md.)
   */
  private readonly flush = () => {
    this.scheduled = false;
    const data = this.take();
    if (data === null) return;
    const raw = this.reply.raw;
    if (!raw.writableEnded && !raw.destroyed) raw.write(data);
  };

  /** The tick's writes as one piece (null when none): usually one view of the upstream chunk, no copy. */
  private take(): Buffer | string | null {
    this.closeRun();
    const parts = this.pending;
    if (!parts.length) return null;
    this.pending = [];
    if (parts.length === 1) return parts[0];
    let strings = true;
    for (const p of parts) if (typeof p !== 'string') strings = false;
    if (strings) return parts.join('');
    return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  }

  /**
   * The run of adjacent views being joined: its first view and the end of the last one in the same memory (the
   * events of one upstream chunk follow each other there), made into one view only when the run ends.
   */
  private run: Buffer | null = null;
  private runEnd = 0;

  private closeRun(): void {
    const r = this.run;
    if (!r) return;
    this.run = null;
    this.pending.push(
      this.runEnd === r.byteOffset + r.length
        ? r
        : Buffer.from(r.buffer, r.byteOffset, this.runEnd - r.byteOffset),
    );
  }

  constructor(private readonly reply: FastifyReply) {
    reply.raw.on('close', this.onClose);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** The client went away (EventSink of relayEvents). */
  get gone(): boolean {
    return this.aborted;
  }

  /** Takes the reply over and sends the SSE status line and headers. */
  startSse(requestId: string, headers: Record<string, string>): void {
    startSse(this.reply, requestId, headers);
    this.streaming = true;
  }

  /**
   * Writes to the client: writes made in the same tick (the events of one upstream chunk) leave together. Views
   * of one chunk that follow each other in it (the pass-through events of that chunk) are joined into one view.
   */
  write(chunk: Buffer | string): void {
    if (typeof chunk !== 'string') {
      const r = this.run;
      if (r && r.buffer === chunk.buffer && this.runEnd === chunk.byteOffset) {
        this.runEnd += chunk.length;
        return;
      }
      this.closeRun();
      this.run = chunk;
      this.runEnd = chunk.byteOffset + chunk.length;
    } else {
      this.closeRun();
      this.pending.push(chunk);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  /**
   * Back-pressure: resolves at once while the client keeps up, else when its socket drains (or closes), so a slow
   * reader slows the upstream read instead of piling the answer up in the gateway's memory.
   */
  drained(): Promise<void> | null {
    const raw = this.reply.raw;
    if (!raw.writableNeedDrain || raw.destroyed) return null;
    return new Promise((resolve) => {
      const done = () => {
        raw.off('drain', done);
        raw.off('close', done);
        resolve();
      };
      raw.on('drain', done);
      raw.on('close', done);
    });
  }

  /** Writes one `event: <name>` SSE block with a JSON payload. */
  writeEvent(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Writes one unnamed `data:` SSE block (chat completion chunks). */
  writeData(data: unknown): void {
    this.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  dispose(): void {
    this.reply.raw.off('close', this.onClose);
    const raw = this.reply.raw;
    if (this.streaming && !raw.writableEnded && !raw.destroyed) {
      // What this tick wrote and the end of the reply leave together (one write instead of two).
      const data = this.take();
      raw.end(data ?? undefined);
    } else this.flush();
  }
}

/** The request body's size from Content-Length (bodies are never accepted compressed), if the client sent it. */
export function bodyBytes(req: FastifyRequest): number | undefined {
  const n = Number(req.headers['content-length']);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
