import { classifyUpstream, usageSnapshotFromHeaders } from './classify.js';

const now = 1_800_000_000_000;

describe('classifyUpstream', () => {
  it('an HTML 404 from the edge (outage) is transient; the backend JSON 404 stays the client error', () => {
    expect(classifyUpstream(404, '<html>404 Not Found</html>', {}, now).errorClass).toBe('server');
    expect(
      classifyUpstream(
        404,
        JSON.stringify({ error: { message: 'Item not found', type: 'invalid_request_error' } }),
        {},
        now,
      ).errorClass,
    ).toBe('bad_request');
  });
  it('account signals: deactivation and a lost login are both account verdicts, by code', () => {
    const forbidden = (code: string) =>
      classifyUpstream(403, JSON.stringify({ error: { code, message: 'x', type: null } }), {}, now);
    expect(forbidden('account_deactivated')).toMatchObject({
      errorClass: 'account_disabled',
      code: 'account_deactivated',
    });
    expect(forbidden('token_invalidated')).toMatchObject({
      errorClass: 'account_disabled',
      code: 'token_invalidated',
    });
    expect(forbidden('something_else').errorClass).toBe('forbidden');
  });
  it('usage limit: reset time from resets_at', () => {
    const c = classifyUpstream(
      429,
      JSON.stringify({
        error: { type: 'usage_limit_reached', resets_at: 1_800_000_100, resets_in_seconds: 100 },
      }),
      {},
      now,
    );
    expect(c).toMatchObject({
      errorClass: 'usage_limit',
      resetAt: 1_800_000_100_000,
      code: 'usage_limit_reached',
    });
  });
  it('usage limit: reset time from resets_in_seconds', () => {
    expect(
      classifyUpstream(
        429,
        JSON.stringify({ error: { type: 'usage_limit_reached', resets_in_seconds: 60 } }),
        {},
        now,
      ).resetAt,
    ).toBe(now + 60_000);
  });
  it('403 is never auth: classified by body', () => {
    const c = (body: string, h: Record<string, string> = {}) =>
      classifyUpstream(403, body, h, now).errorClass;
    expect(c(JSON.stringify({ error: { type: 'usage_not_included' } }))).toBe('usage_not_included');
    expect(
      c('<!DOCTYPE html><title>Attention Required! | Cloudflare</title>Sorry, you have been blocked', {
        'content-type': 'text/html',
      }),
    ).toBe('blocked');
    expect(c('<html><title>Just a moment...</title></html>', { 'cf-mitigated': 'challenge' })).toBe(
      'blocked',
    );
    expect(c(JSON.stringify({ error: { code: 'account_deactivated' } }))).toBe('account_disabled');
    expect(c('{"detail":"Forbidden"}')).toBe('forbidden');
    expect(c('')).toBe('forbidden');
    expect(classifyUpstream(401, '{"detail":"Unauthorized"}', {}, now).errorClass).toBe('auth');
  });
  it('usage_not_included takes the account out', () => {
    expect(
      classifyUpstream(429, JSON.stringify({ error: { type: 'usage_not_included' } }), {}, now).errorClass,
    ).toBe('usage_not_included');
  });
  it('rate limit: Retry-After, else "try again in N s", else 5 s', () => {
    expect(
      classifyUpstream(429, '{"error":{"type":"rate_limit_exceeded"}}', { 'retry-after': '7' }, now).resetAt,
    ).toBe(now + 7000);
    expect(
      classifyUpstream(
        429,
        '{"error":{"type":"rate_limit_exceeded","message":"Please try again in 3s."}}',
        {},
        now,
      ).resetAt,
    ).toBe(now + 3000);
    expect(classifyUpstream(429, 'nope', {}, now).resetAt).toBe(now + 5000);
  });
  it('401 is auth, 5xx server, FastAPI detail is a bad request with its text', () => {
    expect(classifyUpstream(401, '{"detail":"expired"}', {}).errorClass).toBe('auth');
    expect(classifyUpstream(503, '', {}).errorClass).toBe('server');
    expect(classifyUpstream(400, '{"detail":"Unsupported parameter: x"}', {})).toMatchObject({
      errorClass: 'bad_request',
      message: 'Unsupported parameter: x',
    });
  });
});

describe('usageSnapshotFromHeaders', () => {
  it('classifies windows by length, not by name (free plans report the weekly window as primary)', () => {
    const s = usageSnapshotFromHeaders(
      {
        'x-codex-primary-used-percent': '40',
        'x-codex-primary-window-minutes': '10080',
        'x-codex-primary-reset-after-seconds': '1000',
        'x-codex-secondary-used-percent': '90',
        'x-codex-secondary-window-minutes': '300',
        'x-codex-secondary-reset-at': '1800000500',
      },
      now,
    ) as any;
    expect(s.short).toMatchObject({
      name: 'secondary',
      usedPercent: 90,
      windowMinutes: 300,
      resetsAt: 1_800_000_500_000,
    });
    expect(s.long).toMatchObject({ name: 'primary', usedPercent: 40, resetsAt: now + 1_000_000 });
    expect(s.maxUsedPercent).toBe(90);
  });
  it('is null without usage headers', () => {
    expect(usageSnapshotFromHeaders({})).toBeNull();
  });
});
