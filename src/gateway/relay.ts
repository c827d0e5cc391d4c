import type { FastifyReply } from 'fastify';
import { startSse } from '../common/sse.js';

/**
 * The client side of one model request, shared by every model route: an abort signal that fires when the client
 * goes away before the reply finished (so the upstream request is cancelled at once), and the SSE writing.
 * Always `dispose()` it (in a `finally`): the close listener is detached whatever happened, including when
 * opening the upstream threw.
 */
export class ClientRelay {
  private readonly controller = new AbortController();
  private readonly onClose = () => {
    if (!this.reply.raw.writableFinished) this.controller.abort();
  };
  private streaming = false;
  private corked = false;
  /** Ends a batch of writes: everything written since the first write of this tick goes out in one syscall. */
  private readonly flush = () => {
    if (!this.corked) return;
    this.corked = false;
    this.reply.raw.uncork();
  };

  constructor(private readonly reply: FastifyReply) {
    reply.raw.on('close', this.onClose);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Takes the reply over and sends the SSE status line and headers. */
  startSse(requestId: string, headers: Record<string, string>): void {
    startSse(this.reply, requestId, headers);
    this.streaming = true;
  }

  /**
   * Writes to the client socket. Writes made in the same tick (every event parsed from one upstream chunk) are
   * corked and leave together when the tick ends, instead of one socket write per SSE event.
   */
  write(chunk: string): void {
    const raw = this.reply.raw;
    if (!this.corked) {
      this.corked = true;
      raw.cork();
      process.nextTick(this.flush);
    }
    raw.write(chunk);
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
    this.flush(); // before end(): a chunked reply ended while corked drops what was written in this tick
    if (this.streaming && !this.reply.raw.writableEnded) this.reply.raw.end();
  }
}
