import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

/** Typed client generated from the admin OpenAPI document (web/openapi.json → schema.d.ts). Same origin. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });

export type Schemas = components['schemas'];

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

/**
 * For admin endpoints whose request/response bodies the OpenAPI document does not describe yet (keys, users,
 * settings): same envelope handling, types from ./types.ts.
 */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, 'The gateway cannot be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw failureOf(res.status, json);
  return json as T;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : 'Something went wrong.';
}
