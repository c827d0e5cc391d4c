import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from './api/client';

/**
 * Every react-query key of the web admin, in one place: a page that reads or invalidates data uses these, so
 * an invalidation cannot miss a query spelled differently elsewhere. A function's prefix (e.g. `keys.all`)
 * invalidates every variant of it.
 */
export const queryKeys = {
  setup: ['setup'],
  context: ['context'],
  signInMethods: ['sign-in-methods'],
  models: ['models'],
  users: ['users'],
  settings: ['settings'],
  accounts: ['accounts'],
  overview: ['overview'],
  keys: {
    all: ['keys'],
    /** Keys of one owner, or every key the caller may see (null). */
    of: (owner: string | null) => ['keys', owner],
  },
  audit: (filters: Record<string, unknown>) => ['audit', filters],
  usageSeries: (filters: Record<string, unknown>) => ['usage-series', filters],
  usageRequests: (filters: Record<string, unknown>) => ['usage-requests', filters],
  /** Equivalent cost grouped by user/key/model/account over a range. */
  usageCost: (filters: Record<string, unknown>) => ['usage-cost', filters],
  savings: ['savings'],
  userBudgets: ['user-budgets'],
  login: (loginId: string | undefined) => ['login', loginId],
  /** A user's own corner (null: the caller's). */
  corner: (userId: string | null, days: number) => ['corner', userId, days],
} as const;

/** The users list (admins only; pass `enabled: false` for members). */
export function useUsers(enabled = true) {
  return useQuery({
    queryKey: queryKeys.users,
    enabled,
    queryFn: () => unwrap(api.GET('/admin/api/users')),
  });
}

/** Model ids the gateway serves (for snippets and the allowed-models field). */
export function useServedModels(): string[] {
  const q = useQuery({
    queryKey: queryKeys.models,
    queryFn: () => unwrap(api.GET('/admin/api/ui/models')),
    staleTime: 300_000,
  });
  return q.data?.data ?? [];
}
