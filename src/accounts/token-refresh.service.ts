import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { RedisService } from '../redis/redis.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RedisLock } from '../redis/lock.js';
import { AccountsRepository, type AccountRow } from './accounts.repository.js';
import { CredentialsCipher, type StoredTokens } from './credentials.js';
import { AccountEvents } from './account-events.js';
import { RefreshScheduler } from './refresh-scheduler.js';
import { isRefreshDue } from './refresh-due.js';
import { OAuthClient, type RefreshReason } from './oauth/oauth-client.js';
import { decodeTokenClaims } from './oauth/claims.js';
import type { RefreshFailure } from './oauth/refresh-errors.js';
import { openProxyUrl } from './account-proxy.js';
import { AccountRefreshError, AccountUnavailableError, accountNotFound } from './account-errors.js';

export interface LoadedAccount {
  row: AccountRow;
  tokens: StoredTokens;
}

/**
 * When a refresh is wanted:
 * - `due`: the stored access token is due (`refresh-due.ts`; proactive, worker and request path);
 * - `stale`: the stored access token is still `token` (after an upstream 401, or "refresh now" in the admin).
 * Both are re-checked against the stored row after taking the lock, which is what makes waiters re-use the
 * winner's tokens instead of spending the single-use refresh token again.
 */
export type RefreshWhen = { kind: 'due' } | { kind: 'stale'; token: string };

/** Sealed credentials waiting in Redis for the database write (same format as the column, base64). */
interface PendingTokens {
  keyId: string;
  data: string;
  accessTokenExpiresAt: string | null;
  at: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deletes a key only if it still holds the given value. */
const DELETE_IF_SAME = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/** Refresh lock lease (renewed every third of it while the refresh runs). */
const LOCK_LEASE_MS = 15_000;

/**
 * Token refresh, one at a time per account across processes (Redis lock `lock:account-refresh:<id>`) and single
 * flight inside a process (one promise per account and condition). See docs/adr/0007-token-refresh.md.
 */
@Injectable()
export class TokenRefreshService {
  private readonly logger = new Logger('refresh');
  private readonly lock: RedisLock;
  private readonly inflight = new Map<string, Promise<LoadedAccount>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly repo: AccountsRepository,
    private readonly cipher: CredentialsCipher,
    private readonly oauth: OAuthClient,
    private readonly events: AccountEvents,
    private readonly scheduler: RefreshScheduler,
    private readonly metrics: MetricsService,
  ) {
    this.lock = new RedisLock(redis.client);
  }

  private lockKey(id: string): string {
    return this.redis.key('lock', 'account-refresh', id);
  }

  private failureKey(id: string): string {
    return this.redis.key('accounts', 'refresh-failure', id);
  }

  /** The longest a refresh can take: one call plus its single retry of a rejected answer, with margin. */
  private get lockTtlMs(): number {
    return this.config.OAUTH_TIMEOUT_MS * 2 + 10_000;
  }

  /** Refreshed tokens not yet in Postgres (it was down when they arrived): sealed like the column, in Redis. */
  private pendingKey(id: string): string {
    return this.redis.key('accounts', 'pending-tokens', id);
  }

  async load(id: string): Promise<LoadedAccount> {
    const row = await this.repo.findById(id);
    if (!row) throw accountNotFound(id);
    const pending = await this.readPending(id);
    if (pending) return this.persistPending(row, pending);
    return { row, tokens: this.open(row) };
  }

  /** The row as stored, without looking at pending tokens. */
  private async loadRow(id: string): Promise<LoadedAccount> {
    const row = await this.repo.findById(id);
    if (!row) throw accountNotFound(id);
    return { row, tokens: this.open(row) };
  }

  /**
   * Decrypts an account's tokens. A row sealed with a key the gateway does not have (a backup restored with
   * another ENCRYPTION_KEY) makes that account unusable, named in the log once, while the others keep serving.
   */
  private readonly undecryptable = new Set<string>();
  private open(row: AccountRow): StoredTokens {
    try {
      return this.cipher.open(row.id, row.credentials, row.credentialsKeyId);
    } catch (err) {
      if (!this.undecryptable.has(row.id)) {
        this.undecryptable.add(row.id);
        this.logger.error(
          { accountId: row.id, label: row.label, keyId: row.credentialsKeyId, err: (err as Error).message },
          'account credentials cannot be decrypted with the configured ENCRYPTION_KEY / ENCRYPTION_KEYS_OLD: account skipped (log it in again or configure the key it was sealed with)',
        );
      }
      throw new AccountUnavailableError(row.id, 'undecryptable');
    }
  }

  /** The account's proxy URL in clear, for its dispatcher only (never logged); null without one. */
  proxyUrlOf(row: AccountRow): string | null {
    try {
      return openProxyUrl(this.cipher, row);
    } catch {
      throw new AccountUnavailableError(row.id, 'undecryptable');
    }
  }

  /**
   * Names, at start, every account the configured keys cannot open (e.g. a backup restored with another
   * ENCRYPTION_KEY), instead of only when a request or a refresh first loads it. Returns their ids.
   */
  async reportUndecryptable(): Promise<string[]> {
    const out: string[] = [];
    for (const row of await this.repo.findAll()) {
      try {
        this.open(row);
      } catch {
        out.push(row.id);
      }
    }
    return out;
  }

  private async readPending(id: string): Promise<PendingTokens | null> {
    const raw = await this.redis.client.get(this.pendingKey(id)).catch((err: Error) => {
      // Redis down: the row is the best we have (a pending write exists only after a Postgres outage too).
      this.logger.warn({ accountId: id, err: err.message }, 'could not read pending tokens');
      return null;
    });
    return raw ? (JSON.parse(raw) as PendingTokens) : null;
  }

  /** Newer tokens than the row's are waiting in Redis: they win; write them to the row now (Postgres answers). */
  private async persistPending(row: AccountRow, p: PendingTokens): Promise<LoadedAccount> {
    const data = {
      credentials: new Uint8Array(Buffer.from(p.data, 'base64')),
      credentialsKeyId: p.keyId,
      accessTokenExpiresAt: p.accessTokenExpiresAt ? new Date(p.accessTokenExpiresAt) : null,
      lastRefreshAt: new Date(p.at),
    };
    // Read before a newer refresh finished, a pending set can be older than the row: the row wins then.
    if (row.lastRefreshAt && row.lastRefreshAt.getTime() >= p.at) return { row, tokens: this.open(row) };
    const tokens = this.cipher.open(row.id, data.credentials, data.credentialsKeyId);
    try {
      // Conditional: another process may store a newer refresh between our read and this write.
      const stored = await this.repo.updateIfRefreshedBefore(row.id, data.lastRefreshAt, data);
      if (!stored) return this.loadRow(row.id);
      // Deleted only if it is still the set we wrote (a newer refresh may have replaced it meanwhile).
      await this.redis.client
        .eval(DELETE_IF_SAME, 1, this.pendingKey(row.id), JSON.stringify(p))
        .catch(() => 0);
      this.logger.log({ accountId: row.id }, 'pending refreshed tokens written to Postgres');
      return { row: stored, tokens };
    } catch (err) {
      this.logger.warn(
        { accountId: row.id, err: (err as Error).message },
        'pending tokens still not written (kept in Redis)',
      );
      return { row: { ...row, ...data }, tokens };
    }
  }

  /** Writes every pending token set whose account row can be read (the worker's sweep calls this). */
  async persistAllPending(): Promise<number> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.client.scan(cursor, 'MATCH', this.pendingKey('*'), 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    let n = 0;
    for (const k of keys) {
      const id = k.slice(this.pendingKey('').length);
      try {
        await this.load(id);
        n++;
      } catch (err) {
        this.logger.warn({ accountId: id, err: (err as Error).message }, 'pending tokens not written yet');
      }
    }
    return n;
  }

  private wanted(cur: LoadedAccount, when: RefreshWhen): boolean {
    return when.kind === 'due'
      ? isRefreshDue(cur.row, this.config.REFRESH_LEAD_SECONDS)
      : cur.tokens.access_token === when.token;
  }

  private assertRefreshable(cur: LoadedAccount): void {
    if (cur.row.status === 'needs_reauth')
      throw new AccountRefreshError(cur.row.id, true, cur.row.statusReason ?? 'needs_reauth');
    if (cur.row.status !== 'active') throw new AccountUnavailableError(cur.row.id, cur.row.status);
  }

  /** Refreshes when `when` holds (single flight, Redis lock); returns the current stored account either way. */
  refresh(id: string, when: RefreshWhen, reason: RefreshReason): Promise<LoadedAccount> {
    const key = `${id}|${when.kind === 'due' ? 'due' : when.token}`;
    const existing = this.inflight.get(key);
    if (existing) return existing;
    const p = this.run(id, when, reason).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async run(id: string, when: RefreshWhen, reason: RefreshReason): Promise<LoadedAccount> {
    const lockKey = this.lockKey(id);
    const deadline = Date.now() + this.lockTtlMs + 5_000;
    for (;;) {
      const cur = await this.load(id);
      if (!this.wanted(cur, when)) return cur;
      this.assertRefreshable(cur);
      const lock = await this.lock.tryAcquire(lockKey, LOCK_LEASE_MS);
      if (!lock) {
        // Someone (this or another process) is refreshing: wait, then re-read what they stored.
        const waitStarted = Date.now();
        if (waitStarted > deadline) throw new AccountRefreshError(id, false, 'refresh_lock_timeout');
        await this.lock.waitForRelease(lockKey, deadline - waitStarted, 25);
        const failure = await this.redis.client.get(this.failureKey(id)).catch(() => null);
        if (failure) {
          const f = JSON.parse(failure) as { at: number; permanent: boolean; code: string };
          // The holder failed while we waited: share its verdict instead of trying the same token again.
          if (f.at >= waitStarted) throw new AccountRefreshError(id, f.permanent, f.code);
        }
        continue;
      }
      // A lease, renewed while this process is refreshing: a holder killed mid-way (SIGKILL, OOM) blocks the
      // account's refreshes for one lease at most, not for the longest a refresh may take.
      const renew = setInterval(() => void lock.extend(LOCK_LEASE_MS).catch(() => false), LOCK_LEASE_MS / 3);
      renew.unref();
      try {
        const fresh = await this.load(id);
        if (!this.wanted(fresh, when)) return fresh;
        this.assertRefreshable(fresh);
        return await this.refreshLocked(fresh, reason);
      } finally {
        clearInterval(renew);
        await lock.release().catch(() => false);
      }
    }
  }

  private async refreshLocked(cur: LoadedAccount, reason: RefreshReason): Promise<LoadedAccount> {
    const id = cur.row.id;
    // Through the account's own egress proxy (or the gateway's default), like every call of the account.
    const via = { accountId: id, proxyUrl: this.proxyUrlOf(cur.row) };
    let result = await this.oauth.refresh(cur.tokens.refresh_token, reason, via);
    if (!result.ok && result.failure.kind === 'rejected') {
      // docs/upstream-protocol.md §3: other 4xx → permanent after one retry.
      await sleep(500);
      result = await this.oauth.refresh(cur.tokens.refresh_token, reason, via);
      if (!result.ok && result.failure.kind === 'rejected')
        result = { ok: false, failure: { ...result.failure, kind: 'permanent' } };
    }
    if (!result.ok) return this.fail(cur, result.failure, reason);

    const tokens: StoredTokens = {
      access_token: result.tokens.accessToken ?? cur.tokens.access_token,
      refresh_token: result.tokens.refreshToken ?? cur.tokens.refresh_token,
      id_token: result.tokens.idToken ?? cur.tokens.id_token,
    };
    const claims = decodeTokenClaims(tokens.id_token, tokens.access_token);
    const sealed = this.cipher.seal(id, tokens);
    const refreshedAt = new Date(); // the row's lastRefreshAt and the pending set's `at`: one instant
    const data = {
      credentials: sealed.data,
      credentialsKeyId: sealed.keyId,
      accessTokenExpiresAt: claims.accessTokenExpiresAt,
      email: claims.email ?? cur.row.email,
      planType: claims.planType ?? cur.row.planType,
      lastRefreshAt: refreshedAt,
      lastError: null,
      lastErrorAt: null,
    };
    // The old refresh token is spent now: the new one must survive a database outage. It goes to Redis first
    // (sealed, no expiry) and stays there until the row has it; load() prefers it over the row meanwhile.
    const pending: PendingTokens = {
      keyId: sealed.keyId,
      data: Buffer.from(sealed.data).toString('base64'),
      accessTokenExpiresAt: claims.accessTokenExpiresAt?.toISOString() ?? null,
      at: refreshedAt.getTime(),
    };
    const held = await this.redis.client
      .set(this.pendingKey(id), JSON.stringify(pending))
      .then(() => true)
      .catch(() => false);
    let row: AccountRow | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        row = await this.repo.update(id, data);
        if (held) await this.redis.client.del(this.pendingKey(id)).catch(() => 0);
        break;
      } catch (err) {
        if (attempt >= 4) {
          if (!held) {
            this.logger.error(
              { accountId: id, err: (err as Error).message },
              'refreshed tokens could not be stored (Postgres and Redis unavailable)',
            );
            throw new AccountRefreshError(id, false, 'store_failed');
          }
          this.logger.warn(
            { accountId: id, err: (err as Error).message },
            'Postgres unavailable: refreshed tokens held in Redis until it is back',
          );
          row = { ...cur.row, ...data };
          break;
        }
        await sleep(200 * attempt);
      }
    }
    await this.redis.client.del(this.failureKey(id)).catch(() => 0);
    this.metrics.refreshes.inc({ outcome: 'success' });
    await this.events.publish(id);
    this.logger.log(
      { accountId: id, reason, expiresAt: claims.accessTokenExpiresAt?.toISOString() ?? null },
      'token refreshed',
    );
    await this.scheduler.schedule(id, data).catch((err) => {
      this.logger.warn(
        { accountId: id, err: (err as Error).message },
        'could not schedule the next refresh (the sweep will)',
      );
    });
    return { row, tokens };
  }

  private async fail(cur: LoadedAccount, failure: RefreshFailure, reason: RefreshReason): Promise<never> {
    const id = cur.row.id;
    const permanent = failure.kind === 'permanent';
    this.metrics.refreshes.inc({ outcome: permanent ? 'permanent_failure' : 'transient_failure' });
    const message = `refresh failed: ${failure.code}${failure.status ? ` (HTTP ${failure.status})` : ''}`;
    this.logger.warn(
      { accountId: id, reason, kind: failure.kind, code: failure.code, status: failure.status },
      'token refresh failed',
    );
    await this.redis.client
      .set(this.failureKey(id), JSON.stringify({ at: Date.now(), permanent, code: failure.code }), 'PX', 3000)
      .catch(() => null);
    try {
      await this.repo.update(id, {
        lastError: message,
        lastErrorAt: new Date(),
        ...(permanent
          ? { status: 'needs_reauth' as const, statusReason: message, statusSince: new Date() }
          : {}),
      });
      await this.repo.audit({
        actorType: 'system',
        action: 'account.refresh_failed',
        targetId: id,
        details: { reason, kind: failure.kind, code: failure.code, status: failure.status },
      });
      if (permanent) {
        await this.repo.audit({
          actorType: 'system',
          action: 'account.status_changed',
          targetId: id,
          details: { from: cur.row.status, to: 'needs_reauth', reason: message },
        });
      }
    } catch (err) {
      // e.g. the account was deleted meanwhile; the caller still gets the refresh verdict.
      this.logger.warn(
        { accountId: id, err: (err as Error).message },
        'could not record the refresh failure',
      );
    }
    if (permanent) await this.events.publish(id);
    throw new AccountRefreshError(id, permanent, failure.code);
  }
}
