import { WindowsModel, windowsTurn } from './windows.ts';

/** The fake backend's windows mode (windows.ts): scaled windows, limits with their reset, the prompt-cache model. */
describe('fake upstream windows mode', () => {
  let now = 1_800_000_000_000;
  const clock = () => now;
  const plans = { plus: { short: 1000, weekly: 5000 }, pro: { short: 6000, weekly: 30_000 } };
  const body = (key: string, texts: string[]) => ({
    instructions: 'be brief',
    prompt_cache_key: key,
    input: texts.map((t) => ({ role: 'user', content: t })),
  });

  it('charges both windows, refuses at 100 % with the real-time reset, and resets one scaled length later', () => {
    const m = new WindowsModel({ timeScale: 300, plans, outputTokens: 100, limitAs: 'mixed' }, clock);
    const a = m.admit('a', 'plus', body('k', ['x'.repeat(3180)])); // 2 + 4 + 795 tokens
    if (a.kind !== 'ok') throw new Error('refused');
    expect(a.cachedTokens).toBe(0);
    a.commit([]);
    expect(Math.round(m.usedPercent('a').short)).toBe(90);
    expect(m.report('a', 'plus')).toEqual([
      { usedPercent: 90, windowSeconds: 18_000, resetAfterSeconds: 60 }, // 5 h / 300 = 60 real s
      { usedPercent: 18, windowSeconds: 604_800, resetAfterSeconds: 2016 },
    ]);
    (m.admit('a', 'plus', body('k2', ['y'])) as any).commit([]);
    now += 10_000;
    const t = windowsTurn(m, 'a', 'plus', body('k3', ['z']));
    expect(t).toMatchObject({
      kind: 'http',
      status: 429,
      headers: { 'x-codex-primary-used-percent': '100', 'x-codex-primary-reset-after-seconds': '50' },
      body: {
        error: { type: 'usage_limit_reached', resets_in_seconds: 50, resets_at: Math.ceil(now / 1000) + 50 },
      },
    });
    expect(windowsTurn(m, 'a', 'plus', body('k3', ['z']))).toMatchObject({
      kind: 'stream',
      failed: { code: 'usage_limit_reached', resets_in_seconds: 50 },
    });
    expect(m.atLimitRequests()).toEqual({ a: 2 });
    expect(m.headroomAnywhere()).toBe(false);
    now += 50_000;
    expect(m.report('a', 'plus')[0]).toEqual({
      usedPercent: 0,
      windowSeconds: 18_000,
      resetAfterSeconds: 60,
    });
    expect(m.headroomAnywhere()).toBe(true);
  });

  it('caches per account, per cache key and per input prefix', () => {
    const m = new WindowsModel({ timeScale: 300, plans }, clock);
    const t1 = m.admit('a', 'pro', body('k', ['first question '.repeat(20)]));
    if (t1.kind !== 'ok') throw new Error('refused');
    t1.commit([{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'answer' }] }]);
    const turn2 = body('k', ['first question '.repeat(20)]);
    turn2.input.push({ role: 'assistant', content: 'answer' }, { role: 'user', content: 'second' });
    const t2 = m.admit('a', 'pro', turn2);
    expect(t2).toMatchObject({ kind: 'ok' });
    if (t2.kind !== 'ok') return;
    expect(t2.cachedTokens).toBeGreaterThan(t1.inputTokens);
    expect(t2.cachedTokens).toBeLessThan(t2.inputTokens);
    expect((m.admit('b', 'pro', turn2) as any).cachedTokens).toBe(0); // another account
    expect((m.admit('a', 'pro', { ...turn2, prompt_cache_key: 'other' }) as any).cachedTokens).toBe(0);
    const edited = body('k', ['an edited first question']);
    expect((m.admit('a', 'pro', edited) as any).cachedTokens).toBe(2); // only the instructions
    now += (31 * 60_000) / 300 + 1; // 30 simulated minutes later the entry is gone
    expect((m.admit('a', 'pro', turn2) as any).cachedTokens).toBe(0);
  });
});
