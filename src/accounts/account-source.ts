/**
 * CONTRACT between the accounts module (owner of stored subscription accounts, their encrypted tokens and their
 * refresh) and the gateway path (pool routing, upstream client). The accounts module provides it:
 *   { provide: AccountSource, useExisting: AccountsService }  in a @Global() AccountsModule.
 * Stored credential format (accounts.credentials): KeyRing.seal(JSON.stringify({access_token, refresh_token,
 * id_token}), aad = account id), key id in accounts.credentialsKeyId.
 */
export interface PoolAccount {
  id: string;
  label: string;
  priority: number;
  weight: number;
  planType: string | null;
  chatgptAccountId: string;
  /** The owner's reserve: no new work at used % ≥ 100 − reservePercent in either window (0–90). */
  reservePercent?: number;
  /** At most this many requests in flight on the account (null: no cap). */
  maxConcurrent?: number | null;
}

export interface AccountCredentials {
  accountId: string;
  accessToken: string;
  chatgptAccountId: string;
  /** This account's own device identity toward the upstream (never a client's, never another account's). */
  installationId: string;
  /** The account's egress proxy URL (secret: for its dispatcher only), null for the gateway's default egress. */
  proxyUrl: string | null;
}

export type AccountStatusValue = 'active' | 'needs_reauth' | 'unusable' | 'deactivated' | 'proxy_unreachable';

export abstract class AccountSource {
  /** Accounts the pool may route to: enabled and status active. Cached in memory (no DB query per request). */
  abstract listRoutable(): Promise<PoolAccount[]>;
  /** Decrypted credentials; refreshes first (single flight, Redis lock) when the token expires within the lead. */
  abstract getCredentials(accountId: string): Promise<AccountCredentials>;
  /**
   * After a first upstream 401: the stored credentials, read again from the database (another process may have
   * refreshed them), without refreshing — the Codex CLI's first recovery step (docs/upstream-protocol.md §3).
   */
  abstract reloadCredentials(accountId: string): Promise<AccountCredentials>;
  /**
   * After a second upstream 401: refresh under the account's lock unless someone already replaced `staleAccessToken`,
   * then return the current credentials. Throws when the refresh fails (the account is then marked needs_reauth
   * if the failure is permanent).
   */
  abstract refreshAfterUnauthorized(accountId: string, staleAccessToken: string): Promise<AccountCredentials>;
  /** Status change decided by the gateway path (e.g. `unusable` on usage_not_included), audited. */
  abstract markStatus(accountId: string, status: AccountStatusValue, reason: string): Promise<void>;
  /** The account hit its usage limit and cools down until `untilMs`: stored so the admin API can name the cause. */
  abstract recordUsageLimit(accountId: string, untilMs: number): Promise<void>;
  /** Latest usage-limit snapshot from upstream headers/events (throttled write, never on the hot path). */
  abstract recordUsageSnapshot(accountId: string, snapshot: Record<string, unknown>): Promise<void>;
}
