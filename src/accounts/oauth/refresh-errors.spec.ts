import { classifyNetworkError, classifyRefreshResponse, errorCodeOf } from './refresh-errors.js';

describe('classifyRefreshResponse', () => {
  it.each([
    [401, { error: { code: 'refresh_token_expired' } }, 'permanent', 'refresh_token_expired'],
    [401, { error: 'refresh_token_reused' }, 'permanent', 'refresh_token_reused'],
    [
      400,
      { error: { code: 'refresh_token_invalidated', message: 'x' } },
      'permanent',
      'refresh_token_invalidated',
    ],
    [400, { error: 'invalid_grant' }, 'rejected', 'invalid_grant'],
    [403, 'html', 'rejected', 'http_403'],
    [500, { error: { code: 'refresh_token_expired_not' } }, 'transient', 'refresh_token_expired_not'],
    [502, null, 'transient', 'http_502'],
    [429, {}, 'transient', 'http_429'],
    [404, '<html>Not Found</html>', 'transient', 'http_404'],
    [408, null, 'transient', 'http_408'],
  ])('%i %j → %s', (status, body, kind, code) => {
    expect(classifyRefreshResponse(status, body)).toMatchObject({ kind, code });
  });
  it('classifies network errors as transient', () => {
    expect(classifyNetworkError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toMatchObject({
      kind: 'transient',
      code: 'timeout',
    });
    expect(
      classifyNetworkError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })),
    ).toMatchObject({
      kind: 'transient',
      code: 'ECONNREFUSED',
    });
  });
  it('reads codes from several shapes', () => {
    expect(errorCodeOf({ code: 'c' })).toBe('c');
    expect(errorCodeOf({ error: { type: 't' } })).toBe('t');
    expect(errorCodeOf(undefined)).toBeNull();
  });
});
