import { randomUUID } from 'node:crypto';
import { createKey, type TestKey } from './support/auth.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { query } from './support/wait.js';
import { signIn } from './support/http.js';

/**
 * Issue 22 item 7: a member's usage pages show only what is theirs. The series' model list holds only models the
 * member used (never another user's), and the member's request list and CSV never name the subscription account
 * (its label defaults to its email). Admins keep seeing both.
 */
describe('security: members see only their own usage data', () => {
  let gw: TestGateway;
  let admin: TestKey;
  let member: TestKey;
  let other: TestKey;
  let memberCookie = '';
  const accountId = randomUUID();
  const accountLabel = 'owner-of-pool@example.com';
  const get = async (path: string, auth: { key?: string; cookie?: string }) => {
    const headers: Record<string, string> = auth.cookie
      ? { cookie: auth.cookie }
      : { authorization: `Bearer ${auth.key}` };
    const r = await fetch(gw.url + path, { headers });
    const text = await r.text();
    return { status: r.status, text, body: text.startsWith('{') ? JSON.parse(text) : null };
  };
  const usageRow = (k: TestKey, model: string) =>
    query(
      gw,
      `INSERT INTO usage_records ("createdAt", "requestId", "keyId", "userId", "accountId", model, endpoint,
         stream, status, "inputTokens", "cachedTokens", "outputTokens", "reasoningTokens", "totalTokens",
         "durationMs")
       VALUES (now() - interval '5 minutes', $1, $2, $3, $4, $5, '/v1/responses', false, 200, 10, 0, 5, 0, 15, 90)`,
      [`req_${randomUUID()}`, k.keyId, k.userId, accountId, model],
    );

  beforeAll(async () => {
    gw = await startGateway();
    admin = await createKey(gw, { role: 'admin', scope: 'admin', name: 'admin' });
    const u = await signIn(gw);
    memberCookie = u.cookie;
    member = await createKey(gw, { userId: u.userId, name: 'member' });
    other = await createKey(gw, { name: 'other' });
    await query(
      gw,
      `INSERT INTO accounts (id, label, email, "chatgptAccountId", "chatgptUserId", "planType", credentials,
         "credentialsKeyId", "updatedAt")
       VALUES ($1, $2, $2, 'acct-members', '', 'pro', '\\x00', 'k0', now())`,
      [accountId, accountLabel],
    );
    await usageRow(member, 'gpt-5.5');
    await usageRow(other, 'secret-project-model');
  });
  afterAll(() => gw?.close());

  it("the series' model list holds only the member's own models; admins see every model", async () => {
    const mine = await get('/admin/api/usage/series', { cookie: memberCookie });
    expect(mine.status).toBe(200);
    expect(mine.body.models).toEqual(['gpt-5.5']);
    expect(mine.text).not.toContain('secret-project-model');
    const all = await get('/admin/api/usage/series', { key: admin.key });
    expect(all.body.models).toEqual(['gpt-5.5', 'secret-project-model']);
  });

  it("the member's request list and CSV do not name the subscription account; admins see it", async () => {
    const mine = await get('/admin/api/usage/requests', { cookie: memberCookie });
    expect(mine.status).toBe(200);
    expect(mine.body.data).toHaveLength(1);
    expect(mine.body.data[0]).toMatchObject({ accountLabel: null, accountId: null, model: 'gpt-5.5' });
    expect(mine.text).not.toContain(accountLabel);
    expect(mine.text).not.toContain(accountId);
    const csv = await get('/admin/api/usage/export.csv', { cookie: memberCookie });
    expect(csv.status).toBe(200);
    expect(csv.text).not.toContain(accountLabel);
    const all = await get('/admin/api/usage/requests', { key: admin.key });
    expect(all.body.data.map((r: any) => r.accountLabel)).toEqual([accountLabel, accountLabel]);
  });
});
