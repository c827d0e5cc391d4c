/**
 * What the backend says about an account itself (not about one request), and which stored status it leads to
 * (issue 25 item 3; docs/reliability.md "Account health"). Each signal carries how we know it:
 * - verified: seen in a capture or the Codex CLI's source;
 * - assumed: reported by peer gateways or field reports; kept here so one edit corrects it.
 * Anything not listed here is not a verdict on the account: 5xx, timeouts, resets, TLS errors and 404s during an
 * outage only open the in-memory circuit (accounts/pool/health.ts) and never change the stored status.
 */
export interface AccountSignal {
  code: string;
  leadsTo: 'deactivated' | 'needs_reauth';
  evidence: 'verified' | 'assumed';
  where: string;
}

export const ACCOUNT_SIGNALS: readonly AccountSignal[] = [
  // The backend disabled the account or its workspace: a new login does not help; an owner must act.
  {
    code: 'account_deactivated',
    leadsTo: 'deactivated',
    evidence: 'assumed',
    where: '403 error.code (peers)',
  },
  { code: 'account_suspended', leadsTo: 'deactivated', evidence: 'assumed', where: '403 error.code (peers)' },
  { code: 'account_deleted', leadsTo: 'deactivated', evidence: 'assumed', where: '403 error.code (peers)' },
  {
    code: 'deactivated_workspace',
    leadsTo: 'deactivated',
    evidence: 'assumed',
    where: '403 error.code (peers)',
  },
  {
    code: 'workspace_deactivated',
    leadsTo: 'deactivated',
    evidence: 'assumed',
    where: '403 error.code (variant)',
  },
  // The login itself is gone: sign in again.
  {
    code: 'token_invalidated',
    leadsTo: 'needs_reauth',
    evidence: 'assumed',
    where: '403 error.code (CPA #4087)',
  },
  { code: 'account_auth_invalidated', leadsTo: 'needs_reauth', evidence: 'assumed', where: '403 error.code' },
  { code: 'account_session_expired', leadsTo: 'needs_reauth', evidence: 'assumed', where: '403 error.code' },
  { code: 'app_session_terminated', leadsTo: 'needs_reauth', evidence: 'assumed', where: '403 error.code' },
];

const BY_CODE = new Map(ACCOUNT_SIGNALS.map((s) => [s.code, s]));

/** The signal an upstream error code stands for, or null when the code says nothing about the account. */
export function accountSignal(code: string | null | undefined): AccountSignal | null {
  return (code && BY_CODE.get(code)) || null;
}
