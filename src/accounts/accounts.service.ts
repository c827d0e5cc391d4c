import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { decodeTokenClaims } from './oauth/claims.js';
import { TokenRefreshService, type LoadedAccount } from './token-refresh.service.js';
import { AccountRefreshError, AccountUnavailableError, accountNotFound } from './account-errors.js';
import { OAuthClient } from './oauth/oauth-client.js';
import {
  AccountSource,
  type AccountCredentials,
  type AccountStatusValue,
  type PoolAccount,
} from './account-source.js';
import { AccountsRepository, type AccountRow, type AuditEntry } from './accounts.repository.js';
import { AccountEvents } from './account-events.js';
import { CredentialsCipher } from './credentials.js';
import { RefreshScheduler } from './refresh-scheduler.js';
import { isRefreshDue, type RefreshTiming } from './refresh-due.js';
import { unavailableDependency } from '../common/dependency-errors.js';
import type { Actor } from './actor.js';
import { toAccountView, type AccountPatch, type AccountView } from './account-view.js';
import { EgressDispatchers } from '../upstream/egress-dispatchers.js';
import { proxyColumns, sharing } from './account-proxy.js';

export interface LoginTokens {
  idToken: string;
  accessToken: string;
  refreshToken: string;
}

export type LoginVia = 'pkce' | 'device' | 'import' | 'cli';

interface CachedCredentials {
  accessToken: string;
  chatgptAccountId: string;
  installationId: string;
  proxyUrl: string | null;
  expiresAt: number | null;
  /** The due rule's input (`refresh-due.ts`): a short-lived token is due at half its life, not at once. */
  timing: RefreshTiming;
  status: string;
}

/** Minimum time between two usage-snapshot writes of one account. */
const SNAPSHOT_WRITE_INTERVAL_MS = 15_000;

/**
 * The accounts store and the gateway path's AccountSource. The routable list and the decrypted credentials are
 * cached in memory and dropped on an `accounts:changed` message (any process, any write), so the request path
 * makes no database query unless something changed.
 */
@Injectable()
export class AccountsService extends AccountSource {
  private readonly logger = new Logger('accounts');
  private routable: Promise<PoolAccount[]> | null = null;
  private readonly creds = new Map<string, CachedCredentials>();
  /** Last list and credentials read, kept across invalidations: served only while Postgres is unreachable. */
  private lastRoutable: PoolAccount[] | null = null;
  private readonly lastKnown = new Map<string, CachedCredentials>();
  private readonly snapshotWrittenAt = new Map<string, number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: AccountsRepository,
    private readonly cipher: CredentialsCipher,
    private readonly refresher: TokenRefreshService,
    private readonly events: AccountEvents,
    private readonly scheduler: RefreshScheduler,
    private readonly oauth: OAuthClient,
    private readonly egress: EgressDispatchers,
  ) {
    super();
    events.onChange((id) => {
      this.routable = null;
      if (id) this.creds.delete(id);
      else this.creds.clear();
    });
  }

  // ---- AccountSource (the gateway path) ----

  listRoutable(): Promise<PoolAccount[]> {
    if (!this.routable) {
      const p = this.repo.findRoutable().then(
        (rows) => (this.lastRoutable = rows.map((r) => ({ ...r }))),
        (err: unknown) => {
          if (this.lastRoutable && unavailableDependency(err) === 'postgres') return this.lastRoutable;
          throw err;
        },
      );
      this.routable = p;
      p.catch(() => {
        if (this.routable === p) this.routable = null;
      });
    }
    return this.routable;
  }

  private remember(l: LoadedAccount): CachedCredentials {
    const c: CachedCredentials = {
      accessToken: l.tokens.access_token,
      chatgptAccountId: l.row.chatgptAccountId,
      installationId: l.row.installationId,
      proxyUrl: this.refresher.proxyUrlOf(l.row),
      expiresAt: l.row.accessTokenExpiresAt?.getTime() ?? null,
      timing: { accessTokenExpiresAt: l.row.accessTokenExpiresAt, lastRefreshAt: l.row.lastRefreshAt },
      status: l.row.status,
    };
    this.creds.set(l.row.id, c);
    this.lastKnown.set(l.row.id, c);
    return c;
  }

  private asCredentials(id: string, c: CachedCredentials): AccountCredentials {
    return {
      accountId: id,
      accessToken: c.accessToken,
      chatgptAccountId: c.chatgptAccountId,
      installationId: c.installationId,
      proxyUrl: c.proxyUrl,
    };
  }

  async getCredentials(accountId: string): Promise<AccountCredentials> {
    let c = this.creds.get(accountId);
    if (!c) {
      try {
        c = this.remember(await this.refresher.load(accountId));
      } catch (err) {
        // Postgres unreachable: keep serving with the last credentials read while they are valid.
        const known = this.lastKnown.get(accountId);
        if (
          !known ||
          unavailableDependency(err) !== 'postgres' ||
          (known.expiresAt ?? Infinity) <= Date.now()
        )
          throw err;
        c = known;
      }
    }
    if (c.status !== 'active') throw new AccountUnavailableError(accountId, c.status);
    if (!isRefreshDue(c.timing, this.config.REFRESH_LEAD_SECONDS)) return this.asCredentials(accountId, c);
    try {
      return this.asCredentials(
        accountId,
        this.remember(await this.refresher.refresh(accountId, { kind: 'due' }, 'proactive_expiry')),
      );
    } catch (err) {
      // A transient failure while the token is still valid: keep using it (the worker retries).
      if (
        ((err instanceof AccountRefreshError && !err.permanent) || unavailableDependency(err)) &&
        c.expiresAt !== null &&
        c.expiresAt > Date.now()
      ) {
        return this.asCredentials(accountId, c);
      }
      throw err;
    }
  }

  async reloadCredentials(accountId: string): Promise<AccountCredentials> {
    const c = this.remember(await this.refresher.load(accountId));
    if (c.status !== 'active') throw new AccountUnavailableError(accountId, c.status);
    return this.asCredentials(accountId, c);
  }

  async refreshAfterUnauthorized(accountId: string, staleAccessToken: string): Promise<AccountCredentials> {
    const l = await this.refresher.refresh(
      accountId,
      { kind: 'stale', token: staleAccessToken },
      'unauthorized_recovery',
    );
    return this.asCredentials(accountId, this.remember(l));
  }

  async markStatus(
    accountId: string,
    status: AccountStatusValue,
    reason: string,
    actor: Actor = { type: 'system' },
  ): Promise<void> {
    const before = await this.repo.findById(accountId);
    if (!before) throw accountNotFound(accountId);
    if (before.status === status && before.statusReason === reason) return;
    await this.repo.setStatus(accountId, status, reason);
    await this.audit(actor, 'account.status_changed', accountId, { from: before.status, to: status, reason });
    await this.events.publish(accountId);
    if (status === 'active') await this.scheduler.schedule(accountId, before).catch(() => null);
  }

  async recordUsageLimit(accountId: string, untilMs: number): Promise<void> {
    await this.repo
      .update(accountId, {
        cooldownUntil: new Date(untilMs),
        lastError: 'usage limit reached',
        lastErrorAt: new Date(),
      })
      .catch((err: Error) =>
        this.logger.warn({ accountId, err: err.message }, 'could not record the usage-limit cooldown'),
      );
  }

  async recordUsageSnapshot(accountId: string, snapshot: Record<string, unknown>): Promise<void> {
    const now = Date.now();
    if (now - (this.snapshotWrittenAt.get(accountId) ?? 0) < SNAPSHOT_WRITE_INTERVAL_MS) return;
    this.snapshotWrittenAt.set(accountId, now);
    try {
      await this.repo.update(accountId, {
        usageSnapshot: snapshot as object,
        usageSnapshotAt: new Date(now),
      });
    } catch (err) {
      this.logger.warn({ accountId, err: (err as Error).message }, 'could not store usage snapshot');
    }
  }

  // ---- logins ----

  /**
   * Stores the tokens of a completed login (PKCE, device, import, CLI). The same ChatGPT account and user logged in
   * again updates the existing row (new tokens, status active again).
   */
  async saveLogin(
    tokens: LoginTokens,
    via: LoginVia,
    actor: Actor,
    opts: {
      accountIdHint?: string | null;
      lastRefresh?: Date | null;
      label?: string;
      /** Given at login/import time: stored (sealed) with the account; undefined keeps the existing one. */
      proxyUrl?: string | null;
    } = {},
  ): Promise<{ account: AccountView; created: boolean }> {
    const claims = decodeTokenClaims(tokens.idToken, tokens.accessToken);
    const chatgptAccountId = claims.chatgptAccountId ?? opts.accountIdHint ?? null;
    if (!chatgptAccountId) {
      throw ApiError.badRequest(
        'The tokens carry no ChatGPT account id (claim https://api.openai.com/auth.chatgpt_account_id).',
        null,
        'missing_account_id',
      );
    }
    const chatgptUserId = claims.chatgptUserId ?? '';
    // Both ids go into upstream headers and Redis keys: printable ASCII only (a CR/LF would split a header).
    for (const [param, v] of [
      ['chatgpt_account_id', chatgptAccountId],
      ['chatgpt_user_id', chatgptUserId],
    ] as const) {
      if (v && !/^[\x21-\x7e]{1,200}$/.test(v))
        throw ApiError.badRequest(`The token claim ${param} is not a valid id.`, null, 'invalid_claims');
    }
    for (let attempt = 0; ; attempt++) {
      const existing = await this.repo.findByIdentity(chatgptAccountId, chatgptUserId);
      const id = existing?.id ?? randomUUID();
      const sealed = this.cipher.seal(id, {
        access_token: tokens.accessToken,
        refresh_token: tokens.refreshToken,
        id_token: tokens.idToken,
      });
      const common = {
        credentials: sealed.data,
        credentialsKeyId: sealed.keyId,
        email: claims.email,
        planType: claims.planType,
        accessTokenExpiresAt: claims.accessTokenExpiresAt,
        lastRefreshAt: opts.lastRefresh ?? new Date(),
        status: 'active' as const,
        statusReason: null,
        statusSince: new Date(),
        cooldownUntil: null,
        lastError: null,
        lastErrorAt: null,
        ...(opts.proxyUrl !== undefined ? proxyColumns(this.cipher, id, opts.proxyUrl) : {}),
      };
      let row: AccountRow;
      try {
        row = existing
          ? await this.repo.update(id, {
              ...common,
              ...(opts.label !== undefined ? { label: opts.label } : {}),
            })
          : await this.repo.create({
              id,
              label: opts.label ?? claims.email ?? chatgptAccountId,
              chatgptAccountId,
              chatgptUserId,
              ...common,
            });
      } catch (err) {
        // Two logins of the same new account at once: the loser updates the winner's row.
        if (!existing && attempt === 0 && (err as { code?: string }).code === 'P2002') continue;
        throw err;
      }
      await this.audit(actor, existing ? 'account.relogin' : 'account.login', id, {
        via,
        email: claims.email,
        planType: claims.planType,
        chatgptAccountId,
        ...(opts.proxyUrl !== undefined ? { proxy: row.proxyEndpoint } : {}),
      });
      if (existing && existing.status !== 'active') {
        await this.audit(actor, 'account.status_changed', id, {
          from: existing.status,
          to: 'active',
          reason: `new login (${via})`,
        });
      }
      await this.events.publish(id);
      await this.scheduler.schedule(id, row).catch((err) => {
        this.logger.warn(
          { accountId: id, err: (err as Error).message },
          'could not schedule refresh (the sweep will)',
        );
      });
      return { account: await this.get(id), created: !existing };
    }
  }

  // ---- admin ----

  /** Drops every process's cached accounts (after a bulk change such as a re-encryption). */
  async markAllChanged(): Promise<void> {
    await this.events.publish(null);
  }

  private startOfTodayUtc(): Date {
    const d = new Date();
    d.setUTCHours(0, 0, 0, 0);
    return d;
  }

  async list(): Promise<AccountView[]> {
    const [rows, usage] = await Promise.all([
      this.repo.findAll(),
      this.repo.usageSince(this.startOfTodayUtc()),
    ]);
    const shared = sharing(rows);
    const envDefault = this.egress.usesEnvDefault;
    return rows.map((r) => toAccountView(r, usage.get(r.id), { sharedWith: shared(r), envDefault }));
  }

  async get(id: string): Promise<AccountView> {
    const row = await this.repo.findById(id);
    if (!row) throw accountNotFound(id);
    const [usage, peers] = await Promise.all([
      this.repo.usageSince(this.startOfTodayUtc()),
      row.proxyEndpoint ? this.repo.findByProxyEndpoint(row.proxyEndpoint) : Promise.resolve([]),
    ]);
    return toAccountView(row, usage.get(id), {
      sharedWith: sharing(peers)(row),
      envDefault: this.egress.usesEnvDefault,
    });
  }

  async patch(id: string, patch: AccountPatch, actor: Actor): Promise<AccountView> {
    const before = await this.repo.findById(id);
    if (!before) throw accountNotFound(id);
    const { proxyUrl, ...rest } = patch;
    const proxy = proxyUrl !== undefined ? proxyColumns(this.cipher, id, proxyUrl) : null;
    // A new or removed proxy gives an account that was out for its proxy a fresh start (audited below).
    const revive = proxy !== null && before.status === 'proxy_unreachable';
    const row = await this.repo.update(id, {
      ...rest,
      ...(proxy ?? {}),
      ...(revive ? { status: 'active' as const, statusReason: null, statusSince: new Date() } : {}),
    });
    // Audited without the credential: the endpoint (scheme://host:port) or null.
    await this.audit(actor, 'account.updated', id, {
      ...rest,
      ...(proxy ? { proxy: proxy.proxyEndpoint } : {}),
    });
    if (revive)
      await this.audit(actor, 'account.status_changed', id, {
        from: before.status,
        to: 'active',
        reason: 'proxy changed',
      });
    await this.events.publish(id);
    if (patch.enabled === true && !before.enabled) await this.scheduler.schedule(id, row).catch(() => null);
    return this.get(row.id);
  }

  async remove(id: string, actor: Actor, revoke = true): Promise<{ deleted: true; revoked: boolean }> {
    const row = await this.repo.findById(id);
    if (!row) throw accountNotFound(id);
    let revoked = false;
    if (revoke) {
      try {
        revoked = await this.oauth.revoke(
          this.cipher.open(row.id, row.credentials, row.credentialsKeyId).refresh_token,
          { accountId: null, proxyUrl: this.refresher.proxyUrlOf(row) },
        );
      } catch {
        revoked = false;
      }
    }
    await this.repo.delete(id);
    this.egress.forget(id);
    await this.scheduler.unschedule(id).catch(() => null);
    await this.audit(actor, 'account.deleted', id, {
      email: row.email,
      chatgptAccountId: row.chatgptAccountId,
      revoked,
    });
    await this.events.publish(id);
    return { deleted: true, revoked };
  }

  /** The stored proxy URL of an account (a re-login's code exchange goes through it); null without one. */
  async proxyUrlOfAccount(id: string): Promise<string | null> {
    const row = await this.repo.findById(id);
    return row ? this.refresher.proxyUrlOf(row) : null;
  }

  /** "Refresh now": refreshes unless someone replaced the current token meanwhile. */
  async refreshNow(id: string, actor: Actor): Promise<AccountView> {
    const cur = await this.refresher.load(id);
    await this.audit(actor, 'account.refresh_requested', id, {});
    await this.refresher.refresh(id, { kind: 'stale', token: cur.tokens.access_token }, 'proactive_expiry');
    return this.get(id);
  }

  private async audit(
    actor: Actor,
    action: string,
    targetId: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    const entry: AuditEntry = { actorType: actor.type, actorId: actor.id ?? null, action, targetId, details };
    try {
      await this.repo.audit(entry);
    } catch (err) {
      this.logger.warn({ action, targetId, err: (err as Error).message }, 'could not write audit row');
    }
  }
}
