import { formatStatus, parseArgs, usageState } from './accounts.cli.js';
import type { AccountView } from './account-view.js';

const base: AccountView = {
  id: '11111111-1111-4111-8111-111111111111',
  label: 'main',
  enabled: true,
  status: 'needs_reauth',
  statusReason: 'refresh failed: refresh_token_expired (HTTP 401)',
  statusSince: '2026-01-01T00:00:00.000Z',
  proxy: { via: 'direct', endpoint: null, scheme: null, host: null, port: null, sharedWith: [] },
  health: {
    cause: 'needs_reauth',
    serving: false,
    message: 'The sign-in is no longer valid.',
    since: '2026-01-01T00:00:00.000Z',
    until: null,
    fix: 'Sign the account in again.',
  },
  priority: 0,
  weight: 1,
  reservePercent: 0,
  maxConcurrent: null,
  email: 'a@example.com',
  chatgptAccountId: 'acct-1',
  chatgptUserId: 'u',
  planType: 'pro',
  accessTokenExpiresAt: '2026-01-01T02:00:00.000Z',
  lastRefreshAt: '2026-01-01T00:00:00.000Z',
  lastError: 'refresh failed: refresh_token_expired (HTTP 401)',
  lastErrorAt: null,
  cooldownUntil: null,
  usageSnapshot: null,
  usageSnapshotAt: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  today: { requests: 0, tokens: 0 },
};
const now = Date.parse('2026-01-01T01:00:00.000Z');

describe('auth status formatting', () => {
  it('prints email, plan, status with reason, expiry, last refresh, usage state', () => {
    const text = formatStatus([base], now);
    expect(text).toContain('main\n');
    expect(text).toContain('  email:        a@example.com');
    expect(text).toContain('  plan:         pro');
    expect(text).toContain('  status:       needs_reauth (refresh failed: refresh_token_expired (HTTP 401))');
    expect(text).toContain('  token expiry: 2026-01-01T02:00:00.000Z (in 1h0m)');
    expect(text).toContain('  last refresh: 2026-01-01T00:00:00.000Z (1h0m ago)');
    expect(text).toContain('  usage limit:  no data');
  });
  it('says so when there are no accounts', () => {
    expect(formatStatus([], now)).toMatch(/No accounts/);
  });
  it('shows a cooldown first, else the used percentages of the snapshot', () => {
    expect(usageState({ cooldownUntil: '2026-01-01T03:00:00.000Z', usageSnapshot: null }, now)).toBe(
      'cooling down until 2026-01-01T03:00:00.000Z',
    );
    expect(
      usageState(
        {
          cooldownUntil: null,
          usageSnapshot: { primary: { usedPercent: 40 }, secondary: { usedPercent: 5 } },
        },
        now,
      ),
    ).toBe('primary.usedPercent=40% secondary.usedPercent=5%');
    expect(usageState({ cooldownUntil: null, usageSnapshot: { other: true } }, now)).toBe(
      'snapshot recorded',
    );
  });
  it('parses flags and values', () => {
    const a = parseArgs(['--device', '--port', '9', '--label=x y', 'extra'], ['port', 'label']);
    expect([...a.flags]).toEqual(['device']);
    expect(a.values).toEqual({ port: '9', label: 'x y' });
  });
});
