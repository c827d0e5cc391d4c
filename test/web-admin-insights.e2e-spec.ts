import { randomUUID } from 'node:crypto';
import { createKey, type TestKey } from './support/auth.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { query } from './support/wait.js';

/**
 * The read APIs behind the web admin's pages: usage series, latest requests and CSV (members scoped to
 * themselves whatever they ask), overview, audit log with filters, the UI context; bad queries are 400s.
 */
describe('web admin read APIs', () => {
  let gw: TestGateway;
  let admin: TestKey;
  let member: TestKey;
  let other: TestKey;
  const get = async (path: string, key: string) => {
    const r = await fetch(gw.url + path, { headers: { authorization: `Bearer ${key}` } });
    const text = await r.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return { status: r.status, body, text, headers: r.headers };
  };
  const usageRow = (k: TestKey, minutesAgo: number, status = 200, model = 'gpt-5.5') =>
    query(
      gw,
      `INSERT INTO usage_records ("createdAt", "requestId", "keyId", "userId", model, endpoint, stream, status,
         "inputTokens", "cachedTokens", "outputTokens", "reasoningTokens", "totalTokens", "durationMs")
       VALUES (now() - ($1 || ' minutes')::interval, $2, $3, $4, $5, '/v1/responses', false, $6, 10, 2, 5, 1, 15, 120)`,
      [String(minutesAgo), `req_${randomUUID()}`, k.keyId, k.userId, model, status],
    );

  beforeAll(async () => {
    gw = await startGateway();
    admin = await createKey(gw, { role: 'admin', scope: 'admin', name: 'admin' });
    member = await createKey(gw, { role: 'member', name: 'member' });
    other = await createKey(gw, { role: 'member', name: 'other' });
    await usageRow(member, 5);
    await usageRow(member, 30, 429);
    await usageRow(other, 10, 200, 'gpt-5.5-mini');
    await usageRow(other, 60 * 30); // 30 hours ago: outside the default 24 h series window
    await query(
      gw,
      `INSERT INTO audit_logs ("actorType", "actorId", action, "targetType", "targetId") VALUES
      ('user', $1, 'key.create', 'key', $2), ('user', $1, 'account.patch', 'account', 'a1'), ('system', NULL, 'user.bootstrap_admin', 'user', $1)`,
      [admin.userId, member.keyId],
    );
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('usage series: admins see everything, filter by user/model; members only themselves', async () => {
    const all = await get('/admin/api/usage/series', admin.key);
    expect(all.status).toBe(200);
    expect(all.body.bucket).toBe('hour');
    expect(all.body.totals).toEqual({ requests: 3, errors: 1, tokens: 45 });
    expect(all.body.data.reduce((n: number, p: any) => n + p.requests, 0)).toBe(3);
    expect(all.body.data[0]).toMatchObject({
      inputTokens: expect.any(Number),
      reasoningTokens: expect.any(Number),
    });
    expect(all.body.models).toEqual(['gpt-5.5', 'gpt-5.5-mini']);
    const week = await get(
      `/admin/api/usage/series?from=${new Date(Date.now() - 7 * 86400_000).toISOString()}`,
      admin.key,
    );
    expect(week.body.totals.requests).toBe(4);
    expect(week.body.bucket).toBe('day');
    const byModel = await get('/admin/api/usage/series?model=gpt-5.5-mini', admin.key);
    expect(byModel.body.totals.requests).toBe(1);
    const byUser = await get(`/admin/api/usage/series?userId=${member.userId}`, admin.key);
    expect(byUser.body.totals.requests).toBe(2);

    const mine = await get(`/admin/api/usage/series?userId=${other.userId}`, member.key);
    expect(mine.status).toBe(200);
    expect(mine.body.totals).toEqual({ requests: 2, errors: 1, tokens: 30 });
  });

  it('latest requests and CSV: newest first, paged, scoped for members; CSV neutralises formulas', async () => {
    const list = await get('/admin/api/usage/requests?limit=2', admin.key);
    expect(list.body.data.map((r: any) => r.userId)).toEqual([member.userId, other.userId]);
    expect(list.body.data[0]).toMatchObject({
      keyName: 'member',
      status: 200,
      totalTokens: 15,
      durationMs: 120,
    });
    for (const k of [admin, member, other]) expect(list.text).not.toContain(k.key);
    expect(list.text).not.toMatch(/"hash"/);
    const next = await get(`/admin/api/usage/requests?limit=2&before=${list.body.next}`, admin.key);
    expect(next.body.data.map((r: any) => [r.userId, r.status])).toEqual([
      [member.userId, 429],
      [other.userId, 200],
    ]);
    const last = await get(`/admin/api/usage/requests?limit=2&before=${next.body.next}`, admin.key);
    expect(last.body).toMatchObject({ data: [], next: null });

    const mine = await get('/admin/api/usage/requests', member.key);
    expect(mine.body.data.map((r: any) => r.userId)).toEqual([member.userId, member.userId]);

    await query(gw, `UPDATE api_keys SET name = '=HYPERLINK("x")' WHERE id = $1`, [member.keyId]);
    const csv = await get('/admin/api/usage/export.csv', member.key);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(
      /^attachment; filename="usage-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0].split(',')).toContain('totalTokens');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(`"'=HYPERLINK(""x"")"`);
  });

  it('overview and audit are admin-only; audit filters by action prefix and actor', async () => {
    expect((await get('/admin/api/overview', member.key)).status).toBe(403);
    expect((await get('/admin/api/audit', member.key)).status).toBe(403);
    const o = await get('/admin/api/overview', admin.key);
    expect(o.body.accounts.total).toBe(0);
    expect(o.body.lastHour).toEqual({ requests: 3, errors: 1, tokens: 45 });
    expect(o.body.actions.map((a: any) => a.kind)).toEqual(['add_account']);

    const all = await get('/admin/api/audit', admin.key);
    expect(all.body.data.length).toBe(3);
    const keys = await get('/admin/api/audit?action=key.', admin.key);
    expect(keys.body.data).toHaveLength(1);
    expect(keys.body.data[0]).toMatchObject({
      action: 'key.create',
      actorEmail: expect.stringContaining('@'),
    });
    const wildcard = await get('/admin/api/audit?action=%25', admin.key);
    expect(wildcard.body.data).toHaveLength(0);
    const byActor = await get(`/admin/api/audit?actorId=${admin.userId}`, admin.key);
    expect(byActor.body.data).toHaveLength(2);
  });

  it('bad queries are 400 envelopes; the UI context says what a member may do', async () => {
    for (const q of ['from=yesterday-ish', 'userId=nope', 'bucket=week', 'limit=0', 'extra=1']) {
      const r = await get(`/admin/api/usage/requests?${q}`, admin.key);
      const s = await get(`/admin/api/usage/series?${q}`, admin.key);
      expect([q, r.status === 400 || s.status === 400]).toEqual([q, true]);
    }
    const minute = await get(
      `/admin/api/usage/series?bucket=minute&from=${new Date(Date.now() - 30 * 86400_000).toISOString()}`,
      admin.key,
    );
    expect(minute.status).toBe(400);
    expect(minute.body.error.param).toBe('bucket');
    const ctx = await get('/admin/api/ui/context', member.key);
    expect(ctx.body).toMatchObject({
      canManageKeys: false,
      membersCanCreateKeys: false,
      user: { role: 'member' },
    });
    expect((await get('/admin/api/ui/context', admin.key)).body.canManageKeys).toBe(true);
  });
});
