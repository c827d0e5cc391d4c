import { ApiError } from '../common/errors.js';
import { accountSignal } from './account-signals.js';

/**
 * Classifies an upstream answer that is not a 200 stream (docs/upstream-protocol.md §6) so the pool can decide: reload / refresh
 * and retry (auth: 401 only), cool the account down until its reset (usage_limit), take it out
 * (usage_not_included; account_disabled → deactivated or needs a new login, by its signal in account-signals.ts), cool it down and try another account (blocked: a
 * Cloudflare block or challenge page; forbidden: any other 403; rate_limit; server; network), or give the client
 * its own mistake back (bad_request). A 403 never leads to a token refresh: the Codex CLI refreshes on 401 only,
 * and a lasting 403 would otherwise spend a single-use refresh token per request.
 */
export type UpstreamErrorClass =
  | 'auth'
  | 'usage_limit'
  | 'usage_not_included'
  | 'rate_limit'
  | 'blocked'
  | 'account_disabled'
  | 'forbidden'
  | 'bad_request'
  | 'server';

const header = (h: Record<string, string | string[] | undefined>, k: string) => {
  const v = h[k];
  return Array.isArray(v) ? v[0] : v;
};

/** A Cloudflare block page or bot challenge rather than an answer of the backend itself. */
function isBlockPage(bodyText: string, h: Record<string, string | string[] | undefined>): boolean {
  if (header(h, 'cf-mitigated')) return true;
  const ct = header(h, 'content-type') ?? '';
  const head = bodyText.slice(0, 4096);
  if (/text\/html/i.test(ct) || /^\s*<(!doctype|html)/i.test(head))
    return /cloudflare|blocked|attention required|just a moment|challenge|cf-ray|access denied/i.test(head);
  return /cloudflare/i.test(head) && /blocked|challenge/i.test(head);
}

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
  const code: string | undefined = err?.code ?? (typeof body?.code === 'string' ? body.code : undefined);
  if (status === 401) return { errorClass: 'auth', status, message, code: 'upstream_auth', resetAt: null };
  if (type === 'usage_not_included' || code === 'usage_not_included')
    return { errorClass: 'usage_not_included', status, message, code: 'usage_not_included', resetAt: null };
  if (status === 403) {
    if (isBlockPage(bodyText, headers)) {
      return {
        errorClass: 'blocked',
        status,
        message: 'The upstream blocked the request (Cloudflare block or challenge page).',
        code: 'upstream_blocked',
        resetAt: null,
      };
    }
    const gone = [type, code].find((t) => accountSignal(t));
    if (gone) return { errorClass: 'account_disabled', status, message, code: gone, resetAt: null };
    return {
      errorClass: 'forbidden',
      status,
      message,
      code: type ?? code ?? 'upstream_forbidden',
      resetAt: null,
    };
  }
  if (status === 429 || type === 'usage_limit_reached' || type === 'rate_limit_exceeded') {
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
  // A 404 that is not the backend's own JSON (an edge/HTML page during an outage, codex-lb#2058) says nothing
  // about the request or the account: transient, like a 5xx. The backend's JSON 404s stay the client's error.
  if (status >= 500 || type === 'server_overloaded' || (status === 404 && body === null))
    return { errorClass: 'server', status, message, code: type ?? 'upstream_server_error', resetAt: null };
  // The specific code (`invalid_encrypted_content`, `context_length_exceeded`) before the generic type.
  return { errorClass: 'bad_request', status, message, code: code ?? type ?? null, resetAt: null };
}

/** A classified upstream refusal → the error the client gets when no other account helps. */
export function toApiError(c: ClassifiedError): ApiError {
  if (c.errorClass === 'bad_request') {
    return ApiError.of({
      status: c.status >= 400 && c.status < 500 ? c.status : 400,
      message: `Upstream rejected the request: ${c.message}`,
      type: 'invalid_request_error',
      code: c.code,
    });
  }
  if (c.errorClass === 'auth')
    return ApiError.unavailable('The subscription account was refused by the upstream.', 'upstream_auth');
  if (c.errorClass === 'blocked' || c.errorClass === 'forbidden' || c.errorClass === 'account_disabled')
    return ApiError.unavailable(
      'The subscription account was refused by the upstream.',
      c.code ?? 'upstream_forbidden',
    );
  if (c.errorClass === 'usage_not_included')
    return ApiError.unavailable('The subscription plan does not include Codex.', 'usage_not_included');
  return ApiError.badGateway(`Upstream error: ${c.message}`, c.code ?? 'upstream_error');
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
    // Content-policy refusals (gateway/policy-signals.ts) are the client's request too, never a 502.
    case 'context_length_exceeded':
    case 'invalid_prompt':
    case 'invalid_request_error':
    case 'bio_policy':
    case 'cyber_policy':
    case 'content_policy_violation':
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
