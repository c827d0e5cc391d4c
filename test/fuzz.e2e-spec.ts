import fc from 'fast-check';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createAdminKey, createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { isEnvelope } from './support/http.js';
import { eventually, query } from './support/wait.js';
import { connectWs } from './support/ws.js';

/**
 * Property-based fuzzing of every /v1/* and /admin/api/* route (issue 11): random and hostile bodies, headers, ids
 * and query strings against the real gateway. Properties: never a 5xx, never a hang (10 s per request), every
 * error is OpenAI's envelope; afterwards usage accounting still records a normal request.
 * Fixed seed and a bounded number of runs so CI is reproducible (FUZZ_SEED / FUZZ_RUNS override them).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);

/** Every route the admin OpenAPI document lists, plus the /v1 routes (excluded from the document). */
async function routes(gw: TestGateway): Promise<[string, string][]> {
  const doc = (await (await fetch(`${gw.url}/admin/api/openapi.json`)).json()) as any;
  const out: [string, string][] = [];
  for (const [path, ops] of Object.entries<any>(doc.paths))
    for (const m of Object.keys(ops)) out.push([m.toUpperCase(), path]);
  out.push(
    ['GET', '/v1/models'],
    ['GET', '/v1/models/{id}'],
    ['GET', '/v1/me'],
    ['POST', '/v1/responses'],
    ['POST', '/v1/responses/compact'],
    ['POST', '/v1/chat/completions'],
  );
  return out;
}

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    'a\r\nx-injected: 1',
    '\u4e2d\u6587',
    '../../etc/passwd',
    '%00',
    '${jndi:x}',
    "' OR 1=1 --",
    '__proto__',
    'constructor',
    '-'.repeat(36),
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'x'.repeat(5000),
    '0000-01-01T00:00:00Z',
    '275760-09-13T00:00:00Z',
  ),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 31, 2 ** 53, -1, 0, 1e308, -0),
);
const leaf = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null));
const FIELDS = [
  'type',
  'generate',
  'previous_response_id',
  'reasoning',
  'model',
  'input',
  'messages',
  'stream',
  'name',
  'email',
  'password',
  'currentPassword',
  'revokeKeys',
  'loginId',
  'callbackUrl',
  'role',
  'scope',
  'userId',
  'rpm',
  'tpm',
  'dailyTokenQuota',
  'monthlyTokenQuota',
  'expiresAt',
  'allowedModels',
  'disabled',
  'label',
  'tools',
  'authJson',
  'tokens',
  'members_can_create_keys',
  'max_output_tokens',
  'prompt_cache_key',
  '__proto__',
  'constructor',
];
const objectBody = fc.dictionary(
  fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })),
  fc.oneof(
    leaf,
    fc.array(leaf, { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), leaf, { maxKeys: 3 }),
  ),
  { maxKeys: 6 },
);
const rawBody = fc.oneof(
  objectBody.map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '',
    '{',
    'null',
    '[]',
    '"x"',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"x":1}}}',
    `{"input":${'['.repeat(500)}${']'.repeat(500)}}`,
    '{"model":"gpt-5.5","input":"hi"}',
    '{"model":"gpt-5.5","messages":[{"role":"user","content":"hi"}]}',
  ),
  fc.string({ maxLength: 200 }),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/xml',
  undefined,
);
const idSegment = fc.oneof(
  fc.uuid(),
  hostileString.map((s) => encodeURIComponent(s.slice(0, 300))),
  fc.constantFrom('%', '%E0%A4%A', '..', '%2F', 'a'.repeat(120)),
);
const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'userId',
        'from',
        'to',
        'group_by',
        'limit',
        'before',
        'model',
        'revoke',
        'x',
        'action',
      ),
      hostileString.map((s) => s.slice(0, 100)),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'));
const credential = fc.constantFrom('admin', 'member', 'none', 'garbage', 'api-key-header');
const extraHeaders = fc.dictionary(
  fc.constantFrom('origin', 'referer', 'x-request-id', 'accept', 'cookie', 'openai-beta', 'x-forwarded-for'),
  fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  { maxKeys: 3 },
);

describe('fuzz: /v1/* and /admin/api/* never answer 5xx, never hang, always the envelope', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let admin: { key: string; keyId: string };
  let member: { key: string };
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
    const a = fake.addAccount();
    await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
    admin = await createAdminKey(gw);
    member = await createKey(gw);
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it(`random and hostile requests (seed ${SEED}, ${RUNS} runs)`, async () => {
    const all = await routes(gw);
    // Routes that would end the run's own credentials or reach the network beyond the fake are left out.
    const usable = all.filter(([m, p]) => !(m === 'POST' && p === '/admin/api/auth/logout'));
    expect(usable.length).toBeGreaterThan(20);
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...usable),
        fc.array(idSegment, { minLength: 3, maxLength: 3 }),
        queryString,
        fc.option(rawBody, { nil: undefined }),
        contentType,
        credential,
        extraHeaders,
        async ([method, template], ids, qs, body, ct, cred, extra) => {
          let i = 0;
          const path = template.replace(/\{[^}]+\}/g, () => ids[i++]);
          const headers: Record<string, string> = { ...extra };
          if (ct && body !== undefined) headers['content-type'] = ct;
          if (cred === 'admin') headers.authorization = `Bearer ${admin.key}`;
          if (cred === 'member') headers.authorization = `Bearer ${member.key}`;
          if (cred === 'garbage') headers.authorization = 'Bearer sk-cg-\u00ff';
          if (cred === 'api-key-header') headers['api-key'] = member.key;
          const hasBody = body !== undefined && method !== 'GET' && method !== 'HEAD';
          let res: Response;
          try {
            res = await fetch(`${gw.url}${path}${qs ? `?${qs}` : ''}`, {
              method,
              headers: Object.fromEntries(
                Object.entries(headers).map(([k, v]) => [k, v.replace(/[^\x20-\xff]/g, '')]),
              ),
              body: hasBody ? body : undefined,
              signal: AbortSignal.timeout(10_000),
            });
          } catch (err) {
            if ((err as Error).name === 'TimeoutError')
              throw new Error(`hang: ${method} ${path}`, { cause: err });
            throw err;
          }
          const text = await res.text();
          seen.set(String(res.status), (seen.get(String(res.status)) ?? 0) + 1);
          if (res.status >= 500)
            throw new Error(
              `${res.status} on ${method} ${path}?${qs} body=${String(body).slice(0, 200)}: ${text}`,
            );
          if (res.status >= 400) {
            let json: unknown = null;
            try {
              json = JSON.parse(text);
            } catch {
              /* not JSON */
            }
            if (!isEnvelope(json))
              throw new Error(`no envelope on ${res.status} ${method} ${path}: ${text.slice(0, 200)}`);
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.log(`fuzz statuses (${RUNS} runs): ${JSON.stringify(Object.fromEntries(seen))}`);

    // Usage accounting still works after the run: a normal request gets its usage row.
    const probe = await createKey(gw);
    fake.respondWith({ text: 'ok', usage: { input_tokens: 7, output_tokens: 3 } });
    const ok = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${probe.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5.5', input: 'after the fuzz' }),
    });
    expect(ok.status).toBe(200);
    await eventually(
      async () =>
        (await query(gw, 'SELECT "totalTokens" FROM usage_records WHERE "keyId" = $1', [probe.keyId]))
          .length === 1,
      'the usage row after the fuzz run',
    );
  }, 120_000);
});

/**
 * The WebSocket path (issue 22): random and hostile frames on GET /v1/responses. Every frame is answered within
 * 10 s by a frame (an error frame with a 4xx status, or a response) or the socket closes with a protocol or policy
 * code; never an error frame with status 5xx, never a 5xx usage row.
 */
describe('fuzz: Responses WebSocket frames', () => {
  let fake: FakeUpstream;
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    fake = await FakeUpstream.start();
    gw = await startGateway({ env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl } });
    const a = fake.addAccount();
    await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
    key = (await createKey(gw)).key;
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  const frame = fc.oneof(
    rawBody,
    objectBody.map((o) => JSON.stringify({ type: 'response.create', ...o })),
    objectBody.map((o) => JSON.stringify({ type: 'response.create', model: 'gpt-5.5', input: 'hi', ...o })),
    fc.constantFrom(
      JSON.stringify({ type: 'response.create', model: 'gpt-5.5', input: 'hi', generate: false }),
      JSON.stringify({ type: 'response.create', model: 'gpt-5.5\u0000', input: 'hi' }),
      JSON.stringify({
        type: 'response.create',
        model: 'gpt-5.5',
        input: 'x',
        previous_response_id: 'resp_nope',
      }),
      '['.repeat(5000) + ']'.repeat(5000),
      JSON.stringify({ type: 'response.cancel' }),
    ),
  );
  const WS_RUNS = Math.max(20, Math.floor(RUNS / 10));

  it(`random frames (seed ${SEED}, ${WS_RUNS} runs): no 5xx, no hang`, async () => {
    const closes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(frame, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (frames, binary) => {
          const c = await connectWs(gw, key);
          try {
            for (const f of frames) {
              const before = c.frames.length;
              c.ws.send(binary ? Buffer.from(f) : f);
              const outcome = await Promise.race([
                c
                  .next(
                    (x) =>
                      c.frames.indexOf(x) >= before &&
                      (x.type === 'error' || x.type === 'response.completed' || x.type === 'response.failed'),
                    10_000,
                  )
                  .then((x) => x),
                c.closed.then((cl) => ({ closed: cl.code })),
              ]).catch(() => ({ hang: true }));
              if ('hang' in outcome) throw new Error(`hang on frame ${f.slice(0, 200)}`);
              if ('closed' in outcome) {
                closes.set(String(outcome.closed), (closes.get(String(outcome.closed)) ?? 0) + 1);
                if (![1003, 1007, 1008, 1009].includes(outcome.closed as number))
                  throw new Error(`close ${outcome.closed} on frame ${f.slice(0, 200)}`);
                return;
              }
              if (outcome.type === 'error' && !(outcome.status >= 400 && outcome.status < 500))
                throw new Error(`error frame ${JSON.stringify(outcome).slice(0, 300)} on ${f.slice(0, 200)}`);
            }
          } finally {
            c.ws.close();
          }
        },
      ),
      { seed: SEED, numRuns: WS_RUNS, endOnFailure: true },
    );
    console.log(`ws fuzz closes (${WS_RUNS} runs): ${JSON.stringify(Object.fromEntries(closes))}`);
    await eventually(async () => {
      const rows = await query(gw, 'SELECT status FROM usage_records WHERE status >= 500');
      return rows.length === 0;
    }, 'no 5xx usage row');
  }, 180_000);
});
