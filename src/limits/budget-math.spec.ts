import { costNano, nanoToUsd, usdToNano } from './budget-math.js';

describe('budget math (nano-dollars)', () => {
  it.each([
    [2.048, 2_048_000_000],
    [0.000001, 1000],
    [1_000_000, 1e15],
    [0.1 + 0.2, 300_000_000], // float noise does not leak into the counter
  ])('usdToNano(%s) = %s', (usd, nano) => {
    expect(usdToNano(usd)).toBe(nano);
    expect(Number.isSafeInteger(usdToNano(usd))).toBe(true);
  });

  it('nanoToUsd rounds to a millionth of a dollar', () => {
    expect(nanoToUsd(2_048_000_000)).toBe(2.048);
    expect(nanoToUsd(1499)).toBe(0.000001);
    expect(nanoToUsd(0)).toBe(0);
  });

  const gpt55 = { input: 5, cachedInput: 0.5, output: 30 };
  it.each([
    // 200×5 + 800×0.5 + 200×30 µ$ = 7400 µ$ = 7,400,000 nano
    [{ input: 1000, cached: 800, output: 200 }, 7_400_000],
    [{ input: 0, cached: 0, output: 512 }, 15_360_000],
    // one token at 0.5 USD per 1M = 500 nano; at 0.075 = 75
    [{ input: 1, cached: 1, output: 0 }, 500],
    [{ input: 0, cached: 0, output: 0 }, 0],
  ])('costNano(gpt-5.5, %j) = %s', (t, nano) => {
    expect(costNano(gpt55, t)).toBe(nano);
  });

  it('rounds a fraction of a nano-dollar up (a budget is never under-charged)', () => {
    // 1 token at 0.0001 USD per 1M = 0.1 nano-dollars → 1
    expect(costNano({ input: 0.0001, cachedInput: 0, output: 0 }, { input: 1, cached: 0, output: 0 })).toBe(
      1,
    );
  });
});
