import { z } from 'zod';
import { ApiError } from './errors.js';

/**
 * Validates a request body (or query) with a zod schema; the first issue becomes a 400 in OpenAI's envelope
 * with `param` naming the field (dotted path, array indexes in brackets: `messages[2].content`).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.infer<S> {
  if (value === undefined || value === null || (what === 'body' && typeof value !== 'object')) {
    throw ApiError.badRequest(`The request ${what} must be a JSON object.`, null, 'invalid_request');
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const param = formatPath(issue.path as (string | number)[]);
  const message = param ? `Invalid '${param}': ${issue.message}` : issue.message;
  throw ApiError.badRequest(
    message,
    param || null,
    issue.code === 'unrecognized_keys' ? 'unknown_parameter' : 'invalid_value',
  );
}

export function formatPath(path: (string | number | symbol)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Free text stored in Postgres: no NUL or other control characters (a NUL would fail the insert). */
const hasControl = (v: string) => [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
export const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !hasControl(v), 'must not contain control characters');
/** rpm/tpm are Int4 columns; token quotas Int8 but read back as JS numbers. */
export const limitValue = z.number().int().positive().max(2_147_483_647).nullable().optional();
export const quotaValue = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullable().optional();
/**
 * A monthly budget in equivalent USD: positive, at most 6 decimals (the column is NUMERIC(18,6); Redis counts
 * nano-dollars) and at most 1,000,000 (so the nano-dollar counter stays an exact integer in Lua).
 */
export const budgetValue = z
  .number()
  .positive()
  .max(1_000_000)
  .refine((v) => Math.abs(Math.round(v * 1e6) - v * 1e6) < 1e-6, 'must have at most 6 decimals')
  .nullable()
  .optional();
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
