import { NumberInput, SimpleGrid, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap, type KeyLimits } from '../api/client';
import { queryKeys } from '../queries';
import { compact, usd } from '../format';

/** Limits of a key, or of a user (shared by all their keys): the form fields and the compact text of a row. */

/** A limit as it is being typed: a number, '' for "no limit", or what else the input holds (0, -5, too large). */
type LimitDraft = number | string;

const LIMIT_FIELDS: [keyof KeyLimits, string][] = [
  ['rpm', 'Requests per minute'],
  ['tpm', 'Tokens per minute'],
  ['dailyTokenQuota', 'Tokens per day'],
  ['monthlyTokenQuota', 'Tokens per month'],
  ['monthlyBudgetUsd', 'Budget per month (USD, equivalent API cost)'],
];

const NO_LIMITS: KeyLimits = {
  rpm: null,
  tpm: null,
  dailyTokenQuota: null,
  monthlyTokenQuota: null,
  monthlyBudgetUsd: null,
};

/** Why a typed limit is not valid, or null. Upper bounds are the server's (its 400 shows in FormActions). */
function limitError(k: keyof KeyLimits, v: LimitDraft): string | null {
  if (v === '') return null;
  if (k === 'monthlyBudgetUsd') {
    if (typeof v === 'number' && v > 0 && Math.abs(Math.round(v * 1e6) - v * 1e6) < 1e-6) return null;
    return 'Enter an amount in USD above 0 (at most 6 decimals), or leave it empty for no budget';
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) return null;
  return 'Enter a whole number of 1 or more, or leave it empty for no limit';
}

/**
 * The four limit inputs of a key or a user (empty = no limit), each with its own validation message, and their
 * state: `limits` is what to send (nulls for empty fields), or null while a field is invalid.
 */
export function useLimitForm(initial: KeyLimits = NO_LIMITS, opts: { autoFocus?: boolean } = {}) {
  const draftOf = (l: KeyLimits) =>
    Object.fromEntries(LIMIT_FIELDS.map(([k]) => [k, l[k] ?? ''])) as Record<keyof KeyLimits, LimitDraft>;
  const [draft, setDraft] = useState(() => draftOf(initial));
  const valid = LIMIT_FIELDS.every(([k]) => !limitError(k, draft[k]));
  const limits = valid
    ? (Object.fromEntries(
        LIMIT_FIELDS.map(([k]) => [k, draft[k] === '' ? null : Number(draft[k])]),
      ) as unknown as KeyLimits)
    : null;
  const fields = (
    <SimpleGrid cols={{ base: 1, xs: 2 }}>
      {LIMIT_FIELDS.map(([k, label], i) => (
        <NumberInput
          key={k}
          label={label}
          placeholder="no limit"
          min={k === 'monthlyBudgetUsd' ? 0 : 1}
          allowDecimal={k === 'monthlyBudgetUsd'}
          decimalScale={k === 'monthlyBudgetUsd' ? 6 : undefined}
          clampBehavior="none"
          thousandSeparator=","
          value={draft[k]}
          error={limitError(k, draft[k])}
          onChange={(v) => setDraft((d) => ({ ...d, [k]: v }))}
          data-autofocus={opts.autoFocus && i === 0 ? true : undefined}
        />
      ))}
    </SimpleGrid>
  );
  return { limits, fields, reset: () => setDraft(draftOf(initial)) };
}

/** "60 req/min · 100K tok/day", or "No limits". */
export function limitsText(l: KeyLimits): string {
  const parts = [
    l.rpm && `${compact(l.rpm)} req/min`,
    l.tpm && `${compact(l.tpm)} tok/min`,
    l.dailyTokenQuota && `${compact(l.dailyTokenQuota)} tok/day`,
    l.monthlyTokenQuota && `${compact(l.monthlyTokenQuota)} tok/month`,
    l.monthlyBudgetUsd && `${usd(l.monthlyBudgetUsd)}/month`,
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : 'No limits';
}

/** "$1.20 spent this month of $10.00 ($8.80 left)": a key's or user's equivalent spend against its budget. */
export function BudgetSpend({ spent, budget }: { spent: number; budget: number | null | undefined }) {
  const left = budget ? Math.max(0, Math.round((budget - spent) * 1e6) / 1e6) : null;
  return (
    <Text size="xs" c={left === 0 ? 'red.9' : 'gray.7'} data-testid="budget-spend">
      {usd(spent)} spent this month{budget ? ` of ${usd(budget)} (${usd(left)} left)` : ''}
    </Text>
  );
}

/** A user's spend this month against the user's budget (only users with a budget are counted). */
export function UserBudgetSpend({ userId, budget }: { userId: string; budget: number | null | undefined }) {
  const q = useQuery({
    queryKey: queryKeys.userBudgets,
    enabled: !!budget,
    queryFn: () => unwrap(api.GET('/admin/api/usage/budgets')),
    refetchInterval: 30_000,
  });
  if (!budget) return null;
  const b = q.data?.data.find((x) => x.userId === userId);
  return <BudgetSpend spent={b?.spentUsd ?? 0} budget={budget} />;
}
