import { ApiError } from '../common/errors.js';
import type { ClassifiedError } from '../upstream/classify.js';

/**
 * What the backend says when it refuses a *request* on content-policy grounds (issue 25 item 4; docs/security.md
 * "Policy isolation"). Such a refusal is about the prompt, not the account: the client gets it as it is, the
 * account is neither cooled down nor failed over from (another account would only be shown the same prompt), its
 * circuit stays closed, and the key's and user's refusals are counted (gateway/policy-guard.ts).
 * Each signal carries how we know it:
 * - verified: seen in a capture or the Codex CLI's source (shared/PROTOCOL.md, research/codex-protocol.md §9.1);
 * - assumed: reported by peers, strings in the CLI binary, or the public API's spec; kept here so one edit fixes it.
 */
export interface PolicySignal {
  code: string;
  evidence: 'verified' | 'assumed';
  where: string;
}

export const POLICY_SIGNALS: readonly PolicySignal[] = [
  // The Codex CLI maps an HTTP 400 whose error.code is cyber_policy to its own CyberPolicy error (not retried).
  { code: 'cyber_policy', evidence: 'verified', where: 'HTTP 400 error.code (Codex CLI source)' },
  // The CLI's stream reader treats these response.failed codes as an invalid request (not retried).
  { code: 'bio_policy', evidence: 'verified', where: 'response.failed error.code (Codex CLI source)' },
  {
    code: 'invalid_prompt',
    evidence: 'assumed',
    where: 'response.failed error.code (Codex CLI source; that it means a policy flag: public API usage)',
  },
  {
    code: 'content_policy_violation',
    evidence: 'assumed',
    where: 'error.code/type, HTTP 400 or response.failed (string in the CLI binary; status unknown)',
  },
  // response.incomplete with incomplete_details.reason content_filter (public API spec): the output was filtered.
  { code: 'content_filter', evidence: 'assumed', where: 'response.incomplete reason (OpenAI spec)' },
];

const BY_CODE = new Map(POLICY_SIGNALS.map((s) => [s.code, s]));

/** The policy signal an upstream error code (or a usage row's error class) stands for, else null. */
export function policySignal(code: string | null | undefined): PolicySignal | null {
  return (code && BY_CODE.get(code)) || null;
}

/** The policy code an upstream HTTP error body names (`error.code`, `error.type` or a top-level `code`), else null. */
export function policyCodeOf(bodyText: string): string | null {
  let body: any;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return null;
  }
  const err = body?.error && typeof body.error === 'object' ? body.error : null;
  const found = [err?.code, err?.type, body?.code].find((c) => typeof c === 'string' && policySignal(c));
  return (found as string | undefined) ?? null;
}

/**
 * An upstream HTTP refusal that is a content-policy verdict, as the client gets it: the backend's status when it is
 * a 4xx other than 401/429 (else 400), OpenAI's `invalid_request_error` envelope, the backend's code and message.
 * Null when the answer is not a policy refusal.
 */
export function policyRefusal(c: ClassifiedError, bodyText: string): ApiError | null {
  if (c.status === 401 || c.status === 429) return null;
  const code = policyCodeOf(bodyText);
  if (!code) return null;
  return ApiError.of({
    status: c.status >= 400 && c.status < 500 ? c.status : 400,
    message: `Upstream refused the request on content-policy grounds: ${c.message}`,
    type: 'invalid_request_error',
    code,
  });
}
