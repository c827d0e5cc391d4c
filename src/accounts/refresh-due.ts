/**
 * The one "is it due" rule of token refresh, used by the worker's schedule, the sweep, the request path and the
 * caller that waited on the refresh lock (docs/upstream-protocol.md §3: the CLI refreshes `lead` before `exp`
 * and after a 401, nothing more).
 *
 * Due `lead` before the access token's expiry — but a token refreshed at `refreshedAt` that lives shorter than
 * the lead would be due the moment it was issued (and refreshed again on every use), so such a token is due at
 * half its life instead. Never earlier than `expiresAt − lead`: never more often than the CLI.
 */
export function refreshDueAt(expiresAt: Date, leadSeconds: number, refreshedAt?: Date | null): number {
  const exp = expiresAt.getTime();
  let lead = leadSeconds * 1000;
  const from = refreshedAt?.getTime();
  if (from !== undefined && from < exp) lead = Math.min(lead, (exp - from) / 2);
  return exp - lead;
}

/** What the rule reads of an account: its access token's expiry and when the gateway last refreshed it. */
export interface RefreshTiming {
  accessTokenExpiresAt: Date | null;
  lastRefreshAt: Date | null;
}

/** Whether the account's token is due now (a token without a known expiry never is: it waits for a 401). */
export function isRefreshDue(t: RefreshTiming, leadSeconds: number, now = Date.now()): boolean {
  return (
    t.accessTokenExpiresAt !== null &&
    refreshDueAt(t.accessTokenExpiresAt, leadSeconds, t.lastRefreshAt) <= now
  );
}
