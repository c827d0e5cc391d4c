import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, envelope, errorTypeForStatus } from './errors.js';

/**
 * The HTTP edge's own error paths, so every answer is OpenAI's envelope even when Node or Fastify refuse a
 * request before any handler runs, and JSON bodies are parsed with a depth limit.
 */

/** Deeper JSON than this is refused (400 `json_too_deep`): nothing legitimate nests so far, and serialising a
 * 10k-deep value overflows the stack. */
export const MAX_JSON_DEPTH = 64;

/** Depth of a parsed JSON value (iterative: never recurses, whatever the input). */
export function jsonDepth(value: unknown, limit = Infinity): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
    }
  }
  return max;
}

/**
 * `application/json` only (no form-urlencoded, no text/plain): an empty body is "no body" (DELETE/GET from fetch
 * wrappers send the header anyway); prototype poisoning is refused as Fastify's default parser does.
 */
export function registerJsonParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (text.length === 0 || /^\s*$/.test(text)) return done(null, undefined);
    parse(req, text, (err, value) => {
      if (err) return done(err, undefined);
      if (jsonDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
        return done(
          ApiError.badRequest(
            `The JSON body is nested too deeply (more than ${MAX_JSON_DEPTH} levels).`,
            null,
            'json_too_deep',
          ),
          undefined,
        );
      done(null, value);
    });
  });
}

/** Node's parser refused the request (bad Content-Length, CL+TE, header overflow, bad method, …). */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let message = 'Malformed HTTP request.';
  let code = 'invalid_request';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = 'Request headers are too large.';
    code = 'headers_too_large';
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    message = 'The request took too long to arrive.';
    code = 'request_timeout';
  } else if (err.code === 'HPE_URI_TOO_LONG' || err.code === 'HPE_URL_TOO_LONG') {
    status = 414;
    message = 'The request URL is too long.';
    code = 'uri_too_long';
  }
  if (socket.writable) {
    const body = JSON.stringify(envelope(message, errorTypeForStatus(status), null, code));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Fastify's router refused the URL (undecodable, or a path parameter longer than maxParamLength). */
export function frameworkErrors(
  err: Error & { code?: string },
  _req: FastifyRequest,
  reply: FastifyReply,
): void {
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const status = tooLong ? 414 : 400;
  void reply
    .code(status)
    .type('application/json')
    .send(
      envelope(
        tooLong ? 'A path parameter is too long.' : 'The request URL is not valid (bad percent-encoding).',
        'invalid_request_error',
        null,
        tooLong ? 'uri_too_long' : 'invalid_url',
      ),
    );
}
