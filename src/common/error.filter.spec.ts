import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { ApiError } from './errors.js';
import { toErrorResponse } from './error.filter.js';

const fastifyErr = (code: string, message: string, statusCode: number) =>
  Object.assign(new Error(message), { code, statusCode });

describe('toErrorResponse', () => {
  it('keeps an ApiError as is, with its headers', () => {
    const r = toErrorResponse(ApiError.rateLimited('slow down', 2.2));
    expect(r).toEqual({
      status: 429,
      body: {
        error: { message: 'slow down', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' },
      },
      headers: { 'retry-after': '3' },
    });
  });

  it.each([
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 'invalid_json'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'invalid_json'],
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'request_too_large'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'unsupported_media_type'],
    ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400, 'invalid_request'],
  ])('maps Fastify %s, bare or wrapped by Nest, to %i %s', (code, status, apiCode) => {
    const bare = fastifyErr(code, 'x', status);
    // Nest's Fastify adapter wraps parser errors: HttpException(message, status, { cause }).
    const wrapped = new HttpException('x', status, { cause: bare });
    for (const err of [bare, wrapped]) {
      const r = toErrorResponse(err);
      expect(r.status).toBe(status);
      expect(r.body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: apiCode });
    }
  });

  it('says which content type was refused', () => {
    const r = toErrorResponse(
      fastifyErr('FST_ERR_CTP_INVALID_MEDIA_TYPE', 'Unsupported Media Type: text/plain', 415),
    );
    expect(r.body.error.message).toContain("'text/plain'");
  });

  it("rewrites Nest's route-not-found message", () => {
    const r = toErrorResponse(new NotFoundException('Cannot GET /v1/nope'));
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe('Unknown request URL: GET /v1/nope.');
  });

  it('joins validation messages', () => {
    const r = toErrorResponse(new BadRequestException(['a is required', 'b must be a number']));
    expect(r.body.error).toMatchObject({
      message: 'a is required; b must be a number',
      type: 'invalid_request_error',
    });
  });

  it('maps a SyntaxError to invalid_json', () => {
    expect(toErrorResponse(new SyntaxError('Unexpected token')).body.error.code).toBe('invalid_json');
  });

  it('keeps other 4xx statuses from plain errors', () => {
    expect(toErrorResponse(Object.assign(new Error('nope'), { statusCode: 409 })).status).toBe(409);
  });

  it('hides the message of anything else behind a 500', () => {
    const r = toErrorResponse(new Error('db password=hunter2 leaked'));
    expect(r.status).toBe(500);
    expect(r.body.error.type).toBe('server_error');
    expect(JSON.stringify(r.body)).not.toContain('hunter2');
  });
});
