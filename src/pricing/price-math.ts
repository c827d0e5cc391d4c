/**
 * Equivalent metered-API cost of one request, in exact integer arithmetic (no float drift in sums).
 * Prices are USD per 1M tokens with at most 6 decimals; a cost is carried as an integer count of
 * pico-dollars (1e-12 USD) and written as a decimal string with 12 places (the usage column is NUMERIC(24,12)).
 * Pure.
 */
export interface ModelPrice {
  /** USD per 1M uncached input tokens. */
  input: number;
  /** USD per 1M cached input tokens (prompt-cache hits). */
  cachedInput: number;
  /** USD per 1M output tokens (reasoning tokens are part of output). */
  output: number;
}

export interface TokenCounts {
  /** All input tokens, cached ones included (as the upstream reports `input_tokens`). */
  input: number;
  /** The part of `input` served from the prompt cache. */
  cached: number;
  output: number;
}

/** The token split of an upstream usage object (OpenAI's `usage` shape); missing figures count as 0. */
export function usageCounts(u: {
  input_tokens?: number | null;
  output_tokens?: number | null;
  input_tokens_details?: { cached_tokens?: number | null } | null;
}): TokenCounts {
  return {
    input: Number(u.input_tokens ?? 0),
    cached: Number(u.input_tokens_details?.cached_tokens ?? 0),
    output: Number(u.output_tokens ?? 0),
  };
}

const SCALE = 12;
const MICRO = 1_000_000;

/** A price per 1M tokens as integer micro-dollars per 1M tokens; refuses negatives, NaN and > 6 decimals. */
export function microPerMillion(usdPerMillion: number): bigint {
  if (!Number.isFinite(usdPerMillion) || usdPerMillion < 0)
    throw new RangeError(`bad price ${usdPerMillion}`);
  const micro = Math.round(usdPerMillion * MICRO);
  if (Math.abs(micro - usdPerMillion * MICRO) > 1e-6)
    throw new RangeError(`price ${usdPerMillion} has > 6 decimals`);
  return BigInt(micro);
}

const whole = (n: number) => BigInt(Math.max(0, Math.trunc(Number.isFinite(n) ? n : 0)));

/**
 * Cost in pico-dollars: (input − cached) at the input price + cached at the cached price + output at the output
 * price. Cached tokens above the input count (a malformed report) are capped at the input count.
 */
export function costPico(price: ModelPrice, t: TokenCounts): bigint {
  const input = whole(t.input);
  const cached = whole(t.cached) > input ? input : whole(t.cached);
  // tokens × micro-USD per 1M tokens = 1e-6 × 1e-6 USD = pico-dollars.
  return (
    (input - cached) * microPerMillion(price.input) +
    cached * microPerMillion(price.cachedInput) +
    whole(t.output) * microPerMillion(price.output)
  );
}

/** Pico-dollars as a decimal string with 12 places ("0.000150000000"). */
export function picoToDecimal(pico: bigint): string {
  const neg = pico < 0n;
  const s = (neg ? -pico : pico).toString().padStart(SCALE + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -SCALE)}.${s.slice(-SCALE)}`;
}

/** A decimal string (as Postgres returns NUMERIC) back to pico-dollars; more than 12 places are truncated. */
export function decimalToPico(s: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(s.trim());
  if (!m) throw new RangeError(`not a decimal: ${s}`);
  const frac = (m[3] ?? '').slice(0, SCALE).padEnd(SCALE, '0');
  const v = BigInt(m[2]) * 10n ** BigInt(SCALE) + BigInt(frac || '0');
  return m[1] ? -v : v;
}

/** Cost as a decimal string, or null when there is no price (unknown model): never a guess. */
export function costOf(price: ModelPrice | null, t: TokenCounts): string | null {
  return price ? picoToDecimal(costPico(price, t)) : null;
}

/** Pico-dollars → USD number for display (rounded to 6 decimals, i.e. a millionth of a dollar). */
export function picoToUsd(pico: bigint): number {
  return Number(pico / 1_000_000n) / MICRO;
}

/**
 * Model name → the key its price is listed under: exact name first, then without a dated snapshot suffix
 * (`gpt-5.5-2026-04-01` → `gpt-5.5`). Nothing fuzzier: a near-miss is "no price", not someone else's price.
 */
export function priceKey(model: string, known: (name: string) => boolean): string | null {
  if (known(model)) return model;
  const undated = model.replace(/-\d{4}-\d{2}-\d{2}$/, '');
  return undated !== model && known(undated) ? undated : null;
}
