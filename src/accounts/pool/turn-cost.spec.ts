import {
  CACHED_INPUT_WEIGHT,
  DEFAULT_OUTPUT_TOKENS,
  newInputChars,
  newInputTokens,
  servedCost,
  TurnCosts,
} from './turn-cost.js';

describe('turn cost', () => {
  const user = (t: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text: t }] });
  const assistant = (t: string) => ({
    type: 'message',
    role: 'assistant',
    content: [{ type: 'output_text', text: t }],
  });

  it('served cost: uncached input + cached input at its weight + output; nonsense counts are clamped', () => {
    expect(servedCost({ input: 10_000, cached: 8_000, output: 500 })).toBe(
      2_000 + CACHED_INPUT_WEIGHT * 8_000 + 500,
    );
    expect(servedCost({ input: 100, cached: 500, output: -3 })).toBe(Math.round(100 * CACHED_INPUT_WEIGHT));
  });

  it('new input: the items after the last model-produced one; a first turn is new as a whole', () => {
    const first = [user('a'.repeat(400))];
    expect(newInputChars(first)).toBe(-1);
    expect(newInputTokens(first)).toBe(-1);
    const second = [...first, assistant('b'.repeat(400)), user('c'.repeat(40))];
    expect(newInputChars(second)).toBe(JSON.stringify(second[2]).length);
    const tool = [
      ...second,
      { type: 'function_call', call_id: 'c1', name: 'sh', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'x'.repeat(80) },
    ];
    expect(newInputChars(tool)).toBe(JSON.stringify(tool[4]).length);
    expect(newInputChars('a plain string')).toBe(14);
    expect(newInputChars(undefined)).toBe(0);
  });

  it('estimate: a turn on its sticky account pays its new part in full and the rest at the cached weight', () => {
    const c = new TurnCosts();
    const moved = c.estimate(10_000, 500, false);
    const stayed = c.estimate(10_000, 500, true);
    expect(moved).toBe(10_000 + DEFAULT_OUTPUT_TOKENS);
    expect(stayed).toBe(500 + CACHED_INPUT_WEIGHT * 9_500 + DEFAULT_OUTPUT_TOKENS);
    expect(c.estimate(10_000, -1, true)).toBe(moved); // nothing known as cached
    expect(c.meanTurn()).toBeNull();
  });

  it('learns the tokenizer ratio, the output length and the mean turn from real usage', () => {
    const c = new TurnCosts();
    for (let i = 0; i < 60; i++) c.observe(1_000, { input: 2_000, cached: 0, output: 100 });
    expect(c.estimate(1_000, -1, false)).toBeGreaterThan(2_000 + 100 - 20);
    expect(c.estimate(1_000, -1, false)).toBeLessThan(2_000 + 100 + 20);
    expect(c.meanTurn()).toBe(2_100);
    // A missing input estimate (0) teaches no ratio.
    c.observe(0, { input: 50_000, cached: 0, output: 100 });
    expect(c.estimate(1_000, -1, false)).toBeLessThan(2_200);
  });
});
