import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { FakeUpstream, type RecordedRequest } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { dbQuery } from './support/http.js';
import { connectWs } from './support/ws.js';

/**
 * FIDELITY: the full upstream request the gateway sends (header names and order, value shapes, body keys and order,
 * fixed body values) compared with the Codex CLI 0.169 capture. Any difference that is not in the one allow-list
 * (test/fixtures/fidelity-allowlist.json, each entry with its reason) fails the test.
 */
const fixtures = join(process.cwd(), 'test', 'fixtures');
const capture = JSON.parse(readFileSync(join(fixtures, 'cli-capture-responses.json'), 'utf8'));
const allow = JSON.parse(readFileSync(join(fixtures, 'fidelity-allowlist.json'), 'utf8'));
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const TRANSPORT = new Set(['host', 'content-length', 'connection', 'transfer-encoding']);

/** Differences of one recorded request from the capture, minus the allow-listed ones. */
export function fidelityDiff(rec: RecordedRequest): string[] {
  const problems: string[] = [];
  const names = rec.rawHeaderNames.map((h) => h.toLowerCase()).filter((h) => !TRANSPORT.has(h));
  const want = (capture.headers as [string, string][]).map(([n]) => n);
  for (const n of want)
    if (!names.includes(n) && !(n in allow.headers.missing)) problems.push(`header missing: ${n}`);
  for (const n of names)
    if (!want.includes(n) && !(n in allow.headers.extra)) problems.push(`header not in the capture: ${n}`);
  const common = names.filter((n) => want.includes(n));
  const wantOrder = want.filter((n) => names.includes(n));
  if (common.join(',') !== wantOrder.join(','))
    problems.push(`header order differs: ${common.join(', ')} vs capture ${wantOrder.join(', ')}`);
  for (const [n, shape] of capture.headers as [string, string][]) {
    const v = rec.headers[n];
    if (v !== undefined && !new RegExp(shape.replaceAll('{uuid}', UUID)).test(v))
      problems.push(`header ${n} has another shape: ${n === 'authorization' ? '<redacted>' : v}`);
  }
  for (const group of capture.sameValue as string[][]) {
    const values = group.map((k) => (k.startsWith('body.') ? rec.body[k.slice(5)] : rec.headers[k]));
    if (new Set(values).size !== 1) problems.push(`not one value: ${group.join(' = ')}`);
  }
  const meta = rec.body.client_metadata;
  const wantMeta: string[] = capture.body.clientMetadataKeys;
  if (meta !== undefined) {
    const metaKeys = Object.keys(meta);
    for (const k of metaKeys)
      if (!wantMeta.includes(k)) problems.push(`client_metadata key not in the capture: ${k}`);
    if (metaKeys.join(',') !== wantMeta.filter((k) => metaKeys.includes(k)).join(','))
      problems.push(`client_metadata key order differs: ${metaKeys.join(', ')}`);
  }
  const keys = Object.keys(rec.body);
  const wantKeys: string[] = capture.body.keys;
  for (const k of wantKeys)
    if (!keys.includes(k) && !(k in allow.body.missing)) problems.push(`body key missing: ${k}`);
  for (const k of keys)
    if (!wantKeys.includes(k) && !(k in allow.body.extra)) problems.push(`body key not in the capture: ${k}`);
  const commonKeys = keys.filter((k) => wantKeys.includes(k));
  const wantKeyOrder = wantKeys.filter((k) => keys.includes(k));
  if (commonKeys.join(',') !== wantKeyOrder.join(','))
    problems.push(`body key order differs: ${commonKeys.join(', ')} vs capture ${wantKeyOrder.join(', ')}`);
  for (const [k, v] of Object.entries(capture.body.values))
    if (JSON.stringify(rec.body[k]) !== JSON.stringify(v))
      problems.push(`body ${k} = ${JSON.stringify(rec.body[k])}, capture ${JSON.stringify(v)}`);
  return problems;
}

let fake: FakeUpstream;
let gw: TestGateway;
let client: OpenAI;
/** Two accounts: chatgpt-account-id → gateway account id. */
const seeded = new Map<string, string>();
beforeAll(async () => {
  fake = await FakeUpstream.start();
  gw = await startGateway({
    env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl, POOL_STRATEGY: 'round-robin' },
  });
  for (let i = 0; i < 2; i++) {
    const a = fake.addAccount();
    seeded.set(a.chatgptAccountId, await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt }));
  }
  client = new OpenAI({
    apiKey: (await createKey(gw)).key,
    baseURL: `${gw.url}/v1`,
    maxRetries: 0,
    defaultHeaders: { 'x-forwarded-for': '10.0.0.1', 'x-custom-client': 'yes' },
  });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const tool = {
  type: 'function' as const,
  name: 'exec_command',
  description: 'run',
  parameters: { type: 'object', properties: { cmd: { type: 'string' } } },
  strict: false,
};
const last = () => fake.requestsTo('/backend-api/codex/responses').at(-1)!;

it('every allow-list entry has a reason', () => {
  for (const section of [allow.headers.missing, allow.headers.extra, allow.body.missing, allow.body.extra])
    for (const [k, why] of Object.entries(section))
      expect([k, typeof why === 'string' && why.length > 20]).toEqual([k, true]);
});

it('/v1/responses with the fields the CLI sends: only allow-listed differences from the capture', async () => {
  await client.responses.create({
    model: 'gpt-5.5',
    input: 'say hi',
    instructions: 'You are a coding agent.',
    tools: [tool],
    tool_choice: 'auto',
    parallel_tool_calls: true,
    reasoning: { effort: 'medium' },
    text: { verbosity: 'low' },
    temperature: 0.2,
    metadata: { a: 'b' },
  });
  expect(fidelityDiff(last())).toEqual([]);
});

it('/v1/chat/completions with tools and reasoning: only allow-listed differences', async () => {
  await client.chat.completions.create({
    model: 'gpt-5.5',
    messages: [
      { role: 'system', content: 'You are a coding agent.' },
      { role: 'user', content: 'say hi' },
    ],
    tools: [{ type: 'function', function: { name: 'exec_command', parameters: tool.parameters } }],
    tool_choice: 'auto',
    parallel_tool_calls: true,
    reasoning_effort: 'medium',
    verbosity: 'low',
    max_tokens: 100,
    user: 'someone',
  });
  expect(fidelityDiff(last())).toEqual([]);
});

it('the check itself fails on an unlisted difference (a client header leaking, a wrong user agent)', async () => {
  await client.responses.create({
    model: 'gpt-5.5',
    input: 'x',
    tools: [tool],
    reasoning: { effort: 'low' },
  });
  const base = last();
  const leaked = { ...base, rawHeaderNames: [...base.rawHeaderNames, 'x-forwarded-for'] };
  expect(fidelityDiff(leaked)).toContain('header not in the capture: x-forwarded-for');
  const ua = {
    ...base,
    headers: { ...base.headers, 'user-agent': 'codex_exec/0.169.0 (Linux 6.8.0-45-generic; x86_64) xterm' },
  };
  expect(fidelityDiff(ua).some((p) => p.startsWith('header user-agent'))).toBe(true);
  const body = { ...base, body: { seed: 1, ...base.body } };
  expect(fidelityDiff(body)).toContain('body key not in the capture: seed');
});

it("device identity: two accounts carry different, stable installation ids (stored with each); a client's own is never forwarded", async () => {
  const own = 'c11e47a1-0000-4000-8000-00000000c0de';
  const withOwn = new OpenAI({
    apiKey: client.apiKey,
    baseURL: `${gw.url}/v1`,
    maxRetries: 0,
    defaultHeaders: {
      'x-codex-installation-id': own,
      'x-codex-turn-metadata': JSON.stringify({ installation_id: own }),
      'x-codex-window-id': `${own}:0`,
    },
  });
  for (let i = 0; i < 6; i++)
    await withOwn.responses.create({
      model: 'gpt-5.5',
      input: `turn ${i} ${Math.random()}`,
      tools: [tool],
      tool_choice: 'auto',
      parallel_tool_calls: true,
      reasoning: { effort: 'medium' },
      text: { verbosity: 'low' },
      client_metadata: { 'x-codex-installation-id': own, installation_id: own },
    } as any);
  const recs = fake.requestsTo('/backend-api/codex/responses');
  expect(recs).toHaveLength(6);
  const byAccount = new Map<string, Set<string>>();
  for (const r of recs) {
    expect(fidelityDiff(r)).toEqual([]);
    expect(JSON.stringify(r.headers) + JSON.stringify(r.body)).not.toContain(own);
    const id = r.body.client_metadata['x-codex-installation-id'];
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.body.client_metadata.session_id).toBe(r.headers['session-id']);
    byAccount.set(r.chatgptAccountId!, (byAccount.get(r.chatgptAccountId!) ?? new Set()).add(id));
  }
  expect(byAccount.size).toBe(2); // both accounts served
  const ids = [...byAccount.values()].map((s) => [...s]);
  for (const s of ids) expect(s).toHaveLength(1); // stable per account
  expect(ids[0][0]).not.toBe(ids[1][0]); // never shared between accounts
  // Stored with the account: the same value the database holds (so it survives restarts and replicas).
  for (const [chatgpt, set] of byAccount) {
    const [row] = await dbQuery(gw, 'SELECT "installationId" FROM accounts WHERE id = $1', [
      seeded.get(chatgpt),
    ]);
    expect(row.installationId).toBe([...set][0]);
  }
});

it("the CLI's own transport (WebSocket): its x-codex-turn-metadata, in the upgrade and in the frame, never goes up", async () => {
  // What CLI 0.169 sends (shared/research/codex-cli-captures.md §5): the turn metadata JSON, with the
  // installation id, as an upgrade header and again inside each frame's client_metadata.
  const own = '97ca1035-1968-48c5-a716-86eb3bf7c0de';
  const meta = JSON.stringify({
    installation_id: own,
    session_id: own,
    thread_id: own,
    turn_id: own,
    window_id: `${own}:0`,
    sandbox: 'seccomp',
    model: 'gpt-5.5',
  });
  const before = fake.requestsTo('/backend-api/codex/responses').length;
  const conn = await connectWs(gw, client.apiKey!, {
    'x-codex-turn-metadata': meta,
    'x-codex-installation-id': own,
    'x-codex-window-id': `${own}:0`,
    'session-id': own,
  });
  conn.ws.send(
    JSON.stringify({
      type: 'response.create',
      model: 'gpt-5.5',
      input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi over ws' }] }],
      tools: [tool],
      tool_choice: 'auto',
      parallel_tool_calls: true,
      reasoning: { effort: 'medium' },
      text: { verbosity: 'low' },
      client_metadata: { 'x-codex-installation-id': own, 'x-codex-turn-metadata': meta, session_id: own },
    }),
  );
  await conn.next((f) => f.type === 'response.completed');
  conn.ws.close();
  const recs = fake.requestsTo('/backend-api/codex/responses').slice(before);
  expect(recs).toHaveLength(1);
  const r = recs[0];
  expect(fidelityDiff(r)).toEqual([]);
  expect(JSON.stringify(r.headers) + JSON.stringify(r.body)).not.toContain(own);
  expect(r.headers['x-codex-turn-metadata']).toBeUndefined();
  expect(Object.keys(r.body.client_metadata)).not.toContain('x-codex-turn-metadata');
  const [row] = await dbQuery(gw, 'SELECT "installationId" FROM accounts WHERE id = $1', [
    seeded.get(r.chatgptAccountId!),
  ]);
  expect(r.body.client_metadata['x-codex-installation-id']).toBe(row.installationId);
});
