/**
 * Classifies an upstream answer that is not a 200 stream (docs/upstream-protocol.md §6) so the pool can decide: refresh and
 * retry (auth), cool the account down until its reset (usage_limit), take it out (usage_not_included), try
 * another account (rate_limit, server, network), or give the client its own mistake back (bad_request).
 */
export type UpstreamErrorClass =
  'auth' | 'usage_limit' | 'usage_not_included' | 'rate_limit' | 'bad_request' | 'server';

export interface ClassifiedError {
  errorClass: UpstreamErrorClass;
  status: number;
  /** Safe to show the client (the backend's own text; never contains our secrets). */
  message: string;
  code: string | null;
  /** Epoch ms when the account may be used again (usage_limit / rate_limit). */
  resetAt: number | null;
}

export function classifyUpstream(
  status: number,
  bodyText: string,
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): ClassifiedError {
  let body: any = null;
  try {
    body = JSON.parse(bodyText);
  } catch {
    /* not JSON */
  }
  const err = body?.error && typeof body.error === 'object' ? body.error : null;
  const type: string | undefined =
    err?.type ?? err?.code ?? (typeof body?.error === 'string' ? body.error : undefined);
  const message = String(
    err?.message ?? body?.detail ?? (bodyText.slice(0, 300) || `upstream answered ${status}`),
  );
  const retryAfter = Number(
    Array.isArray(headers['retry-after']) ? headers['retry-after'][0] : headers['retry-after'],
  );
  if (status === 401 || status === 403)
    return { errorClass: 'auth', status, message, code: 'upstream_auth', resetAt: null };
  if (status === 429 || type === 'usage_limit_reached' || type === 'rate_limit_exceeded') {
    if (type === 'usage_not_included')
      return { errorClass: 'usage_not_included', status, message, code: type, resetAt: null };
    if (
      type === 'usage_limit_reached' ||
      type === 'workspace_member_usage_limit_reached' ||
      type === 'quota_exceeded'
    ) {
      const resetAt =
        typeof err?.resets_at === 'number'
          ? err.resets_at * 1000
          : typeof err?.resets_in_seconds === 'number'
            ? now + err.resets_in_seconds * 1000
            : null;
      return { errorClass: 'usage_limit', status: 429, message, code: 'usage_limit_reached', resetAt };
    }
    const m = /try again in (\d+(?:\.\d+)?)\s*s/i.exec(message);
    const secs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : m ? Number(m[1]) : 5;
    return {
      errorClass: 'rate_limit',
      status: 429,
      message,
      code: 'rate_limit_exceeded',
      resetAt: now + secs * 1000,
    };
  }
  if (status >= 500 || type === 'server_overloaded')
    return { errorClass: 'server', status, message, code: type ?? 'upstream_server_error', resetAt: null };
  return { errorClass: 'bad_request', status, message, code: type ?? null, resetAt: null };
}

/** Thrown from an event stream that broke after it started (no terminal event, idle timeout, reset). */
export class UpstreamStreamError extends Error {
  constructor(
    message: string,
    readonly errorClass: string = 'stream_disconnected',
  ) {
    super(message);
  }
}

/** x-codex-* usage headers → the account's limit snapshot; windows classified by their length, not their name. */
export function usageSnapshotFromHeaders(
  h: Record<string, string | string[] | undefined>,
  now = Date.now(),
): Record<string, unknown> | null {
  const get = (k: string) => {
    const v = h[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const windows: {
    usedPercent: number;
    windowMinutes: number | null;
    resetsAt: number | null;
    name: string;
  }[] = [];
  for (const name of ['primary', 'secondary']) {
    const used = Number(get(`x-codex-${name}-used-percent`));
    if (!Number.isFinite(used)) continue;
    const minutes = Number(get(`x-codex-${name}-window-minutes`));
    const after = Number(get(`x-codex-${name}-reset-after-seconds`));
    const at = Number(get(`x-codex-${name}-reset-at`));
    windows.push({
      name,
      usedPercent: used,
      windowMinutes: Number.isFinite(minutes) ? minutes : null,
      resetsAt: Number.isFinite(at) ? at * 1000 : Number.isFinite(after) ? now + after * 1000 : null,
    });
  }
  if (!windows.length) return null;
  const sorted = [...windows].sort((a, b) => (a.windowMinutes ?? 0) - (b.windowMinutes ?? 0));
  return {
    short: sorted[0],
    long: sorted.length > 1 ? sorted[sorted.length - 1] : null,
    maxUsedPercent: Math.max(...windows.map((w) => w.usedPercent)),
    at: now,
  };
}

/** `response.failed` error codes → OpenAI envelope type and HTTP status (for failures before anything was sent). */
export function classifyFailure(code: string | null | undefined): { status: number; type: string } {
  switch (code) {
    case 'context_length_exceeded':
    case 'invalid_prompt':
    case 'invalid_request_error':
      return { status: 400, type: 'invalid_request_error' };
    case 'rate_limit_exceeded':
      return { status: 429, type: 'rate_limit_error' };
    case 'usage_limit_reached':
    case 'insufficient_quota':
      return { status: 429, type: 'insufficient_quota' };
    default:
      return { status: 502, type: 'server_error' };
  }
}
