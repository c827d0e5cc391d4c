import { describeHealth, type HealthInput } from './health-cause.js';

const base: HealthInput = {
  enabled: true,
  status: 'active',
  statusReason: null,
  statusSince: new Date('2026-12-01T10:00:00Z'),
  cooldownUntil: null,
  lastError: null,
  lastErrorAt: null,
  updatedAt: new Date('2026-12-01T11:00:00Z'),
};
const now = Date.parse('2026-12-02T12:00:00Z');

describe('describeHealth', () => {
  it.each([
    [
      'needs_reauth',
      { status: 'needs_reauth', statusReason: 'refresh failed: refresh_token_reused' },
      /sign-in/i,
      /Sign the account in again/,
    ],
    [
      'deactivated',
      { status: 'deactivated', statusReason: 'upstream refused the account (account_deactivated)' },
      /disabled/,
      /chatgpt\.com/,
    ],
    ['unusable', { status: 'unusable' }, /cannot serve Codex/, /plan/],
    [
      'proxy_unreachable',
      { status: 'proxy_unreachable' },
      /proxy 10\.0\.0\.1:3128 refuses or does not answer/,
      /probes/,
    ],
  ] as const)('%s names its cause, since when, and the fix', (cause, patch, message, fix) => {
    const h = describeHealth({ ...base, ...patch }, { proxyHost: '10.0.0.1:3128' }, now);
    expect(h.cause).toBe(cause);
    expect(h.serving).toBe(false);
    expect(h.message).toMatch(message);
    expect(h.fix).toMatch(fix);
    expect(h.since).toBe('2026-12-01T10:00:00.000Z');
  });

  it('usage_limit: cooling until a known time, and says when it serves again', () => {
    const until = new Date(now + 3_600_000);
    const h = describeHealth({ ...base, cooldownUntil: until, lastErrorAt: new Date(now - 1000) }, {}, now);
    expect(h).toMatchObject({ cause: 'usage_limit', serving: false, until: until.toISOString() });
    expect(h.fix).toContain(until.toISOString());
    expect(h.since).toBe(new Date(now - 1000).toISOString());
  });

  it('a cooldown in the past is active again', () => {
    expect(describeHealth({ ...base, cooldownUntil: new Date(now - 1) }, {}, now).cause).toBe('active');
  });

  it('transient trouble (open circuit) still serves and has no fix to apply', () => {
    const h = describeHealth(base, { circuitOpen: true }, now);
    expect(h).toMatchObject({ cause: 'transient', serving: true, fix: null });
  });

  it('a stored cause wins over an admin disable and a cooldown', () => {
    expect(
      describeHealth(
        { ...base, enabled: false, status: 'deactivated', cooldownUntil: new Date(now + 1) },
        {},
        now,
      ).cause,
    ).toBe('deactivated');
    expect(describeHealth({ ...base, enabled: false }, {}, now).cause).toBe('disabled');
  });
});
