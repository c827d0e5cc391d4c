import { randomUUID } from 'node:crypto';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { ApiError } from '../../common/errors.js';
import { AccountsService } from '../accounts.service.js';
import type { AccountView } from '../account-view.js';
import type { Actor } from '../actor.js';
import {
  ACCOUNTS_QUEUE,
  JOB_DEVICE_POLL,
  devicePollJobId,
  type DevicePollJobData,
} from '../accounts.queue.js';
import { codeChallengeS256, createCodeVerifier, createState, safeEqual } from '../oauth/pkce.js';
import {
  buildAuthorizeUrl,
  deviceRedirectUri,
  deviceVerificationUri,
  parseCallbackUrl,
} from '../oauth/oauth-urls.js';
import { OAuthClient, OAuthHttpError } from '../oauth/oauth-client.js';
import { parseAuthJson } from '../oauth/auth-json.js';
import { LoginStore, type LoginRecord, type LoginStatus } from './login-store.js';
import { checkProxyUrl } from '../account-proxy.js';

/**
 * The egress of a login (sealed with its secret): `exchangeVia` is the proxy its issuer calls go through (the one
 * given at start, or the re-authenticated account's own); `store` is set when one was given at start and is then
 * stored with the account (undefined keeps the account's existing proxy).
 */
interface LoginEgress {
  exchangeVia?: string | null;
  store?: string | null;
}

interface PkceSecret extends LoginEgress {
  state: string;
  verifier: string;
  redirectUri: string;
}

interface DeviceSecret extends LoginEgress {
  deviceAuthId: string;
  userCode: string;
}

export interface LoginEgressInput {
  /** A proxy for the new account (stored with it); null: explicitly none. */
  proxyUrl?: string | null;
  /** Re-authenticating this account: its stored proxy carries the code exchange (unless proxyUrl is given). */
  accountId?: string;
}

const egressVia = (e: LoginEgress) => ({ accountId: null, proxyUrl: e.exchangeVia ?? null });

export interface LoginStatusView {
  loginId: string;
  kind: 'pkce' | 'device';
  status: LoginStatus;
  expiresAt: string;
  accountId: string | null;
  error: { code: string; message: string } | null;
  userCode?: string;
  verificationUri?: string;
  interval?: number;
}

function clean(s: string | null | undefined, max = 200): string {
  return (s ?? '').replace(/[^\x20-\x7e]/g, '').slice(0, max);
}

/**
 * Login flows (docs/upstream-protocol.md §1, §2): browser PKCE with a pasted callback URL, device code with background polling,
 * auth.json import. Pending logins live in the sealed Redis store (`login-store.ts`).
 */
@Injectable()
export class AccountLoginService {
  private readonly logger = new Logger('login');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: LoginStore,
    private readonly oauth: OAuthClient,
    private readonly accounts: AccountsService,
    @InjectQueue(ACCOUNTS_QUEUE) private readonly queue: Queue,
  ) {}

  private async egressOf(input: LoginEgressInput): Promise<LoginEgress> {
    if (input.proxyUrl !== undefined) {
      const url = checkProxyUrl(input.proxyUrl);
      return { exchangeVia: url, store: url };
    }
    if (input.accountId) return { exchangeVia: await this.accounts.proxyUrlOfAccount(input.accountId) };
    return {};
  }

  private async finish(rec: LoginRecord, patch: Partial<LoginRecord>): Promise<void> {
    await this.store.save({ ...rec, ...patch });
  }

  view(rec: LoginRecord): LoginStatusView {
    const expired = rec.status === 'pending' && Date.now() > rec.expiresAt;
    return {
      loginId: rec.id,
      kind: rec.kind,
      status: expired ? 'expired' : rec.status,
      expiresAt: new Date(rec.expiresAt).toISOString(),
      accountId: rec.accountId ?? null,
      error: rec.error ?? null,
      ...(rec.kind === 'device'
        ? { userCode: rec.userCode, verificationUri: rec.verificationUri, interval: rec.interval }
        : {}),
    };
  }

  async status(loginId: string, owner?: string | null): Promise<LoginStatusView> {
    return this.view(await this.owned(loginId, owner));
  }

  private async owned(loginId: string, owner?: string | null): Promise<LoginRecord> {
    const rec = await this.store.load(loginId, owner);
    if (!rec)
      throw ApiError.notFound(
        `No login with id '${loginId}' (unknown or long expired).`,
        'loginId',
        'login_not_found',
      );
    return rec;
  }

  /**
   * Cancels a pending login of its owner (404 for others', like `status`). It claims the login first, so a
   * completion running at the same time either wins (409 here) or is refused; a cancelled device login stops
   * being polled. The record stays readable as `failed` / `login_cancelled` until it expires.
   */
  async cancel(loginId: string, owner: string | null): Promise<LoginStatusView> {
    const rec = await this.owned(loginId, owner);
    if (this.view(rec).status !== 'pending' || !(await this.store.claim(rec.id)))
      throw ApiError.conflict('This login is no longer pending.', 'loginId', 'login_not_pending');
    const cancelled = {
      ...rec,
      status: 'failed' as const,
      error: { code: 'login_cancelled', message: 'The login was cancelled.' },
    };
    await this.store.save(cancelled);
    return this.view(cancelled);
  }

  // ---- browser PKCE ----

  async startPkce(
    actor: Actor,
    {
      owner = null,
      redirectUri = this.config.OAUTH_REDIRECT_URI,
      originator = 'codex_cli_rs',
      egress = {},
    }: { owner?: string | null; redirectUri?: string; originator?: string; egress?: LoginEgressInput } = {},
  ) {
    const e = await this.egressOf(egress);
    const id = randomUUID();
    const verifier = createCodeVerifier();
    const state = createState();
    const expiresAt = Date.now() + this.config.LOGIN_TTL_SECONDS * 1000;
    const secret: PkceSecret = { state, verifier, redirectUri, ...e };
    await this.store.save({
      id,
      kind: 'pkce',
      status: 'pending',
      createdAt: Date.now(),
      expiresAt,
      actor,
      owner,
      ...this.store.seal(id, secret),
    });
    // originator: the interactive CLI's value (docs/upstream-protocol.md §1), since the flow mimics `codex login`.
    const authorizeUrl = buildAuthorizeUrl({
      issuer: this.oauth.issuer,
      clientId: this.config.OAUTH_CLIENT_ID,
      redirectUri,
      codeChallenge: codeChallengeS256(verifier),
      state,
      originator,
    });
    return { loginId: id, authorizeUrl, redirectUri, expiresAt: new Date(expiresAt).toISOString() };
  }

  async completePkce(
    loginId: string,
    callbackUrl: string,
    via: 'pkce' | 'cli' = 'pkce',
    owner?: string | null,
  ): Promise<{ loginId: string; status: 'completed'; account: AccountView; created: boolean }> {
    const rec = await this.store.load(loginId, owner);
    if (!rec || rec.kind !== 'pkce') {
      throw ApiError.notFound(
        `No browser login with id '${loginId}' (unknown or expired long ago).`,
        'loginId',
        'login_not_found',
      );
    }
    if (rec.status === 'completed' || rec.status === 'failed') {
      throw ApiError.conflict(
        `This login was already ${rec.status}; start a new login.`,
        'loginId',
        'login_already_used',
      );
    }
    if (Date.now() > rec.expiresAt) {
      await this.finish(rec, { status: 'expired' });
      throw ApiError.gone('This login expired; start a new login.', 'loginId', 'login_expired');
    }
    const parsed = parseCallbackUrl(callbackUrl);
    if (!parsed.ok && parsed.reason !== 'oauth_error') {
      const why =
        parsed.reason === 'wrong_target'
          ? 'it must be the http://127.0.0.1:1455/auth/callback (or localhost) address the browser ended on'
          : parsed.reason === 'missing_code'
            ? 'it has no code and state'
            : 'it is not a URL';
      throw ApiError.badRequest(`Invalid callbackUrl: ${why}.`, 'callbackUrl', 'invalid_callback_url');
    }
    const secret = this.store.open<PkceSecret>(rec);
    if (!parsed.ok && !parsed.state) {
      // An error callback without state cannot be tied to this login: report it, keep the login open.
      throw ApiError.badRequest(
        `Sign-in was not completed: ${clean(parsed.error, 64)}.`,
        'callbackUrl',
        'oauth_error',
      );
    }
    if (!parsed.state || !safeEqual(parsed.state, secret.state)) {
      throw ApiError.badRequest(
        'The callback URL belongs to another login (state mismatch).',
        'callbackUrl',
        'state_mismatch',
      );
    }
    if (!(await this.store.claim(rec.id))) {
      throw ApiError.conflict(
        'This login is already being completed or was completed.',
        'loginId',
        'login_already_used',
      );
    }
    if (!parsed.ok) {
      const error = {
        code: 'oauth_error',
        message: `Sign-in was not completed: ${clean(parsed.error, 64)}${parsed.errorDescription ? ` (${clean(parsed.errorDescription)})` : ''}`,
      };
      await this.finish(rec, { status: 'failed', error });
      throw ApiError.badRequest(error.message, 'callbackUrl', 'oauth_error');
    }
    let tokens;
    try {
      // The exchange must repeat the authorize request's redirect_uri, whatever host was pasted.
      tokens = await this.oauth.exchangeCode(
        parsed.code,
        secret.redirectUri,
        secret.verifier,
        egressVia(secret),
      );
    } catch (err) {
      const code = err instanceof OAuthHttpError ? err.code : 'exchange_failed';
      const status = err instanceof OAuthHttpError ? err.status : null;
      const error = {
        code: 'code_exchange_failed',
        message: `The sign-in code was refused by the issuer (${clean(code, 64)}${status ? `, HTTP ${status}` : ''}).`,
      };
      await this.finish(rec, { status: 'failed', error });
      if (status === null || status >= 500) throw ApiError.badGateway(error.message, 'code_exchange_failed');
      throw ApiError.badRequest(error.message, 'callbackUrl', 'code_exchange_failed');
    }
    const { account, created } = await this.saveTokens(rec, tokens, via, secret.store);
    return { loginId: rec.id, status: 'completed', account, created };
  }

  private async saveTokens(
    rec: LoginRecord,
    tokens: { idToken: string | null; accessToken: string | null; refreshToken: string | null },
    via: 'pkce' | 'cli' | 'device',
    proxyUrl: string | null | undefined,
  ) {
    try {
      const result = await this.accounts.saveLogin(
        {
          idToken: tokens.idToken ?? '',
          accessToken: tokens.accessToken ?? '',
          refreshToken: tokens.refreshToken ?? '',
        },
        via,
        rec.actor,
        { proxyUrl },
      );
      await this.finish(rec, { status: 'completed', accountId: result.account.id });
      return result;
    } catch (err) {
      const message = err instanceof ApiError ? err.message : 'The account could not be stored.';
      await this.finish(rec, { status: 'failed', error: { code: 'store_failed', message } });
      throw err;
    }
  }

  // ---- device code ----

  /** `background: false` when the caller (the CLI) polls by itself instead of the worker. */
  async startDevice(
    actor: Actor,
    opts: { background?: boolean; owner?: string | null; egress?: LoginEgressInput } = {},
  ) {
    const e = await this.egressOf(opts.egress ?? {});
    let dc;
    try {
      dc = await this.oauth.deviceStart(egressVia(e));
    } catch (err) {
      const code = err instanceof OAuthHttpError ? err.code : 'device_start_failed';
      throw ApiError.badGateway(
        `The issuer did not start a device login (${clean(code, 64)}).`,
        'device_start_failed',
      );
    }
    const id = randomUUID();
    const rec: LoginRecord = {
      id,
      kind: 'device',
      status: 'pending',
      createdAt: Date.now(),
      expiresAt: dc.expiresAt.getTime(),
      actor,
      owner: opts.owner ?? null,
      ...this.store.seal(id, {
        deviceAuthId: dc.deviceAuthId,
        userCode: dc.userCode,
        ...e,
      } satisfies DeviceSecret),
      userCode: dc.userCode,
      verificationUri: deviceVerificationUri(this.oauth.issuer),
      interval: dc.intervalSeconds,
    };
    await this.store.save(rec);
    if (opts.background !== false) await this.enqueuePoll(id, 1, dc.intervalSeconds * 1000);
    return {
      loginId: id,
      userCode: dc.userCode,
      verificationUri: rec.verificationUri!,
      expiresAt: dc.expiresAt.toISOString(),
      interval: dc.intervalSeconds,
    };
  }

  private async enqueuePoll(loginId: string, attempt: number, delayMs: number): Promise<void> {
    const data: DevicePollJobData = { loginId, attempt };
    await this.queue.add(JOB_DEVICE_POLL, data, {
      jobId: devicePollJobId(loginId, attempt),
      delay: delayMs,
      removeOnComplete: true,
      removeOnFail: true,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
    });
  }

  /** One poll of a pending device login (the worker's job); queues the next poll while pending. */
  async pollDevice(loginId: string, attempt: number, background = true): Promise<LoginStatus | 'gone'> {
    const rec = await this.store.load(loginId);
    if (!rec || rec.kind !== 'device') return 'gone';
    if (rec.status !== 'pending') return rec.status;
    if (Date.now() > rec.expiresAt) {
      await this.finish(rec, {
        status: 'expired',
        error: { code: 'login_expired', message: 'The device code expired before it was approved.' },
      });
      return 'expired';
    }
    const secret = this.store.open<DeviceSecret>(rec);
    const r = await this.oauth.devicePoll(secret.deviceAuthId, secret.userCode, egressVia(secret));
    const next = async () => {
      if (background) await this.enqueuePoll(loginId, attempt + 1, (rec.interval ?? 5) * 1000);
      return 'pending' as const;
    };
    if (r.status === 'pending') return next();
    if (r.status === 'error') {
      if (r.httpStatus === null || r.httpStatus >= 500 || r.httpStatus === 429) {
        this.logger.warn({ loginId, status: r.httpStatus, code: r.code }, 'device poll failed, will retry');
        return next();
      }
      await this.finish(rec, {
        status: 'failed',
        error: {
          code: 'device_login_failed',
          message: `The issuer refused the device login (${clean(r.code, 64)}).`,
        },
      });
      return 'failed';
    }
    try {
      const tokens = await this.oauth.exchangeCode(
        r.authorizationCode,
        deviceRedirectUri(this.oauth.issuer),
        r.codeVerifier,
        egressVia(secret),
      );
      await this.saveTokens(rec, tokens, 'device', secret.store);
      return 'completed';
    } catch (err) {
      if (err instanceof OAuthHttpError) {
        await this.finish(rec, {
          status: 'failed',
          error: {
            code: 'code_exchange_failed',
            message: `The device code exchange was refused (${clean(err.code, 64)}).`,
          },
        });
        return 'failed';
      }
      throw err;
    }
  }

  // ---- auth.json import ----

  async importAuthJson(
    input: unknown,
    actor: Actor,
    label?: string,
    proxyUrl?: string | null,
  ): Promise<{ account: AccountView; created: boolean }> {
    const parsed = parseAuthJson(input);
    if (!parsed.ok) throw ApiError.badRequest(parsed.message, parsed.param, 'invalid_auth_json');
    const t = parsed.tokens;
    return this.accounts.saveLogin(
      { idToken: t.idToken, accessToken: t.accessToken, refreshToken: t.refreshToken },
      'import',
      actor,
      {
        accountIdHint: t.accountId,
        lastRefresh: t.lastRefresh,
        label,
        proxyUrl,
      },
    );
  }
}
