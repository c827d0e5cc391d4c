/**
 * Refresh hygiene (issue 25 item 5): proactive refreshes of a pool are spread so that no two accounts refresh in
 * the same second — also after a restart or a Redis loss, when the sweep re-creates every job at once and tokens
 * imported together would otherwise all fire together (OmniRoute v3.8.44 citing CPA#2385).
 *
 * The rule only ever moves a refresh *later* than `refresh-due.ts` says, never earlier: never more often than the
 * CLI. Jobs are laid out in due order, each at least `gapMs` after the previous one; the order is deterministic
 * (due time, then id), so two replicas sweeping at once lay out the same plan.
 */
export const REFRESH_GAP_MS = 2_000;

export interface DueRefresh {
  id: string;
  dueAt: number;
}

/** When each refresh runs: max(its due time, now, the previous one's run + gap). */
export function spreadRefreshes(
  items: DueRefresh[],
  now: number,
  gapMs = REFRESH_GAP_MS,
): Map<string, number> {
  const sorted = [...items].sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out = new Map<string, number>();
  let prev = -Infinity;
  for (const it of sorted) {
    const at = Math.max(it.dueAt, now, prev + gapMs);
    out.set(it.id, at);
    prev = at;
  }
  return out;
}
