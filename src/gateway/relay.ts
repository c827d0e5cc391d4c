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

  write(chunk: string): void {
    this.reply.raw.write(chunk);
  }

  /** Writes one `event: <name>` SSE block with a JSON payload. */
  writeEvent(event: string, data: unknown): void {
    this.reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Writes one unnamed `data:` SSE block (chat completion chunks). */
  writeData(data: unknown): void {
    this.reply.raw.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  dispose(): void {
    this.reply.raw.off('close', this.onClose);
    if (this.streaming && !this.reply.raw.writableEnded) this.reply.raw.end();
  }
}
