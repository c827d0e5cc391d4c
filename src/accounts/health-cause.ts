/**
 * An account's health, named by its cause (issue 25 item 3; docs/reliability.md "Account health"): what the admin
 * API and the web admin show, with a human message, since when, and the fix. Pure: the stored status and cooldown
 * of the row, plus whether this process's circuit for the account is open (transient trouble, never stored).
 */
export type HealthCause =
  | 'active'
  | 'needs_reauth'
  | 'deactivated'
  | 'unusable'
  | 'usage_limit'
  | 'proxy_unreachable'
  | 'transient'
  | 'disabled';

export interface AccountHealthView {
  cause: HealthCause;
  /** false only for causes that keep the account out of the pool until someone (or a known time) fixes them. */
  serving: boolean;
  message: string;
  since: string | null;
  /** When the cause ends by itself (usage_limit), else null. */
  until: string | null;
  fix: string | null;
}

export interface HealthInput {
  enabled: boolean;
  status: string;
  statusReason: string | null;
  statusSince: Date | null;
  cooldownUntil: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  updatedAt: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function describeHealth(
  a: HealthInput,
  opts: { circuitOpen?: boolean; proxyHost?: string | null } = {},
  now = Date.now(),
): AccountHealthView {
  const since = iso(a.statusSince ?? a.updatedAt);
  const reason = a.statusReason ? ` (${a.statusReason})` : '';
  switch (a.status) {
    case 'needs_reauth':
      return {
        cause: 'needs_reauth',
        serving: false,
        message: `The sign-in is no longer valid${reason}.`,
        since,
        until: null,
        fix: 'Sign the account in again (Accounts › Re-authenticate, or `auth login`).',
      };
    case 'deactivated':
      return {
        cause: 'deactivated',
        serving: false,
        message: `The backend says the account or its workspace is disabled${reason}.`,
        since,
        until: null,
        fix: 'Check the account at chatgpt.com with its owner; a new sign-in does not help while it is disabled.',
      };
    case 'unusable':
      return {
        cause: 'unusable',
        serving: false,
        message: `The account cannot serve Codex${reason}.`,
        since,
        until: null,
        fix: 'Upgrade the plan to one that includes Codex, then sign in again.',
      };
    case 'proxy_unreachable':
      return {
        cause: 'proxy_unreachable',
        serving: false,
        message: `Its egress proxy${opts.proxyHost ? ` ${opts.proxyHost}` : ''} refuses or does not answer${reason}.`,
        since,
        until: null,
        fix: 'Check the proxy (host, port, credentials) or change it; the gateway probes it and resumes by itself.',
      };
  }
  if (!a.enabled)
    return {
      cause: 'disabled',
      serving: false,
      message: 'Disabled by an admin.',
      since: iso(a.updatedAt),
      until: null,
      fix: 'Enable it when it should serve again.',
    };
  if (a.cooldownUntil && a.cooldownUntil.getTime() > now)
    return {
      cause: 'usage_limit',
      serving: false,
      message: `Usage limit reached; cooling down until ${a.cooldownUntil.toISOString()}.`,
      since: iso(a.lastErrorAt),
      until: a.cooldownUntil.toISOString(),
      fix: `Nothing to do: it serves again after ${a.cooldownUntil.toISOString()}.`,
    };
  if (opts.circuitOpen)
    return {
      cause: 'transient',
      serving: true,
      message: 'Recent upstream failures (5xx, timeouts, resets); skipped for a moment, then probed.',
      since: iso(a.lastErrorAt),
      until: null,
      fix: null,
    };
  return { cause: 'active', serving: true, message: 'Serving.', since, until: null, fix: null };
}
