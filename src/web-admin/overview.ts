import type { UsageState, UsageWindow } from '../accounts/pool/usage-state.js';
import type { OverviewDto, PoolAccountDto, TrafficDto, UsageWindowDto, WindowForecastDto } from './dto.js';

/** One account as the overview query reads it (no secret column). */
export interface OverviewAccountRow {
  id: string;
  label: string;
  email: string | null;
  planType: string | null;
  enabled: boolean;
  status: string;
  statusReason: string | null;
  accessTokenExpiresAt: Date | null;
  lastRefreshAt: Date | null;
  lastError: string | null;
  cooldownUntil: Date | null;
  usageSnapshot: unknown;
  usageSnapshotAt: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A usage-limit window from the stored snapshot, or null when it is missing or malformed. */
export function windowOf(w: unknown): UsageWindowDto | null {
  if (!w || typeof w !== 'object') return null;
  const o = w as { usedPercent?: unknown; windowMinutes?: unknown; resetsAt?: unknown };
  if (typeof o.usedPercent !== 'number') return null;
  return {
    usedPercent: o.usedPercent,
    windowMinutes: typeof o.windowMinutes === 'number' ? o.windowMinutes : null,
    resetsAt: typeof o.resetsAt === 'number' ? new Date(o.resetsAt).toISOString() : null,
  };
}

/** A window of the pool's usage state, as the overview shows it (0 % once its reset time passed). */
export function stateWindow(w: UsageWindow | null | undefined, now: number): UsageWindowDto | null {
  if (!w) return null;
  const reset = w.resetsAt !== null && w.resetsAt <= now;
  return {
    usedPercent: reset ? 0 : w.usedPercent,
    windowMinutes: Math.round(w.windowSeconds / 60),
    resetsAt: w.resetsAt !== null && !reset ? new Date(w.resetsAt).toISOString() : null,
    asOf: new Date(w.asOf).toISOString(),
  };
}

/** The state the overview shows for an account at `now` (ms). */
export function accountState(r: OverviewAccountRow, now: number): PoolAccountDto['state'] {
  if (!r.enabled) return 'disabled';
  if (r.status === 'needs_reauth') return 'needs_reauth';
  // Out of the pool for a stored cause the Accounts page names (deactivated, proxy_unreachable, unusable).
  if (r.status !== 'active') return 'unusable';
  if (r.cooldownUntil && r.cooldownUntil.getTime() > now) return 'cooling_down';
  return 'healthy';
}

/**
 * One account's line. Its windows come from the pool's usage state (polled from wham/usage and fed by every
 * answer) first, else from the stored snapshot of the last answer's headers.
 */
export function poolAccount(r: OverviewAccountRow, now: number, usage?: UsageState): PoolAccountDto {
  const snap = (r.usageSnapshot ?? null) as { short?: unknown; long?: unknown } | null;
  const state = accountState(r, now);
  return {
    id: r.id,
    label: r.label,
    email: r.email,
    planType: r.planType,
    state,
    statusReason: r.statusReason,
    cooldownUntil: state === 'cooling_down' ? iso(r.cooldownUntil) : null,
    accessTokenExpiresAt: iso(r.accessTokenExpiresAt),
    lastRefreshAt: iso(r.lastRefreshAt),
    lastError: r.lastError,
    short: stateWindow(usage?.short, now) ?? windowOf(snap?.short),
    long: stateWindow(usage?.weekly, now) ?? windowOf(snap?.long),
    usageSnapshotAt: iso(r.usageSnapshotAt),
  };
}

const nameOf = (p: PoolAccountDto) => p.label || p.email || p.id.slice(0, 8);

/** What needs the admin, most urgent first. */
export function actionsFor(pool: PoolAccountDto[], now: number): OverviewDto['actions'] {
  const actions: OverviewDto['actions'] = [];
  if (!pool.length)
    actions.push({
      kind: 'add_account',
      accountId: null,
      message: 'No subscription account yet: add one so keys can be served.',
    });
  for (const p of pool) {
    if (p.state === 'needs_reauth')
      actions.push({
        kind: 'reauth',
        accountId: p.id,
        message: `${nameOf(p)} needs to be logged in again (its refresh token no longer works).`,
      });
    else if (p.state === 'unusable')
      actions.push({
        kind: 'unusable',
        accountId: p.id,
        message: `${nameOf(p)} cannot serve requests${p.statusReason ? ` (${p.statusReason})` : ''}.`,
      });
    else if (
      p.state !== 'disabled' &&
      p.lastError &&
      p.accessTokenExpiresAt &&
      Date.parse(p.accessTokenExpiresAt) < now
    )
      actions.push({
        kind: 'refresh_failing',
        accountId: p.id,
        message: `${nameOf(p)}: its access token expired and the last refresh failed.`,
      });
  }
  const has = (s: PoolAccountDto['state']) => pool.some((p) => p.state === s);
  if (has('cooling_down') && !has('healthy'))
    actions.push({
      kind: 'all_cooling',
      accountId: null,
      message: 'Every usable account is cooling down: requests fail until the soonest reset.',
    });
  return actions;
}

/** The overview page: pool counts, the last hour's traffic, the soonest reset and what needs action. */
export function buildOverview(
  rows: OverviewAccountRow[],
  lastHour: TrafficDto,
  now: number,
  states: Map<string, UsageState> = new Map(),
  forecast: WindowForecastDto[] = [],
): OverviewDto {
  const pool = rows.map((r) => poolAccount(r, now, states.get(r.id)));
  const count = (s: PoolAccountDto['state']) => pool.filter((p) => p.state === s).length;
  const accounts = {
    total: pool.length,
    healthy: count('healthy'),
    coolingDown: count('cooling_down'),
    needsReauth: count('needs_reauth'),
    disabled: count('disabled'),
    unusable: count('unusable'),
  };
  const resets = pool
    .flatMap((p) => [p.cooldownUntil, p.short?.resetsAt ?? null, p.long?.resetsAt ?? null])
    .filter((t): t is string => !!t && Date.parse(t) > now)
    .sort();
  return {
    accounts,
    lastHour,
    soonestReset: resets[0] ?? null,
    actions: actionsFor(pool, now),
    pool,
    forecast,
  };
}
