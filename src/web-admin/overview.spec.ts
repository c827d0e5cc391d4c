import { accountState, buildOverview, windowOf, type OverviewAccountRow } from './overview.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const at = (ms: number) => new Date(NOW + ms);
const row = (id: string, o: Partial<OverviewAccountRow> = {}): OverviewAccountRow => ({
  id,
  label: id,
  email: null,
  planType: 'pro',
  enabled: true,
  status: 'active',
  statusReason: null,
  accessTokenExpiresAt: at(3600_000),
  lastRefreshAt: null,
  lastError: null,
  cooldownUntil: null,
  usageSnapshot: null,
  usageSnapshotAt: null,
  ...o,
});
const traffic = { requests: 3, errors: 1, tokens: 42 };

describe('accountState', () => {
  it.each<[string, Partial<OverviewAccountRow>, string]>([
    ['enabled, active', {}, 'healthy'],
    ['disabled wins over every status', { enabled: false, status: 'needs_reauth' }, 'disabled'],
    ['needs_reauth', { status: 'needs_reauth', cooldownUntil: at(60_000) }, 'needs_reauth'],
    ['unusable', { status: 'unusable' }, 'unusable'],
    ['deactivated', { status: 'deactivated' }, 'unusable'],
    ['proxy_unreachable', { status: 'proxy_unreachable' }, 'unusable'],
    ['cooldown in the future', { cooldownUntil: at(60_000) }, 'cooling_down'],
    ['cooldown in the past', { cooldownUntil: at(-60_000) }, 'healthy'],
    ['cooldown ending exactly now', { cooldownUntil: at(0) }, 'healthy'],
  ])('%s → %s', (_name, o, state) => {
    expect(accountState(row('a', o), NOW)).toBe(state);
  });
});

describe('windowOf', () => {
  it.each<[string, unknown, unknown]>([
    ['missing', undefined, null],
    ['not an object', 42, null],
    ['no usedPercent', { windowMinutes: 300 }, null],
    ['usedPercent not a number', { usedPercent: '50' }, null],
    ['only usedPercent', { usedPercent: 50 }, { usedPercent: 50, windowMinutes: null, resetsAt: null }],
    [
      'full window (resetsAt in ms → ISO)',
      { usedPercent: 12.5, windowMinutes: 300, resetsAt: NOW + 60_000 },
      { usedPercent: 12.5, windowMinutes: 300, resetsAt: '2026-06-01T12:01:00.000Z' },
    ],
  ])('%s', (_name, input, out) => {
    expect(windowOf(input)).toEqual(out);
  });
});

describe('buildOverview', () => {
  it('an empty pool asks for an account and counts nothing', () => {
    expect(buildOverview([], traffic, NOW)).toEqual({
      accounts: { total: 0, healthy: 0, coolingDown: 0, needsReauth: 0, disabled: 0, unusable: 0 },
      lastHour: traffic,
      soonestReset: null,
      actions: [
        {
          kind: 'add_account',
          accountId: null,
          message: 'No subscription account yet: add one so keys can be served.',
        },
      ],
      pool: [],
      forecast: [],
    });
  });

  it('counts each state and maps the row to the DTO (dates as ISO, cooldown only while cooling)', () => {
    const o = buildOverview(
      [
        row('h', { cooldownUntil: at(-1000), lastRefreshAt: at(-5000), email: 'h@x' }),
        row('c', { cooldownUntil: at(60_000) }),
        row('r', { status: 'needs_reauth' }),
        row('d', { enabled: false }),
        row('u', { status: 'unusable', statusReason: 'plan ended' }),
      ],
      traffic,
      NOW,
    );
    expect(o.accounts).toEqual({
      total: 5,
      healthy: 1,
      coolingDown: 1,
      needsReauth: 1,
      disabled: 1,
      unusable: 1,
    });
    expect(o.pool.map((p) => [p.id, p.state, p.cooldownUntil])).toEqual([
      ['h', 'healthy', null],
      ['c', 'cooling_down', '2026-06-01T12:01:00.000Z'],
      ['r', 'needs_reauth', null],
      ['d', 'disabled', null],
      ['u', 'unusable', null],
    ]);
    expect(o.pool[0]).toMatchObject({
      email: 'h@x',
      lastRefreshAt: '2026-06-01T11:59:55.000Z',
      accessTokenExpiresAt: '2026-06-01T13:00:00.000Z',
    });
  });

  it.each<[string, OverviewAccountRow[], string[]]>([
    ['all healthy: nothing to do', [row('a'), row('b')], []],
    ['needs re-login', [row('a', { status: 'needs_reauth' })], ['reauth:a']],
    ['unusable', [row('a', { status: 'unusable' })], ['unusable:a']],
    [
      'expired token and a failed refresh',
      [row('a', { lastError: 'invalid_grant', accessTokenExpiresAt: at(-1) })],
      ['refresh_failing:a'],
    ],
    ['a failed refresh while the token still lives', [row('a', { lastError: 'x' })], []],
    [
      'a disabled account with a failing refresh is not an action',
      [row('a', { enabled: false, lastError: 'x', accessTokenExpiresAt: at(-1) })],
      [],
    ],
    [
      'every usable account cooling down',
      [row('a', { cooldownUntil: at(1000) }), row('b', { status: 'needs_reauth' })],
      ['reauth:b', 'all_cooling:null'],
    ],
    ['one cooling, one healthy', [row('a', { cooldownUntil: at(1000) }), row('b')], []],
    ['only disabled accounts', [row('a', { enabled: false })], []],
  ])('actions: %s', (_name, rows, kinds) => {
    expect(buildOverview(rows, traffic, NOW).actions.map((a) => `${a.kind}:${a.accountId}`)).toEqual(kinds);
  });

  it('names an account by label, then email, then the id prefix in its messages', () => {
    const msgs = buildOverview(
      [
        row('1', { label: 'Team', status: 'needs_reauth' }),
        row('2', { label: '', email: 'b@x', status: 'unusable', statusReason: 'banned' }),
        row('3456789abc', { label: '', status: 'unusable' }),
      ],
      traffic,
      NOW,
    ).actions.map((a) => a.message);
    expect(msgs).toEqual([
      'Team needs to be logged in again (its refresh token no longer works).',
      'b@x cannot serve requests (banned).',
      '3456789a cannot serve requests.',
    ]);
  });

  it('soonestReset is the earliest future cooldown or window reset', () => {
    const o = buildOverview(
      [
        row('a', {
          cooldownUntil: at(50 * 60_000),
          usageSnapshot: { short: { usedPercent: 99, resetsAt: NOW + 20 * 60_000 } },
        }),
        row('b', { usageSnapshot: { long: { usedPercent: 10, resetsAt: NOW - 1000 } } }),
        row('c', { cooldownUntil: at(-1000) }),
      ],
      traffic,
      NOW,
    );
    expect(o.soonestReset).toBe('2026-06-01T12:20:00.000Z');
    expect(buildOverview([row('a', { cooldownUntil: at(-1) })], traffic, NOW).soonestReset).toBeNull();
  });
});
