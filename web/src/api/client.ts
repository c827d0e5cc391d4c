import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

/** Typed client generated from the admin OpenAPI document (web/openapi.json → schema.d.ts). Same origin. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });

export type Schemas = components['schemas'];
/** Names the pages use for the admin API's shapes (all generated from the server's response DTOs). */
export type KeyLimits = Schemas['LimitsDto'];
export type KeyView = Schemas['KeyWithUsageDto'];
export type CreatedKey = Schemas['CreatedKeyDto'];
export type UserView = Schemas['UserDto'];

/** An API error in OpenAI's envelope, with the HTTP status. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** Called on any 401 so the app can go back to sign-in with a message. */
let onUnauthorized: (f: ApiFailure) => void = () => {};
export function setUnauthorizedHandler(fn: (f: ApiFailure) => void): void {
  onUnauthorized = fn;
}

function failureOf(status: number, body: unknown): ApiFailure {
  const e = (body as { error?: { message?: string; code?: string; param?: string } } | null)?.error;
  const f = new ApiFailure(
    status,
    e?.message ?? (status >= 500 ? 'The gateway had a problem; try again.' : `Request failed (${status}).`),
    e?.code ?? null,
    e?.param ?? null,
  );
  if (status === 401) onUnauthorized(f);
  return f;
}

/** Unwraps an openapi-fetch result: the data, or throws ApiFailure with the envelope's message. */
export async function unwrap<T>(
  p: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<NonNullable<T>> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await p;
  } catch {
    throw new ApiFailure(0, 'The gateway cannot be reached. Check your connection and try again.');
  }
  if (!r.response.ok) throw failureOf(r.response.status, r.error);
  return r.data as NonNullable<T>;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : 'Something went wrong.';
}
