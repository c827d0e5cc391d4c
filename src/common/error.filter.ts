import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, envelope, errorTypeForStatus } from './errors.js';
import { unavailableDependency } from './dependency-errors.js';

/** Fastify's own error codes we map to a clear client error instead of a 500. */
const FASTIFY_CODES: Record<string, { status: number; message: (e: any) => string; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    message: () => 'Request body is too large.',
    code: 'request_too_large',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    message: (e) =>
      `Unsupported Content-Type${e?.message?.match(/: (.*)$/)?.[1] ? ` '${e.message.match(/: (.*)$/)[1]}'` : ''}: send application/json.`,
    code: 'unsupported_media_type',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    message: () => "Body cannot be empty when content-type is set to 'application/json'.",
    code: 'invalid_json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    message: () => 'Request body size did not match Content-Length.',
    code: 'invalid_request',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    message: () => 'We could not parse the JSON body of your request. Send valid JSON.',
    code: 'invalid_json',
  },
};

function fastifyKnown(e: any): ReturnType<typeof toErrorResponse> | undefined {
  const known = typeof e?.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (!known) return undefined;
  return {
    status: known.status,
    body: envelope(known.message(e), 'invalid_request_error', null, known.code),
    headers: {},
  };
}

/**
 * A database refusal caused by a value, not by the server: Postgres' data exceptions (SQLSTATE class 22: value
 * out of range, NUL in text, bad datetime) and Prisma's value errors. The safety net behind explicit validation:
 * bad input must be a 400, never a 500.
 */
const PRISMA_VALUE_CODES = new Set(['P2000', 'P2006', 'P2007', 'P2019', 'P2020', 'P2023']);
export function isDataException(e: any): boolean {
  if (e?.name !== 'PrismaClientKnownRequestError') return false;
  if (PRISMA_VALUE_CODES.has(e.code)) return true;
  const sqlState =
    e.meta?.driverAdapterError?.cause?.originalCode ??
    e.meta?.code ??
    /Code: `(\w{5})`/.exec(String(e.message))?.[1];
  return typeof sqlState === 'string' && sqlState.startsWith('22');
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * The methods registered for this request's path, when the path exists but not for the request's method (so the
 * answer is 405, not 404). Matches registered route paths literally: parametric routes are not detected.
 */
export function allowedMethodsFor(request: FastifyRequest): string[] {
  if (!request?.server || request.routeOptions?.url) return [];
  const path = (request.url ?? '').split('?')[0];
  return METHODS.filter((method) => {
    try {
      return request.server.hasRoute({ url: path, method });
    } catch {
      return false;
    }
  });
}

/** Turns any error into OpenAI's envelope. The same function serves Nest's filter and Fastify's error handler. */
export function toErrorResponse(err: unknown): {
  status: number;
  body: ReturnType<typeof envelope>;
  headers: Record<string, string>;
} {
  if (err instanceof ApiError) return { status: err.httpStatus, body: err.toBody(), headers: err.headers };
  // Nest's Fastify adapter wraps Fastify's parser errors in an HttpException whose `cause` is the original error.
  const fastifyError = fastifyKnown(err) ?? fastifyKnown((err as { cause?: unknown })?.cause);
  if (fastifyError) return fastifyError;
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const resp = err.getResponse() as any;
    let message = typeof resp === 'string' ? resp : (resp?.message ?? err.message);
    if (Array.isArray(message)) message = message.join('; ');
    if (status === 404 && /^Cannot (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)/.test(String(message))) {
      message = `Unknown request URL: ${String(message).replace(/^Cannot /, '')}.`;
    }
    return { status, body: envelope(String(message), errorTypeForStatus(status)), headers: {} };
  }
  const e = err as any;
  if (isDataException(e)) {
    return {
      status: 400,
      body: envelope(
        'A value in the request is out of range or not representable (e.g. a date, number or text).',
        'invalid_request_error',
        null,
        'invalid_value',
      ),
      headers: {},
    };
  }
  if (e instanceof SyntaxError || e?.type === 'entity.parse.failed') {
    return {
      status: 400,
      body: envelope(
        'We could not parse the JSON body of your request. Send valid JSON.',
        'invalid_request_error',
        null,
        'invalid_json',
      ),
      headers: {},
    };
  }
  const status =
    typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
  if (status < 500) {
    return {
      status,
      body: envelope(String(e?.message ?? 'Bad request'), errorTypeForStatus(status)),
      headers: {},
    };
  }
  const down = unavailableDependency(err);
  if (down) {
    return {
      status: 503,
      body: envelope(
        `The gateway's ${down === 'postgres' ? 'database' : 'Redis'} is unavailable; retry shortly.`,
        'server_error',
        null,
        `${down}_unavailable`,
      ),
      headers: { 'retry-after': '5' },
    };
  }
  return {
    status: 500,
    body: envelope('The server had an error while processing your request.', 'server_error'),
    headers: {},
  };
}

@Catch()
export class ErrorEnvelopeFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    let { status, body, headers } = toErrorResponse(exception);
    if (status === 404 && !(exception instanceof ApiError)) {
      const allow = allowedMethodsFor(request);
      if (allow.length > 0) {
        status = 405;
        headers = { ...headers, allow: allow.join(', ') };
        body = envelope(
          `Method ${request.method} is not allowed on ${request.url.split('?')[0]}. Allowed: ${allow.join(', ')}.`,
          'invalid_request_error',
          null,
          'method_not_allowed',
        );
      }
    }
    if (status >= 500) {
      // The error object may hold upstream text; log its name, message and stack only (no request data).
      const e = exception as Error;
      this.logger.error(
        { reqId: request?.id, err: { name: e?.name, message: e?.message, stack: e?.stack } },
        'unhandled error',
      );
    }
    if (reply.sent || reply.raw.headersSent) {
      // A stream already started: nothing can be sent any more; make sure the socket ends.
      if (!reply.raw.writableEnded) reply.raw.end();
      return;
    }
    reply.headers(headers).status(status).type('application/json').send(body);
  }
}
