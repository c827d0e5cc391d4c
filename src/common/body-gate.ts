import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/**
 * Nothing large is read before it is authorised (issue 22 item 10). A body that may exceed
 * `UNAUTHENTICATED_BODY_LIMIT_BYTES` (a larger Content-Length, or chunked) is read only when the request carries
 * a usable key or a live session, checked from the headers before the first body byte is read. Otherwise: a
 * declared-large body is answered 401 at once (and the connection closed, so the rest is never read); a chunked
 * one is read up to the small limit and cut with 413. The route's own guard still decides what the caller may do.
 */
export const UNAUTHENTICATED_BODY_LIMIT_BYTES = 64 * 1024;

/** Whether the request's headers name a usable key or a live admin session (never throws for bad input). */
export type HeaderCredentials = (req: FastifyRequest) => Promise<boolean>;

function tooLarge(limit: number): ApiError {
  return new ApiError(
    413,
    `Request body is too large for an unauthenticated request (at most ${limit} bytes without a key or session).`,
    'invalid_request_error',
    null,
    'body_too_large',
  );
}

class LimitStream extends Transform {
  receivedEncodedLength = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.receivedEncodedLength += chunk.length;
    if (this.receivedEncodedLength > this.limit) return cb(tooLarge(this.limit));
    cb(null, chunk);
  }
}

export function registerBodyGate(
  fastify: FastifyInstance,
  credentialsValid: HeaderCredentials,
  limit = UNAUTHENTICATED_BODY_LIMIT_BYTES,
): void {
  fastify.addHook('preParsing', async (req, reply, payload) => {
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!chunked && !(declared > limit)) return payload;
    // Over the route's own limit: Fastify answers 413 from the header alone, without reading the body.
    if (!chunked && declared > (req.routeOptions.bodyLimit ?? Infinity)) return payload;
    if (await credentialsValid(req).catch(() => false)) return payload;
    if (!chunked) {
      // The rest of the body is never read: the answer goes out now and the connection ends after it.
      reply.header('connection', 'close');
      throw ApiError.unauthorized(
        `A request body over ${limit} bytes needs a valid API key or a signed-in session.`,
        'body_needs_authentication',
      );
    }
    const limited = new LimitStream(limit);
    payload.on('error', (e) => limited.destroy(e));
    return payload.pipe(limited);
  });
}
