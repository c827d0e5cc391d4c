import OpenAI from 'openai';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { flushPrefix } from './support/redis.js';
import { RedisService } from '../src/redis/redis.service.js';

/**
 * Issue 24 item 1: a conversation whose account changes keeps working. Encrypted reasoning and compaction items
 * are bound to the account that minted them (the fake, like the real backend, answers another account's with
 * 400 invalid_encrypted_content); the gateway rewrites them for the new account, or strips them and retries once.
 */
let fake: FakeUpstream;
let gw: TestGateway;
let client: OpenAI;
let a: ReturnType<FakeUpstream['addAccount']>;
let b: ReturnType<FakeUpstream['addAccount']>;
beforeAll(async () => {
  fake = await FakeUpstream.start();
  gw = await startGateway({
    env: { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl, POOL_STRATEGY: 'priority' },
  });
  a = fake.addAccount();
  b = fake.addAccount();
  await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt, label: 'A', priority: 10 });
  await seedAccount(gw, { ...b, accessTokenExpiresAt: b.accessExpiresAt, label: 'B', priority: 1 });
  const { key } = await createKey(gw);
  client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});
beforeEach(async () => {
  fake.reset();
  await flushPrefix(gw.config.REDIS_KEY_PREFIX); // cooldowns, stickiness and the opaque-item records
});

const upstream = () => fake.requestsTo('/backend-api/codex/responses');
const metric = async (name: string, reason: string) => {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{reason="${reason}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

async function firstTurn(text: string) {
  fake.respondWith({ text: 'first answer', reasoningSummary: 'I thought about it' });
  const r = await client.responses.create({ model: 'gpt-5.5', input: text });
  expect(upstream().at(-1)!.chatgptAccountId).toBe(a.chatgptAccountId);
  return r;
}

describe('a conversation that changes account', () => {
  it('the fake refuses another account’s encrypted reasoning as the real backend does', async () => {
    const first = await firstTurn('fake check');
    const reasoning = first.output.find((o) => o.type === 'reasoning') as any;
    const r = await fetch(`${fake.codexBaseUrl}/responses`, {
      method: 'POST',
      headers: {
        ...Object.fromEntries(
          Object.entries(upstream().at(-1)!.headers).filter(
            ([k]) => !['content-length', 'host', 'connection', 'transfer-encoding'].includes(k),
          ),
        ),
        authorization: `Bearer ${b.accessToken}`,
        'chatgpt-account-id': b.chatgptAccountId,
      },
      body: JSON.stringify({ ...upstream().at(-1)!.body, input: [reasoning] }),
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      error: {
        message: expect.stringMatching(/^The encrypted content gAAA\.\.\..{4} could not be verified\.$/),
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_encrypted_content',
      },
    });
  });

  it('HTTP /v1/responses: the next turn on another account has the foreign reasoning as its summary, no error', async () => {
    const moves = await metric('cg_conversation_moves_total', 'moved');
    const first = await firstTurn('move me');
    const reasoning = first.output.find((o) => o.type === 'reasoning') as any;
    expect(reasoning.encrypted_content).toMatch(/^gAAAA/);
    fake.fault(a.chatgptAccountId, { kind: 'usage_limit', resetsInSeconds: 3600 });
    const second = await client.responses.create({
      model: 'gpt-5.5',
      input: [
        { role: 'user', content: 'move me' },
        ...(first.output as any[]),
        { role: 'user', content: 'next' },
      ],
    });
    expect(second.output_text).toContain('next');
    const served = upstream().at(-1)!;
    expect(served.chatgptAccountId).toBe(b.chatgptAccountId);
    expect(served.rawBody).not.toContain(reasoning.encrypted_content);
    expect(JSON.stringify(served.body.input)).toContain('I thought about it');
    expect(fake.refusedOpaque).toBe(0);
    expect(await metric('cg_conversation_moves_total', 'moved')).toBe(moves + 1);

    // The conversation now sticks to B, and B's own reasoning is sent to B unchanged.
    const b1 = second.output.find((o) => o.type === 'reasoning') as any;
    fake.respondWith({ text: 'third', reasoningSummary: 'more thought' });
    await client.responses.create({
      model: 'gpt-5.5',
      input: [
        { role: 'user', content: 'move me' },
        ...(first.output as any[]),
        { role: 'user', content: 'next' },
        ...(second.output as any[]),
        { role: 'user', content: 'third' },
      ],
    });
    expect(upstream().at(-1)!.chatgptAccountId).toBe(b.chatgptAccountId);
    if (b1) expect(upstream().at(-1)!.rawBody).toContain(b1.encrypted_content);
  });

  it('an item the gateway has no record of, refused as foreign, is stripped and retried once on that account', async () => {
    const refused = await metric('cg_conversation_moves_total', 'refused');
    const first = await firstTurn('forgotten');
    // Lose the gateway's record of who minted what (as after the sticky TTL), then move the conversation.
    const redis = gw.app.get(RedisService);
    const keys = await redis.client.keys(redis.key('opaque', '*'));
    expect(keys.length).toBeGreaterThan(0);
    await redis.client.del(...keys);
    fake.fault(a.chatgptAccountId, { kind: 'usage_limit', resetsInSeconds: 3600 });
    const second = await client.responses.create({
      model: 'gpt-5.5',
      stream: false,
      input: [
        { role: 'user', content: 'forgotten' },
        ...(first.output as any[]),
        { role: 'user', content: 'again' },
      ],
    });
    expect(second.output_text).toContain('again');
    expect(fake.refusedOpaque).toBe(1);
    const tries = upstream().slice(-2);
    expect(tries.map((t) => t.chatgptAccountId)).toEqual([b.chatgptAccountId, b.chatgptAccountId]);
    expect(tries[1].body.input.some((i: any) => typeof i.encrypted_content === 'string')).toBe(false);
    expect(await metric('cg_conversation_moves_total', 'refused')).toBe(refused + 1);
  });
});
