import { RESET_GRACE_MS, usedNow, type UsageState } from './usage-state.js';

/**
 * When to read an account's `wham/usage` next (pure; the poller and its tests use it):
 * - every POLL_BASE_MS, each delay jittered by ±25 % so accounts imported together drift apart (never lockstep);
 * - every POLL_NEAR_MS while a window is at or above NEAR_LINE_PERCENT of its owner's line (it may run out);
 * - right after a window's reset time (RESET_GRACE_MS plus a few jittered seconds): an early or on-time reset is
 *   seen at once and the account takes work again;
 * - after a failed poll, POLL_FAILED_MS (the snapshot only ages; nothing else happens).
 */
export const POLL_BASE_MS = 5 * 60_000;
export const POLL_NEAR_MS = 60_000;
export const POLL_FAILED_MS = 2 * 60_000;
export const NEAR_LINE_PERCENT = 85;
/** Jitter: each delay is multiplied by a factor in [1 − JITTER, 1 + JITTER). */
export const JITTER = 0.25;

export function nextPollDelay(
  state: UsageState | null,
  now: number,
  rand: number,
  opts: { failed?: boolean; reservePercent?: number } = {},
): number {
  const jitter = (ms: number) => Math.round(ms * (1 - JITTER + 2 * JITTER * rand));
  if (opts.failed) return jitter(POLL_FAILED_MS);
  const line = 100 - (opts.reservePercent ?? 0);
  const windows = state ? [state.short, state.weekly] : [];
  const near = windows.some((w) => (usedNow(w, now) ?? 0) >= (line * NEAR_LINE_PERCENT) / 100);
  let delay = jitter(near ? POLL_NEAR_MS : POLL_BASE_MS);
  for (const w of windows) {
    if (!w || w.resetsAt === null || w.resetsAt <= now) continue;
    const afterReset = w.resetsAt - now + RESET_GRACE_MS + Math.round(1000 + 4000 * rand);
    if (afterReset < delay) delay = afterReset;
  }
  return delay;
}

/** The first poll of an account the worker just learned of (import, login, start): within a few seconds. */
export function firstPollDelay(rand: number): number {
  return Math.round(250 + 2750 * rand);
}
