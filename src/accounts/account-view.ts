import type { AccountRow } from './accounts.repository.js';
import { describeHealth, type AccountHealthView } from './health-cause.js';
import { proxyView, type ProxyView } from './account-proxy.js';

/** What the admin API shows of an account: claims and state, never a token. */
export interface AccountView {
  id: string;
  label: string;
  enabled: boolean;
  status: string;
  statusReason: string | null;
  statusSince: string | null;
  /** The cause, in words, since when, and the fix (accounts/health-cause.ts). */
  health: AccountHealthView;
  /** How its upstream calls leave the gateway: scheme and host:port of its proxy, never a credential. */
  proxy: ProxyView;
  priority: number;
  weight: number;
  reservePercent: number;
  maxConcurrent: number | null;
  email: string | null;
  chatgptAccountId: string;
  chatgptUserId: string;
  planType: string | null;
  accessTokenExpiresAt: string | null;
  lastRefreshAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  cooldownUntil: string | null;
  usageSnapshot: unknown;
  usageSnapshotAt: string | null;
  createdAt: string;
  updatedAt: string;
  today: { requests: number; tokens: number };
}

export interface AccountPatch {
  label?: string;
  enabled?: boolean;
  priority?: number;
  weight?: number;
  reservePercent?: number;
  maxConcurrent?: number | null;
  /** `http://`, `https://` or `socks5://` URL, optional user:pass@ (stored sealed); null removes it. */
  proxyUrl?: string | null;
}

export interface ViewContext {
  /** Other accounts with the same proxy endpoint. */
  sharedWith?: string[];
  /** The gateway has HTTPS_PROXY/HTTP_PROXY (the default for accounts without their own). */
  envDefault?: boolean;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function toAccountView(
  r: AccountRow,
  today = { requests: 0, tokens: 0 },
  ctx: ViewContext = {},
): AccountView {
  return {
    id: r.id,
    label: r.label,
    enabled: r.enabled,
    status: r.status,
    statusReason: r.statusReason,
    statusSince: iso(r.statusSince),
    health: describeHealth(r, { proxyHost: r.proxyEndpoint }),
    proxy: proxyView(r.proxyEndpoint, ctx.sharedWith ?? [], ctx.envDefault ?? false),
    priority: r.priority,
    weight: r.weight,
    reservePercent: r.reservePercent,
    maxConcurrent: r.maxConcurrent,
    email: r.email,
    chatgptAccountId: r.chatgptAccountId,
    chatgptUserId: r.chatgptUserId,
    planType: r.planType,
    accessTokenExpiresAt: iso(r.accessTokenExpiresAt),
    lastRefreshAt: iso(r.lastRefreshAt),
    lastError: r.lastError,
    lastErrorAt: iso(r.lastErrorAt),
    cooldownUntil: iso(r.cooldownUntil),
    usageSnapshot: r.usageSnapshot ?? null,
    usageSnapshotAt: iso(r.usageSnapshotAt),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    today,
  };
}
