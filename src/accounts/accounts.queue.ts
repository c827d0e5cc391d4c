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
