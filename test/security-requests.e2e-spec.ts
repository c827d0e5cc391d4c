import { fakeEnv, useFakeUpstream } from './support/scenario.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { call, dbQuery } from './support/http.js';
import { eventually } from './support/wait.js';
import type { FakeAccount } from './fake-upstream/index.ts';

/**
 * Issue 22, "also look at": what a client puts in a header never becomes the gateway's own identity of a
 * request, and one user's Codex turn state never steers or travels with another user's request.
 */
describe('security: client headers are the client’s (x-request-id, x-codex-turn-state)', () => {
  const fake = useFakeUpstream();
  let gw: TestGateway;
  let hi: FakeAccount;
  let lo: FakeAccount;
  beforeAll(async () => {
    gw = await startGateway({ env: { ...fakeEnv(fake), POOL_STRATEGY: 'priority' } });
    hi = fake.addAccount();
    lo = fake.addAccount();
    await seedAccount(gw, { ...hi, accessTokenExpiresAt: hi.accessExpiresAt, priority: 10, label: 'hi' });
    await seedAccount(gw, { ...lo, accessTokenExpiresAt: lo.accessExpiresAt, priority: 0, label: 'lo' });
  });
  afterAll(() => gw.close());
  const upstream = () => fake.requestsTo('/backend-api/codex/responses');

  it('a client-chosen x-request-id is not the request id of the usage row, the logs or the answer', async () => {
    const { key } = await createKey(gw);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await call(gw, 'POST', '/v1/responses', {
        key,
        headers: { 'x-request-id': 'chosen-by-client' },
        body: { model: 'gpt-5.5', input: 'hi' },
      });
      expect(r.status).toBe(200);
      ids.push(r.headers.get('x-request-id')!);
    }
    expect(ids[0]).toMatch(/^req_[0-9a-f]{32}$/);
    expect(ids[1]).not.toBe(ids[0]);
    let rows: any[] = [];
    await eventually(async () => {
      rows = await dbQuery(gw, `SELECT "requestId" FROM usage_records ORDER BY id`);
      return rows.length >= 2;
    }, 'two usage rows');
    expect(rows.map((r) => r.requestId).sort()).toEqual([...ids].sort());
    const lines = gw.logs.json().filter((l) => l.msg === 'request' && l.route === '/v1/responses');
    expect(lines.map((l) => l.reqId)).not.toContain('chosen-by-client');
    // Kept for correlation, as the client's own field.
    expect(lines.filter((l) => l.clientRequestId === 'chosen-by-client')).toHaveLength(2);
  });

  it("another user's turn state neither picks the account nor goes upstream; the owner's still does", async () => {
    const a = await createKey(gw);
    const b = await createKey(gw);
    // A's turn is served by `lo` (hi fails once), so its turn state is bound to lo.
    fake.fault(hi.chatgptAccountId, { kind: 'server_error', status: 503 }, 1);
    const first = await call(gw, 'POST', '/v1/responses', {
      key: a.key,
      body: { model: 'gpt-5.5', input: 'a' },
    });
    expect(first.status).toBe(200);
    const ts = first.headers.get('x-codex-turn-state')!;
    expect(ts).toBeTruthy();
    expect(upstream().at(-1)!.headers['chatgpt-account-id']).toBe(lo.chatgptAccountId);

    const stolen = await call(gw, 'POST', '/v1/responses', {
      key: b.key,
      headers: { 'x-codex-turn-state': ts },
      body: { model: 'gpt-5.5', input: 'b' },
    });
    expect(stolen.status).toBe(200);
    const bCall = upstream().at(-1)!;
    expect(bCall.headers['x-codex-turn-state']).toBeUndefined();
    expect(bCall.headers['chatgpt-account-id']).toBe(hi.chatgptAccountId); // by priority, not by A's turn
    expect(stolen.headers.get('x-codex-turn-state')).not.toBe(ts);

    const again = await call(gw, 'POST', '/v1/responses', {
      key: a.key,
      headers: { 'x-codex-turn-state': ts },
      body: { model: 'gpt-5.5', input: 'a2' },
    });
    expect(again.status).toBe(200);
    const aCall = upstream().at(-1)!;
    expect(aCall.headers['x-codex-turn-state']).toBe(ts);
    expect(aCall.headers['chatgpt-account-id']).toBe(lo.chatgptAccountId);
  });

  it('a made-up turn state is not forwarded upstream', async () => {
    const { key } = await createKey(gw);
    const r = await call(gw, 'POST', '/v1/responses', {
      key,
      headers: { 'x-codex-turn-state': 'ts_made_up_by_client' },
      body: { model: 'gpt-5.5', input: 'x' },
    });
    expect(r.status).toBe(200);
    expect(upstream().at(-1)!.headers['x-codex-turn-state']).toBeUndefined();
  });
});
