import { costPico, type ModelPrice, type TokenCounts } from '../pricing/price-math.js';

/**
 * Money budgets are counted in Redis as integer nano-dollars (1e-9 USD): exact integers in Lua up to 2^53, i.e.
 * budgets up to 1,000,000 USD (the validation's maximum) with room to spare; the cheapest listed token
 * (0.075 USD per 1M) is 75 nano-dollars, so rounding a cost up to a whole nano-dollar is at most 1e-9 USD a request.
 * Pure.
 */
export const NANO_PER_USD = 1_000_000_000;

/** A budget in USD (at most 6 decimals) as nano-dollars. */
export function usdToNano(usd: number): number {
  return Math.round(usd * 1_000_000) * 1000;
}

export function nanoToUsd(nano: number): number {
  return Math.round(nano / 1000) / 1_000_000;
}

/** The cost of these tokens at this price in nano-dollars, rounded up (a budget is never under-charged). */
export function costNano(price: ModelPrice, t: TokenCounts): number {
  const pico = costPico(price, t);
  return Number((pico + 999n) / 1000n);
}
