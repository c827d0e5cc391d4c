/** The BullMQ queue of the accounts module: proactive refresh, the periodic sweep, device-login polling. */
export const ACCOUNTS_QUEUE = 'accounts';

export const JOB_REFRESH = 'refresh';
export const JOB_SWEEP = 'sweep';
export const JOB_DEVICE_POLL = 'device-poll';
export const SWEEP_SCHEDULER_ID = 'accounts-sweep';

export interface RefreshJobData {
  accountId: string;
  dueAt: number;
}

export interface DevicePollJobData {
  loginId: string;
  attempt: number;
}

/** Job ids may not contain ':' (BullMQ); one id per account and due time, so re-adding the same schedule is a no-op. */
export function refreshJobId(accountId: string, dueAtMs: number): string {
  return `refresh-${accountId}-${dueAtMs}`;
}

export function devicePollJobId(loginId: string, attempt: number): string {
  return `device-${loginId}-${attempt}`;
}

/**
 * When the refresh of a token expiring at `expiresAt` is due: `lead` before its expiry — but a token refreshed at
 * `refreshedAt` that lives shorter than the lead would be due the moment it was issued (and refreshed again on
 * every use), so such a token is due at half its life instead.
 */
export function refreshDueAt(expiresAt: Date, leadSeconds: number, refreshedAt?: Date | null): number {
  const exp = expiresAt.getTime();
  let lead = leadSeconds * 1000;
  const from = refreshedAt?.getTime();
  if (from !== undefined && from < exp) lead = Math.min(lead, (exp - from) / 2);
  return exp - lead;
}
