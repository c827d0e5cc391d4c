import type { ExclusionReason } from './score.js';
import type { Candidate } from './pool-choice.js';

/** `until:setAt` (epoch ms); a bare number (written before leases/usage state) is `until` alone. */
export function parseCooldown(v: string | null): { until: number; setAt: number } | null {
  if (!v) return null;
  const [until, setAt] = v.split(':').map(Number);
  return Number.isFinite(until) ? { until, setAt: Number.isFinite(setAt) ? setAt : 0 } : null;
}

/**
 * When the first of the accounts left out for a usage reason takes work again: a cooldown's end, or for a window
 * at its limit or its owner's line, that window's reset (the latest such window of the account). Null when none
 * was left out for usage (e.g. only a concurrency cap).
 */
export function soonestBack(
  candidates: Candidate[],
  excluded: { id: string; reason: ExclusionReason }[],
  now: number,
): number | null {
  let soonest = Infinity;
  for (const e of excluded) {
    const c = candidates.find((x) => x.id === e.id);
    if (!c) continue;
    if (e.reason === 'cooling' && c.cooldown) soonest = Math.min(soonest, c.cooldown.until);
    if ((e.reason === 'at_limit' || e.reason === 'reserve') && c.usage) {
      const line = 100 - (c.reservePercent ?? 0);
      const over = [c.usage.short, c.usage.weekly].filter((w) => w && w.usedPercent >= line);
      const back = Math.max(...over.map((w) => w?.resetsAt ?? now + 60_000));
      if (Number.isFinite(back)) soonest = Math.min(soonest, back);
    }
  }
  return soonest === Infinity ? null : soonest;
}
