import type { Fault } from './fake-upstream/index.ts';
import { createAdminKey } from './support/auth.js';
import { call } from './support/http.js';
import { useFakeGateway } from './support/scenario.js';
import { query } from './support/wait.js';

/**
 * Health states that name their cause (issue 25 item 3): a burst of transient trouble never changes a stored
 * status; each non-transient cause goes from a fake-backend signal to the admin API with its message, since and fix.
 */
const env = { POOL_STRATEGY: 'round-robin', POOL_MAX_ATTEMPTS: '3' };
type Setup = ReturnType<typeof useFakeGateway>;
let s: Setup;
let admin: string;
/** Each describe gets its own gateway: the burst leaves circuits open that would hide the next cases' accounts. */
function setUp(accounts: number) {
  const mine = useFakeGateway(accounts, env);
  beforeAll(async () => {
    s = mine;
    admin = (await createAdminKey(s.gw)).key;
  });
}

const statuses = async () =>
  (await query<{ status: string }>(s.gw, 'SELECT status FROM accounts ORDER BY label')).map((r) => r.status);

const health = async (id: string) => {
  const r = await call(s.gw, 'GET', `/admin/api/accounts/${id}`, { key: admin });
  expect(r.status).toBe(200);
  return r.body;
};

async function ask(): Promise<number> {
  const r = await call(s.gw, 'POST', '/v1/responses', {
    key: s.key,
    body: { model: 'gpt-5.5', input: `hello ${Math.random()}` }, // a new conversation each time (no stickiness)
  });
  return r.status;
}

describe('transient trouble never changes the stored status', () => {
  setUp(6);
  it('a burst of 5xx, 404s and resets across every account, refresh 5xx/404 included, leaves every account active', async () => {
    const kinds: Fault[] = [
      { kind: 'server_error', status: 500 },
      { kind: 'server_error', status: 502 },
      { kind: 'server_error', status: 503 },
      { kind: 'not_found' },
      { kind: 'reset' },
      { kind: 'cut_stream', afterEvents: 0 },
    ];
    let failed = 0;
    // Every attempt of a request (3, each on another account) meets the next fault.
    for (const f of kinds) {
      s.fake.faultNext(f, 6);
      for (let i = 0; i < 2; i++) if ((await ask()) !== 200) failed++;
    }
    // The token endpoint has an outage too: a 401 twice makes the gateway refresh, which meets 404, then 502.
    for (const token of [{ kind: 'not_found' }, { kind: 'server_error' }] as const) {
      s.fake.faultNext({ kind: 'unauthorized' }, 6);
      s.fake.tokenFault(token, 3);
      if ((await ask()) !== 200) failed++;
    }
    expect(failed).toBe(kinds.length * 2 + 2); // every attempt met the outage
    expect(s.fake.refreshOutcomes()).toMatchObject({
      not_found: expect.any(Number),
      server_error: expect.any(Number),
    });
    expect(await statuses()).toEqual(Array(6).fill('active'));
    for (const a of s.accts) {
      const body = await health(a.id);
      expect(body.status).toBe('active');
      expect(['active', 'transient']).toContain(body.health.cause);
    }
    // And the pool serves again once the trouble is over.
    s.fake.reset();
    expect(await ask()).toBe(200);
  });
});

describe('each non-transient cause, from a backend signal to the admin API', () => {
  setUp(6);
  const cases: {
    cause: string;
    arrange: (acct: string) => void;
    message: RegExp;
    fix: RegExp;
  }[] = [
    {
      cause: 'deactivated',
      arrange: (a) => s.fake.fault(a, { kind: 'forbidden', variant: 'account_deactivated' }),
      message: /disabled.*account_deactivated/,
      fix: /chatgpt\.com/,
    },
    {
      cause: 'needs_reauth',
      arrange: (a) => s.fake.fault(a, { kind: 'forbidden', variant: 'token_invalidated' }),
      message: /sign-in is no longer valid.*token_invalidated/,
      fix: /Re-authenticate/,
    },
    {
      cause: 'needs_reauth',
      arrange: (a) => {
        s.fake.fault(a, { kind: 'unauthorized' }, 2);
        s.fake.tokenFault({ kind: 'permanent', code: 'refresh_token_reused' }, 1, a);
      },
      message: /refresh_token_reused/,
      fix: /Re-authenticate/,
    },
    {
      cause: 'unusable',
      arrange: (a) => s.fake.fault(a, { kind: 'usage_not_included' }),
      message: /cannot serve Codex/,
      fix: /plan/,
    },
    {
      cause: 'usage_limit',
      arrange: (a) => s.fake.fault(a, { kind: 'usage_limit', resetsInSeconds: 3600 }),
      message: /Usage limit reached; cooling down until/,
      fix: /serves again after/,
    },
  ];
  cases.forEach((c, i) => {
    it(`${c.cause} (${c.message.source}): failover serves the client, the API names cause, since and fix`, async () => {
      const t0 = Date.now();
      const acct = s.accts[i + 1]; // one account per case, so earlier verdicts do not interfere
      c.arrange(acct.fake.chatgptAccountId);
      // Round robin reaches it within one lap; every request is served (failover past the signal).
      const seen = () =>
        s.fake
          .requestsTo('/backend-api/codex/responses')
          .some((r) => r.chatgptAccountId === acct.fake.chatgptAccountId);
      for (let n = 0; n < 2 * s.accts.length && !seen(); n++) expect(await ask()).toBe(200);
      expect(seen()).toBe(true);
      const body = await health(acct.id);
      expect(body.health.cause).toBe(c.cause);
      expect(body.health.serving).toBe(false);
      expect(body.health.message).toMatch(c.message);
      expect(body.health.fix).toMatch(c.fix);
      expect(Date.parse(body.health.since)).toBeGreaterThanOrEqual(t0 - 1000);
      if (c.cause === 'usage_limit') {
        expect(body.status).toBe('active'); // cooling is not a stored verdict
        expect(Date.parse(body.health.until)).toBeGreaterThan(Date.now() + 3500_000);
      } else {
        expect(body.status).toBe(c.cause);
        expect(Date.parse(body.statusSince)).toBeGreaterThanOrEqual(t0 - 1000);
      }
      // The list shows the same.
      const list = await call(s.gw, 'GET', '/admin/api/accounts', { key: admin });
      expect(list.body.data.find((x: any) => x.id === acct.id).health.cause).toBe(c.cause);
    });
  });
});
