import type { PoolAccount } from '../account-source.js';
import { scoreAccounts, type ScoreCandidate, type ScoreContext } from './score.js';

/**
 * The pure routing choice. `available` are the accounts not cooling down and not yet tried for this request.
 * - a sticky account (same prompt_cache_key/session) wins while it is available: upstream prompt caching is per
 *   account;
 * - `least-used`: most headroom by the latest used-percent snapshot, then fewest in-flight requests;
 * - `round-robin`: the `counter`-th available account;
 * - `priority`: highest priority, then weighted by `weight` (random draw `rand` in [0,1));
 * - `score` (the default): score.ts decides everything, the sticky account included (it stays unless it cannot
 *   serve the next turn or is near its line).
 */
export type PoolStrategy = 'score' | 'least-used' | 'round-robin' | 'priority';

export interface Candidate extends PoolAccount, ScoreCandidate {
  inFlight: number;
  usedPercent: number | null;
}

export function chooseAccount(
  available: Candidate[],
  strategy: PoolStrategy,
  opts: { stickyId?: string | null; counter?: number; rand?: number } & Partial<ScoreContext> = {},
): Candidate | null {
  if (available.length === 0) return null;
  if (strategy === 'score') return scoreAccounts(available, { ...opts, now: opts.now ?? Date.now() }).chosen;
  if (opts.stickyId) {
    const s = available.find((a) => a.id === opts.stickyId);
    if (s) return s;
  }
  const byId = [...available].sort((a, b) => a.id.localeCompare(b.id));
  switch (strategy) {
    case 'round-robin':
      return byId[(opts.counter ?? 0) % byId.length];
    case 'priority': {
      const top = Math.max(...byId.map((a) => a.priority));
      const tier = byId.filter((a) => a.priority === top);
      const total = tier.reduce((s, a) => s + Math.max(1, a.weight), 0);
      let x = (opts.rand ?? Math.random()) * total;
      for (const a of tier) {
        x -= Math.max(1, a.weight);
        if (x < 0) return a;
      }
      return tier[tier.length - 1];
    }
    default:
      return [...byId].sort(
        (a, b) => (a.usedPercent ?? 0) - (b.usedPercent ?? 0) || a.inFlight - b.inFlight,
      )[0];
  }
}
