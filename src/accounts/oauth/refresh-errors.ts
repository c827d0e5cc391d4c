/**
 * Classification of a failed refresh (docs/upstream-protocol.md §3):
 * - permanent: the listed codes (`refresh_token_expired|reused|invalidated`, in `error.code` or `error`) → the
 *   account needs a new login;
 * - rejected: any other 4xx → retried once, then treated as permanent (protocol guidance);
 * - transient: 5xx, 404, 408, 425, 429, network errors, timeouts → retry with backoff (never a status change).
 * 429 as transient is our reading (a rate limit is not a verdict on the token) — docs/upstream-protocol.md marks it assumed.
 */
export const PERMANENT_REFRESH_CODES = [
  'refresh_token_expired',
  'refresh_token_reused',
  'refresh_token_invalidated',
] as const;

/**
 * 4xx answers that are about the request or the service, not the token: a 404 or 408 during an outage must never
 * cost an account its login (codex-lb#2058: one 404 deactivated a whole pool). 429 as before.
 */
const TRANSIENT_4XX = new Set([404, 408, 425, 429]);

export type RefreshFailure =
  | { kind: 'permanent'; code: string; status: number }
  | { kind: 'rejected'; code: string; status: number }
  | { kind: 'transient'; code: string; status: number | null };

/** Extracts an error code from `{"error": {"code"}}`, `{"error": "code"}` or `{"code"}` without trusting the shape. */
export function errorCodeOf(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  const e = b.error;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object') {
    const c = (e as Record<string, unknown>).code ?? (e as Record<string, unknown>).type;
    if (typeof c === 'string') return c;
  }
  return typeof b.code === 'string' ? b.code : null;
}

export function classifyRefreshResponse(status: number, body: unknown): RefreshFailure {
  const code = errorCodeOf(body);
  if (code && (PERMANENT_REFRESH_CODES as readonly string[]).includes(code))
    return { kind: 'permanent', code, status };
  if (TRANSIENT_4XX.has(status) || status >= 500)
    return { kind: 'transient', code: code ?? `http_${status}`, status };
  if (status >= 400) return { kind: 'rejected', code: code ?? `http_${status}`, status };
  return { kind: 'transient', code: code ?? `unexpected_${status}`, status };
}

export function classifyNetworkError(err: unknown): RefreshFailure {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  const code =
    e?.name === 'TimeoutError' || e?.name === 'AbortError'
      ? 'timeout'
      : (e?.cause?.code ?? e?.code ?? 'network_error');
  return { kind: 'transient', code: String(code), status: null };
}
