import type { ExclusionReason, ScoreResult } from './score.js';
import { windowViews, type UsageState } from './usage-state.js';

/**
 * Why a conversation left its sticky account (the prompt cache lives there only), one reason per move:
 * - `failover`: the sticky account was tried for this request and failed (refused, broken);
 * - an exclusion of the score's hard rules (`at_limit`, `reserve`, `max_concurrent`, `cooling`): forced;
 * - `near_line`: it could not serve the next turn (the cache part is off), so another account was better;
 * - `not_routable`: disabled, unhealthy or cooling without a usage state;
 * - `outscored`: it could serve and still lost (should not happen with the default weights: a bug to look at).
 * Counted per process in `cg_pool_conversation_moves_total{reason}`; the pool e2e prints them.
 */
export type MoveReason = ExclusionReason | 'failover' | 'near_line' | 'not_routable' | 'outscored';

export function moveReason(stickyId: string, tried: Set<string>, scored: ScoreResult): MoveReason {
  if (tried.has(stickyId)) return 'failover';
  const ex = scored.excluded.find((e) => e.id === stickyId);
  if (ex) return ex.reason;
  const ranked = scored.ranked.find((s) => s.id === stickyId);
  if (!ranked) return 'not_routable';
  return ranked.parts.cache > 0 ? 'outscored' : 'near_line';
}

/**
 * An account the hard rules left out only because of the requests its last report does not show (pending.ts):
 * the report itself has every window below the owner's line. A fresh `wham/usage` read (no request spent) tells.
 */
export function unsureOfLimit(
  reported: UsageState | null | undefined,
  reason: ExclusionReason,
  now: number,
  reservePercent: number,
): boolean {
  if (!reported || (reason !== 'at_limit' && reason !== 'reserve')) return false;
  const views = windowViews(reported, now, reservePercent);
  return views.length > 0 && views.every((v) => v.used < v.line);
}
