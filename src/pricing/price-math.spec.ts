import {
  costOf,
  costPico,
  decimalToPico,
  microPerMillion,
  picoToDecimal,
  picoToUsd,
  priceKey,
  type ModelPrice,
} from './price-math.js';
import { PRICE_FILE, parsePriceFile, planMonthlyPrice, shippedPrices } from './catalog.js';

const p: ModelPrice = { input: 5, cachedInput: 0.5, output: 30 };

describe('price arithmetic', () => {
  it.each([
    // [input (cached included), cached, output, expected USD]
    [0, 0, 0, '0.000000000000'],
    [1_000_000, 0, 0, '5.000000000000'],
    [1_000_000, 1_000_000, 0, '0.500000000000'],
    [0, 0, 1_000_000, '30.000000000000'],
    // 1000 input of which 800 cached, 200 output: 200×5 + 800×0.5 + 200×30 = 7400 µ$ per 1M → 0.0074
    [1000, 800, 200, '0.007400000000'],
    [1, 0, 0, '0.000005000000'],
    [1, 1, 0, '0.000000500000'],
    [3, 1, 7, '0.000220500000'],
  ])('in=%d cached=%d out=%d → %s', (input, cached, output, usd) => {
    expect(costOf(p, { input, cached, output })).toBe(usd);
  });

  it('prices cached tokens as cached, not at the full input price', () => {
    const all = costPico(p, { input: 10_000, cached: 0, output: 0 });
    const hit = costPico(p, { input: 10_000, cached: 9_000, output: 0 });
    expect(all).toBe(50_000_000_000n); // 10k × 5 $/1M = 0.05 $
    expect(hit).toBe(1000n * 5_000_000n + 9000n * 500_000n); // 0.005 + 0.0045
  });

  it('caps a malformed cached count at the input count and ignores negatives and NaN', () => {
    expect(costOf(p, { input: 100, cached: 500, output: 0 })).toBe(
      costOf(p, { input: 100, cached: 100, output: 0 }),
    );
    expect(costOf(p, { input: -5, cached: Number.NaN, output: -1 })).toBe('0.000000000000');
  });

  it('is exact where floats drift (0.1 + 0.2)', () => {
    const q: ModelPrice = { input: 0.1, cachedInput: 0.2, output: 0 };
    let sum = 0n;
    for (let i = 0; i < 1000; i++) sum += costPico(q, { input: 2, cached: 1, output: 0 });
    expect(picoToDecimal(sum)).toBe('0.000300000000');
  });

  it('unknown model → no price (null), never a guess', () => {
    expect(costOf(null, { input: 1000, cached: 0, output: 1000 })).toBeNull();
  });

  it('refuses bad prices', () => {
    expect(() => microPerMillion(-1)).toThrow(RangeError);
    expect(() => microPerMillion(Number.NaN)).toThrow(RangeError);
    expect(() => microPerMillion(0.0000001)).toThrow(/decimals/);
    expect(microPerMillion(0.075)).toBe(75_000n);
  });

  it('decimal strings round-trip', () => {
    for (const s of ['0.000000000000', '12.345678901234', '-3.000000000001'])
      expect(picoToDecimal(decimalToPico(s))).toBe(s);
    expect(decimalToPico('1.5')).toBe(1_500_000_000_000n);
    expect(decimalToPico('7')).toBe(7_000_000_000_000n);
    expect(() => decimalToPico('abc')).toThrow(RangeError);
    expect(picoToUsd(1_234_567_890_123n)).toBe(1.234567);
  });

  it('model name → price key: exact, or without a dated suffix; nothing fuzzier', () => {
    const known = (m: string) => m === 'gpt-5.5';
    expect(priceKey('gpt-5.5', known)).toBe('gpt-5.5');
    expect(priceKey('gpt-5.5-2026-04-01', known)).toBe('gpt-5.5');
    expect(priceKey('gpt-5.5-mini', known)).toBeNull();
    expect(priceKey('gpt-5.5-high', known)).toBeNull();
    expect(priceKey('gpt-5', known)).toBeNull();
  });
});

describe('shipped price file', () => {
  it('every model has a source and a verified flag; the file has a date', () => {
    expect(PRICE_FILE.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const prices = shippedPrices();
    expect(prices.size).toBeGreaterThan(0);
    for (const [, v] of prices) {
      expect(v.source.length).toBeGreaterThan(10);
      expect(typeof v.verified).toBe('boolean');
      expect(v.cachedInput).toBeLessThanOrEqual(v.input);
    }
  });

  it('plan prices by plan type; unknown plans have none', () => {
    expect(planMonthlyPrice('plus')).toBe(20);
    expect(planMonthlyPrice('PRO')).toBe(200);
    expect(planMonthlyPrice('enterprise')).toBeNull();
    expect(planMonthlyPrice(null)).toBeNull();
  });

  it('a malformed file is refused', () => {
    expect(() => parsePriceFile({ ...PRICE_FILE, models: { x: { input: -1 } } })).toThrow();
    expect(() => parsePriceFile({ ...PRICE_FILE, checked: 'yesterday' })).toThrow();
  });
});
