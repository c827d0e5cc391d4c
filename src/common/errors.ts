import { HttpException } from '@nestjs/common';

/** OpenAI's error envelope: {"error":{"message","type","param","code"}}. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'server_error'
  | 'service_unavailable';

/**
 * The one error type of the gateway. Anything thrown as ApiError reaches the client as OpenAI's envelope with
 * this status; `headers` (e.g. Retry-After) are set on the response. Messages must never contain secrets.
 */
export class ApiError extends HttpException {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly type: ErrorType | string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message, httpStatus);
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  static badRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
    return new ApiError(400, message, 'invalid_request_error', param, code);
  }
  static unauthorized(
    message = 'Incorrect API key provided.',
    code: string | null = 'invalid_api_key',
  ): ApiError {
    return new ApiError(401, message, 'invalid_request_error', null, code);
  }
  static forbidden(message: string, code: string | null = null): ApiError {
    return new ApiError(403, message, 'permission_error', null, code);
  }
  static notFound(message: string, param: string | null = null, code: string | null = null): ApiError {
    return new ApiError(404, message, 'invalid_request_error', param, code);
  }
  static rateLimited(
    message: string,
    retryAfterSeconds: number,
    code = 'rate_limit_exceeded',
    headers = {},
  ): ApiError {
    return new ApiError(429, message, 'rate_limit_error', null, code, {
      'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
      ...headers,
    });
  }
  /** 429 `insufficient_quota`: a token quota is used up until the period ends. */
  static quotaExceeded(message: string, retryAfterSeconds: number): ApiError {
    return new ApiError(429, message, 'insufficient_quota', null, 'insufficient_quota', {
      'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    });
  }
  static unavailable(message: string, code: string | null = null, headers = {}): ApiError {
    return new ApiError(503, message, 'service_unavailable', null, code, headers);
  }
  static conflict(message: string, param: string | null = null, code: string | null = 'conflict'): ApiError {
    return new ApiError(409, message, 'invalid_request_error', param, code);
  }
  static gone(message: string, param: string | null = null, code: string | null = null): ApiError {
    return new ApiError(410, message, 'invalid_request_error', param, code);
  }
  /** 502: the upstream (Codex backend or OAuth issuer) failed us. */
  static badGateway(message: string, code: string | null = 'upstream_error'): ApiError {
    return new ApiError(502, message, 'server_error', null, code);
  }
  /** 499 (nginx's convention): the client went away before an answer; logged and recorded, never sent. */
  static clientClosed(): ApiError {
    return new ApiError(
      499,
      'Client closed the request.',
      'invalid_request_error',
      null,
      'client_closed_request',
    );
  }
  /** For a status computed at run time (e.g. an upstream failure code mapped to a status). */
  static of(e: {
    status: number;
    message: string;
    type: ErrorType | string;
    param?: string | null;
    code?: string | null;
    headers?: Record<string, string>;
  }): ApiError {
    return new ApiError(e.status, e.message, e.type, e.param ?? null, e.code ?? null, e.headers ?? {});
  }
  static internal(message = 'The server had an error while processing your request.'): ApiError {
    return new ApiError(500, message, 'server_error', null, null);
  }
}

const STATUS_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  405: 'invalid_request_error',
  408: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

export function errorTypeForStatus(status: number): string {
  return STATUS_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
}

export function envelope(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
) {
  return { error: { message, type, param, code } } satisfies OpenAIErrorBody;
}
