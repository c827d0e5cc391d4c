import { z } from 'zod';
import data from './prices.json' with { type: 'json' };
import type { ModelPrice } from './price-math.js';

/** The shipped price data file (prices.json), validated at load: a malformed file fails start-up, not a bill. */
const price = z.number().nonnegative().finite();
const fileSchema = z.object({
  currency: z.literal('USD'),
  checked: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  models: z.record(
    z.string(),
    z.object({
      input: price,
      cached_input: price,
      output: price,
      source: z.string().min(1),
      verified: z.boolean(),
    }),
  ),
  plans: z.record(z.string(), z.object({ monthly: price, source: z.string().min(1), verified: z.boolean() })),
});

export type PriceFile = z.infer<typeof fileSchema>;

export function parsePriceFile(json: unknown): PriceFile {
  return fileSchema.parse(json);
}

export const PRICE_FILE: PriceFile = parsePriceFile(data);

export interface ListedPrice extends ModelPrice {
  source: string;
  verified: boolean;
  checked: string;
}

export function shippedPrices(file: PriceFile = PRICE_FILE): Map<string, ListedPrice> {
  return new Map(
    Object.entries(file.models).map(([model, p]) => [
      model,
      {
        input: p.input,
        cachedInput: p.cached_input,
        output: p.output,
        source: p.source,
        verified: p.verified,
        checked: file.checked,
      },
    ]),
  );
}

/**
 * Monthly price of a subscription by its plan type as the account's token claims name it (`plus`, `pro`, …);
 * null when the plan is unknown or not listed (an admin sets the account's own price then).
 */
export function planMonthlyPrice(
  planType: string | null | undefined,
  file: PriceFile = PRICE_FILE,
): number | null {
  if (!planType) return null;
  return file.plans[planType.toLowerCase()]?.monthly ?? null;
}
