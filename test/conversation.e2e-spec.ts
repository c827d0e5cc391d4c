import OpenAI from 'openai';
import { Redis } from 'ioredis';
import { createKey } from './support/auth.js';
import { useFakeGateway } from './support/scenario.js';
import { TEST_REDIS_URL } from './support/redis.js';

/**
 * Conversation identity (issue 10 defect 5, issue 11 item 8): one id per (user, conversation key), sent as the CLI
 * correlates it, in the CLI's UUIDv7 format; the turns of one conversation stay on one account and send the same
 * ids; two users never share an id; the client's key is never a Redis key.
 */
const s = useFakeGateway(3, { POOL_STRATEGY: 'round-robin' });

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const calls = () => s.fake.requestsTo('/backend-api/codex/responses');
function idsOf(r: ReturnType<typeof calls>[number]) {
  const id = r.headers['session-id'];
  expect(id).toMatch(UUID_V7);
  expect(r.headers['thread-id']).toBe(id);
  expect(r.headers['x-client-request-id']).toBe(id);
  expect(r.headers['x-codex-window-id']).toBe(`${id}:0`);
  expect(r.body.prompt_cache_key).toBe(id);
  return { id, account: r.chatgptAccountId };
}
const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${s.gw.url}/v1`, maxRetries: 0 });

it('a chat without any key: every turn hits the same account and sends the same ids', async () => {
  const c = client((await createKey(s.gw)).key);
  const messages: any[] = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'first question' },
  ];
  for (let turn = 0; turn < 4; turn++) {
    const r = await c.chat.completions.create({ model: 'gpt-5.5', messages });
    messages.push(r.choices[0].message, { role: 'user', content: `follow-up ${turn}` });
  }
  // An unrelated conversation of the same key gets its own id.
  await c.chat.completions.create({
    model: 'gpt-5.5',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'another topic' },
    ],
  });
  const seen = calls().map(idsOf);
  const turns = seen.slice(0, 4);
  expect(new Set(turns.map((t) => t.id)).size).toBe(1);
  expect(new Set(turns.map((t) => t.account)).size).toBe(1);
  expect(seen[4].id).not.toBe(turns[0].id);
});

it('a client prompt_cache_key: same ids every turn, the raw key never goes upstream', async () => {
  const c = client((await createKey(s.gw)).key);
  for (let i = 0; i < 3; i++)
    await c.responses.create({ model: 'gpt-5.5', input: `turn ${i}`, prompt_cache_key: 'my-conversation-1' });
  const seen = calls().map(idsOf);
  expect(new Set(seen.map((t) => t.id)).size).toBe(1);
  expect(new Set(seen.map((t) => t.account)).size).toBe(1);
  for (const r of calls()) expect(JSON.stringify(r)).not.toContain('my-conversation-1');
});

it('two users with the same prompt_cache_key never share an id', async () => {
  const [k1, k2] = [await createKey(s.gw), await createKey(s.gw)];
  await client(k1.key).responses.create({ model: 'gpt-5.5', input: 'x', prompt_cache_key: 'shared' });
  await client(k2.key).responses.create({ model: 'gpt-5.5', input: 'x', prompt_cache_key: 'shared' });
  const [a, b] = calls().map(idsOf);
  expect(a.id).not.toBe(b.id);
});

it('a 1 MB prompt_cache_key is never a Redis key (bounded, hashed, namespaced)', async () => {
  const c = client((await createKey(s.gw)).key);
  const huge = 'k'.repeat(1024 * 1024);
  await c.responses.create({ model: 'gpt-5.5', input: 'x', prompt_cache_key: huge });
  await c.responses.create({ model: 'gpt-5.5', input: 'y', prompt_cache_key: huge });
  const [a, b] = calls().map(idsOf);
  expect(a.id).toBe(b.id);
  const r = new Redis(TEST_REDIS_URL);
  try {
    const keys = await r.keys(`${s.gw.config.REDIS_KEY_PREFIX}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.length).toBeLessThan(200);
  } finally {
    r.disconnect();
  }
});
