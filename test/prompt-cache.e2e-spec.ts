import { useFakeGateway } from './support/scenario.js';

/** Issue 28 item 4: prompt-cache metrics move with a multi-turn conversation (hits) and a forced account change. */
describe('prompt-cache health metrics', () => {
  const s = useFakeGateway(2);

  async function scrape(): Promise<string> {
    return (await fetch(`${s.gw.url}/metrics`)).text();
  }
  function value(text: string, series: string): number {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.split(' ').pop()) : 0;
  }
  const tokens = (m: string, account: string, cache: string, turn: string) =>
    value(
      m,
      `cg_prompt_cache_input_tokens_total{account="${account}",model="gpt-5.5",turn="${turn}",cache="${cache}"}`,
    );

  it('a multi-turn conversation: first turn misses, later turns hit on the same account', async () => {
    const conv = { prompt_cache_key: 'cache-conv-hits' };
    s.fake.respondWith({ text: 'a', usage: { input_tokens: 100, cached_tokens: 0, output_tokens: 5 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 't1', ...conv });
    s.fake.respondWith({ text: 'b', usage: { input_tokens: 150, cached_tokens: 100, output_tokens: 5 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 't2', ...conv });
    s.fake.respondWith({ text: 'c', usage: { input_tokens: 200, cached_tokens: 150, output_tokens: 5 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 't3', ...conv });

    const m = await scrape();
    const accounts = ['acct0', 'acct1'];
    const sum = (cache: string, turn: string) => accounts.reduce((n, a) => n + tokens(m, a, cache, turn), 0);
    expect(sum('miss', 'first')).toBe(100);
    expect(sum('hit', 'first')).toBe(0);
    expect(sum('hit', 'followup')).toBe(250);
    expect(sum('miss', 'followup')).toBe(100); // 50 + 50
    // All on one account: both later turns observed with 1 account so far.
    expect(value(m, 'cg_conversation_accounts_bucket{le="1"}')).toBe(2);
    expect(value(m, 'cg_conversation_accounts_count')).toBe(2);
    // Exactly one account served the conversation.
    expect(accounts.filter((a) => tokens(m, a, 'miss', 'first') > 0)).toHaveLength(1);
  });

  it('a conversation forced to change account: the later turn misses and counts two accounts', async () => {
    const conv = { prompt_cache_key: 'cache-conv-moved' };
    const before = await scrape();
    s.fake.respondWith({ text: 'a', usage: { input_tokens: 80, cached_tokens: 0, output_tokens: 5 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 'm1', ...conv });
    const afterFirst = await scrape();
    const first = ['acct0', 'acct1'].find(
      (a) => tokens(afterFirst, a, 'miss', 'first') > tokens(before, a, 'miss', 'first'),
    )!;
    const sticky = s.accts[first === 'acct0' ? 0 : 1];
    const other = first === 'acct0' ? 'acct1' : 'acct0';

    // Its account hits its usage limit: the next turn goes to the other account, whose cache is cold.
    s.fake.fault(sticky.fake.chatgptAccountId, { kind: 'usage_limit', resetsInSeconds: 120 });
    s.fake.respondWith({ text: 'b', usage: { input_tokens: 120, cached_tokens: 0, output_tokens: 5 } });
    await s.client.responses.create({ model: 'gpt-5.5', input: 'm2', ...conv });
    const m = await scrape();
    expect(tokens(m, other, 'miss', 'followup') - tokens(before, other, 'miss', 'followup')).toBe(120);
    expect(tokens(m, other, 'hit', 'followup') - tokens(before, other, 'hit', 'followup')).toBe(0);
    const count = (t: string) => value(t, 'cg_conversation_accounts_count');
    const le1 = (t: string) => value(t, 'cg_conversation_accounts_bucket{le="1"}');
    const le2 = (t: string) => value(t, 'cg_conversation_accounts_bucket{le="2"}');
    expect(count(m) - count(before)).toBe(1);
    expect(le1(m) - le1(before)).toBe(0); // not on one account any more
    expect(le2(m) - le2(before)).toBe(1);
  });
});
