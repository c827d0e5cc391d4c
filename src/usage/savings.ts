import { picoToUsd } from '../pricing/price-math.js';

/** [first of month, first of next month) in UTC for 'YYYY-MM'. */
export function monthRange(month: string): { month: string; from: Date; to: Date } {
  const [y, m] = month.split('-').map(Number);
  return { month, from: new Date(Date.UTC(y, m - 1, 1)), to: new Date(Date.UTC(y, m, 1)) };
}

export interface AccountPrice {
  id: string;
  label: string;
  plan: string | null;
  enabled: boolean;
  monthly_usd: number | null;
  monthly_origin: 'account' | 'plan' | null;
}

export interface CostGroup {
  group: string | null;
  requests: number;
  cost_usd: number;
  unpriced_requests: number;
}

const cents = (usd: number) => BigInt(Math.round(usd * 100)) * 10_000_000_000n; // → pico-dollars

/**
 * Equivalent cost vs subscription price per account and in total. Accounts count when enabled or when they
 * served requests that month. `complete` is false when an account has no known monthly price or requests had
 * no price: the totals then leave those out (they are never guessed). Pure.
 */
export function savings(
  range: { month: string; from: Date; to: Date },
  byAccount: CostGroup[],
  accounts: AccountPrice[],
) {
  const used = new Map(byAccount.map((g) => [g.group, g]));
  let cost = 0n;
  let subs = 0n;
  let unpriced = 0;
  let complete = true;
  const rows = accounts
    .filter((a) => a.enabled || used.has(a.id))
    .map((a) => {
      const g = used.get(a.id);
      const c = BigInt(Math.round((g?.cost_usd ?? 0) * 1e6)) * 1_000_000n; // micro → pico-dollars
      cost += c;
      unpriced += g?.unpriced_requests ?? 0;
      if (a.monthly_usd === null) complete = false;
      else subs += cents(a.monthly_usd);
      return {
        id: a.id,
        label: a.label,
        plan: a.plan,
        monthly_usd: a.monthly_usd,
        monthly_origin: a.monthly_origin,
        requests: g?.requests ?? 0,
        equivalent_cost_usd: picoToUsd(c),
        unpriced_requests: g?.unpriced_requests ?? 0,
      };
    });
  // Requests no account served (refused before an account was picked) cost nothing upstream; unpriced ones count.
  if (unpriced > 0) complete = false;
  return {
    month: range.month,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    currency: 'USD',
    equivalent_cost_usd: picoToUsd(cost),
    subscriptions_usd: picoToUsd(subs),
    saved_usd: picoToUsd(cost - subs),
    unpriced_requests: unpriced,
    complete,
    accounts: rows,
  };
}
