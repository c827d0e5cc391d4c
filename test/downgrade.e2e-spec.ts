import { createAdminKey } from './support/auth.js';
import { call } from './support/http.js';
import { useFakeGateway } from './support/scenario.js';
import { eventually } from './support/wait.js';

/**
 * Downgrade detection (issue 25 item 6): an answer whose `response.model` names another model than the one asked
 * for (beyond the alias table of gateway/served-model.ts: case, dated snapshots, -latest) is counted per account
 * and model pair, in cg_model_downgrades_total (account by its metric label) and on the account in the admin API.
 */
const s = useFakeGateway(2, { POOL_STRATEGY: 'round-robin' });
let admin: string;
beforeAll(async () => {
  admin = (await createAdminKey(s.gw)).key;
});

const ask = () =>
  call(s.gw, 'POST', '/v1/responses', {
    key: s.key,
    body: { model: 'gpt-5.5', input: `hello ${Math.random()}` },
  });

async function series(prefix: string): Promise<string[]> {
  const text = await (await fetch(`${s.gw.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(prefix));
}

const account = async (id: string) =>
  (await call(s.gw, 'GET', `/admin/api/accounts/${id}`, { key: admin })).body;

it('counts answers served by another model per account and model; snapshots of the same model are not counted', async () => {
  const [a0, a1] = s.accts;
  s.fake.serveModelAs(a0.fake.chatgptAccountId, 'gpt-5.5-mini');
  s.fake.serveModelAs(a1.fake.chatgptAccountId, 'gpt-5.5-2026-08-07'); // a dated snapshot: the same model
  for (let i = 0; i < 4; i++) {
    const r = await ask();
    expect(r.status).toBe(200);
  }
  const served = s.fake.requestsTo('/backend-api/codex/responses').map((r) => r.chatgptAccountId);
  const byA0 = served.filter((id) => id === a0.fake.chatgptAccountId).length;
  expect(byA0).toBe(2);

  await eventually(
    async () => (await account(a0.id)).downgrades?.[0]?.count === byA0,
    'downgrades on the account',
  );
  const shown = await account(a0.id);
  expect(shown.downgrades).toEqual([
    { requested: 'gpt-5.5', served: 'gpt-5.5-mini', count: 2, lastAt: expect.any(String) },
  ]);
  expect((await account(a1.id)).downgrades).toEqual([]);
  const list = await call(s.gw, 'GET', '/admin/api/accounts', { key: admin });
  expect(list.body.data.find((a: any) => a.id === a0.id).downgrades).toHaveLength(1);

  expect(await series('cg_model_downgrades_total{')).toEqual([
    'cg_model_downgrades_total{account="acct0",requested="gpt-5.5",served="gpt-5.5-mini"} 2',
  ]);

  // Back to the requested model: nothing more is counted.
  s.fake.serveModelAs(a0.fake.chatgptAccountId, null);
  for (let i = 0; i < 2; i++) expect((await ask()).status).toBe(200);
  expect((await account(a0.id)).downgrades[0].count).toBe(2);
});
