import OpenAI from 'openai';
import { FakeUpstream, type FakeAccount, type Fault } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { query } from './support/wait.js';

/**
 * Upstream 401/403 handling (issue 10 defect 2): a 403 never spends a refresh token and is classified by its body;
 * a 401 follows the CLI's recovery (reload, then refresh once); a 401 storm across replicas refreshes once.
 */
let fake: FakeUpstream;
beforeAll(async () => {
  fake = await FakeUpstream.start();
});
afterAll(() => fake.close());

const env = () => ({
  OPENAI_AUTH_ISSUER: fake.url,
  CODEX_BASE_URL: fake.codexBaseUrl,
  POOL_STRATEGY: 'priority',
});

async function seedTwo(gw: TestGateway) {
  const a = fake.addAccount();
  const b = fake.addAccount();
  const aId = await seedAccount(gw, {
    ...a,
    accessTokenExpiresAt: a.accessExpiresAt,
    label: 'A',
    priority: 10,
  });
  const bId = await seedAccount(gw, {
    ...b,
    accessTokenExpiresAt: b.accessExpiresAt,
    label: 'B',
    priority: 1,
  });
  return { a, b, aId, bId };
}

const calls = () => fake.requestsTo('/backend-api/codex/responses').map((r) => r.chatgptAccountId);

describe('403: classified by body, never a refresh', () => {
  let gw: TestGateway;
  let client: OpenAI;
  beforeEach(async () => {
    fake.reset();
    gw = await startGateway({ env: env() });
    client = new OpenAI({ apiKey: (await createKey(gw)).key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  afterEach(() => gw.close());

  const cases: {
    variant: Extract<Fault, { kind: 'forbidden' }>['variant'];
    status: string;
    cooled: boolean;
  }[] = [
    { variant: 'usage_not_included', status: 'unusable', cooled: false },
    { variant: 'account_deactivated', status: 'deactivated', cooled: false },
    { variant: 'token_invalidated', status: 'needs_reauth', cooled: false },
    { variant: 'cloudflare_block', status: 'active', cooled: true },
    { variant: 'challenge', status: 'active', cooled: true },
    { variant: 'other', status: 'active', cooled: true },
  ];
  for (const c of cases) {
    it(`${c.variant}: fails over to B, no refresh, A is ${c.cooled ? 'cooled down' : c.status}`, async () => {
      const { a, b, aId } = await seedTwo(gw);
      fake.fault(a.chatgptAccountId, { kind: 'forbidden', variant: c.variant });
      const r = await client.responses.create({ model: 'gpt-5.5', input: 'hello' });
      expect(r.output_text).toContain('hello');
      expect(calls()).toEqual([a.chatgptAccountId, b.chatgptAccountId]);
      expect(fake.refreshCount()).toBe(0);
      const [row] = await query(gw, 'SELECT status FROM accounts WHERE id = $1', [aId]);
      expect(row.status).toBe(c.status);
      // A is not tried again by the next request (cooling down, or out of the pool).
      fake.reset();
      await client.responses.create({ model: 'gpt-5.5', input: 'again' });
      expect(calls()).toEqual([b.chatgptAccountId]);
      expect(fake.refreshCount()).toBe(0);
    });
  }

  it('a lasting 403 on the only account: 503 to the client, still no refresh', async () => {
    const a = fake.addAccount();
    await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
    fake.fault(a.chatgptAccountId, { kind: 'forbidden', variant: 'cloudflare_block' }, 5);
    const e = await client.responses.create({ model: 'gpt-5.5', input: 'x' }).catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect(e.status).toBe(503);
    expect(fake.refreshCount()).toBe(0);
  });
});

describe('401: the CLI recovery (reload, then refresh once)', () => {
  let gw: TestGateway;
  let client: OpenAI;
  let acct: FakeAccount;
  beforeAll(async () => {
    gw = await startGateway({ env: env() });
    client = new OpenAI({ apiKey: (await createKey(gw)).key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    acct = fake.addAccount();
    await seedAccount(gw, { ...acct, accessTokenExpiresAt: acct.accessExpiresAt });
  });
  afterAll(() => gw.close());
  beforeEach(() => fake.reset());

  it('one passing 401: retried with the stored token, no refresh', async () => {
    fake.fault(acct.chatgptAccountId, { kind: 'unauthorized' });
    const r = await client.responses.create({ model: 'gpt-5.5', input: 'blip' });
    expect(r.output_text).toContain('blip');
    expect(fake.refreshCount()).toBe(0);
    const reqs = fake.requestsTo('/backend-api/codex/responses');
    expect(reqs).toHaveLength(2);
    expect(reqs[1].headers.authorization).toBe(reqs[0].headers.authorization);
  });

  it('a revoked access token: 401, 401, one refresh (unauthorized_recovery), then the new token works', async () => {
    fake.revokeAccessToken(acct.chatgptAccountId);
    const r = await client.responses.create({ model: 'gpt-5.5', input: 'after revoke' });
    expect(r.output_text).toContain('after revoke');
    expect(fake.refreshCount(acct.chatgptAccountId)).toBe(1);
    const refresh = fake.requestsTo('/oauth/token').at(-1)!;
    expect(refresh.body.refresh_reason).toBe('unauthorized_recovery');
    expect(fake.requestsTo('/backend-api/codex/responses')).toHaveLength(3);
  });
});

describe('401 storm across two replicas', () => {
  it('20 concurrent requests on a revoked token over 2 replicas → exactly one refresh, all succeed', async () => {
    fake.reset();
    const a = await startGateway({ env: env() });
    const b = await startGateway({ env: env(), shareWith: a });
    try {
      const acct = fake.addAccount();
      await seedAccount(a, { ...acct, accessTokenExpiresAt: acct.accessExpiresAt });
      const { key } = await createKey(a);
      const clients = [a, b].map((g) => new OpenAI({ apiKey: key, baseURL: `${g.url}/v1`, maxRetries: 0 }));
      // warm both replicas' credential caches with the soon-to-be-stale token
      await Promise.all(clients.map((c) => c.responses.create({ model: 'gpt-5.5', input: 'warm' })));
      fake.reset();
      fake.revokeAccessToken(acct.chatgptAccountId);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          clients[i % 2].responses.create({ model: 'gpt-5.5', input: `storm ${i}` }),
        ),
      );
      results.forEach((r, i) => expect(r.output_text).toContain(`storm ${i}`));
      expect(fake.refreshCount(acct.chatgptAccountId)).toBe(1);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
