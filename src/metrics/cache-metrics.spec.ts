import { Registry } from 'prom-client';
import { CONVERSATION_IDLE_MS, CONVERSATIONS_TRACKED, CacheMetrics } from './cache-metrics.js';

async function values(r: Registry, name: string) {
  const m = (await r.getMetricsAsJSON()).find((x) => x.name === name)!;
  return m.values as { labels: Record<string, string | number>; value: number; metricName?: string }[];
}

describe('prompt-cache metrics', () => {
  it('splits input tokens into hit and miss per account, model and turn', async () => {
    const r = new Registry();
    const c = new CacheMetrics([r]);
    c.observe({ account: 'a', model: 'gpt-5.5', inputTokens: 100, cachedTokens: 0, followup: false });
    c.observe({ account: 'a', model: 'gpt-5.5', inputTokens: 120, cachedTokens: 96, followup: true });
    c.observe({ account: 'a', model: 'gpt-5.5', inputTokens: 10, cachedTokens: 50, followup: true }); // capped
    const v = await values(r, 'cg_prompt_cache_input_tokens_total');
    const get = (cache: string, turn: string) =>
      v.find((x) => x.labels.cache === cache && x.labels.turn === turn && x.labels.account === 'a')?.value;
    expect(get('miss', 'first')).toBe(100);
    expect(get('hit', 'first')).toBe(0); // present at 0: the hit rate is 0 %, not "no data"
    expect(get('hit', 'followup')).toBe(96 + 10);
    expect(get('miss', 'followup')).toBe(24);
  });

  it('counts distinct accounts per conversation from the second turn on', async () => {
    const r = new Registry();
    const c = new CacheMetrics([r]);
    expect(c.conversationTurn('conv1', 'acc1', 0)).toEqual({ followup: false, accounts: 1 });
    expect(c.conversationTurn('conv1', 'acc1', 10)).toEqual({ followup: true, accounts: 1 });
    expect(c.conversationTurn('conv1', 'acc2', 20)).toEqual({ followup: true, accounts: 2 }); // a cold cache
    expect(c.conversationTurn('conv1', 'acc1', 30).accounts).toBe(2);
    const v = await values(r, 'cg_conversation_accounts');
    const count = v.find((x) => x.metricName === 'cg_conversation_accounts_count')!.value;
    const le1 = v.find((x) => x.metricName === 'cg_conversation_accounts_bucket' && x.labels.le === 1)!.value;
    expect(count).toBe(3);
    expect(le1).toBe(1);
  });

  it('forgets idle conversations and stays bounded', () => {
    const c = new CacheMetrics([new Registry()]);
    c.conversationTurn('x', 'a', 0);
    c.conversationTurn('x', 'b', 1);
    expect(c.conversationTurn('x', 'c', 2 + CONVERSATION_IDLE_MS)).toEqual({ followup: false, accounts: 1 });
    for (let i = 0; i < CONVERSATIONS_TRACKED + 50; i++)
      c.conversationTurn(`c${i}`, 'a', 5 + CONVERSATION_IDLE_MS);
    expect(c.tracked).toBe(CONVERSATIONS_TRACKED);
  });
});
