import type { FastifyReply } from 'fastify';

/**
 * Takes the reply over from Fastify and starts a server-sent-events response: status 200 and the headers clients
 * and proxies need (no caching, no proxy buffering), plus the request id and any extra headers (rate limits).
 * The caller writes `data:` blocks to `reply.raw` and ends it.
 */
export function startSse(reply: FastifyReply, requestId: string, extra: Record<string, string> = {}): void {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': requestId,
    ...extra,
  });
}
