import { Inject, Injectable, Logger } from '@nestjs/common';
import { request } from 'undici';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { clientProfileHeaders } from '../../upstream/client-profile.js';
import { EgressDispatchers } from '../../upstream/egress-dispatchers.js';
import {
  classifyNetworkError,
  classifyRefreshResponse,
  errorCodeOf,
  type RefreshFailure,
} from './refresh-errors.js';

/**
 * HTTP calls to the OAuth issuer, byte-for-byte like the Codex CLI 0.169 (docs/upstream-protocol.md §1–§3).
 * Nothing here logs a body or a token; errors carry status and error code only.
 */
export interface TokenSet {
  idToken: string | null;
  accessToken: string | null;
  refreshToken: string | null;
}

/** The originator of the plain `codex` binary (login/logout), docs/upstream-protocol.md §1. */
const LOGOUT_ORIGINATOR = 'codex_cli_rs';

export type RefreshReason = 'proactive_expiry' | 'unauthorized_recovery';

/**
 * Whose call this is, for its egress (upstream/egress-dispatchers.ts): the account and its proxy URL, or for a
 * login not stored yet the proxy given at its start. Absent: the gateway's default (environment proxy or direct).
 */
export interface OAuthEgress {
  accountId: string | null;
  proxyUrl: string | null;
}

const DEFAULT_EGRESS: OAuthEgress = { accountId: null, proxyUrl: null };

export class OAuthHttpError extends Error {
  constructor(
    readonly status: number | null,
    readonly code: string,
  ) {
    super(`OAuth issuer answered ${status ?? 'no response'} (${code})`);
  }
}

export interface DeviceCode {
  deviceAuthId: string;
  userCode: string;
  intervalSeconds: number;
  expiresAt: Date;
}

export type DevicePoll =
  | { status: 'pending' }
  | { status: 'approved'; authorizationCode: string; codeVerifier: string }
  | { status: 'error'; httpStatus: number | null; code: string };

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function tokenSetOf(body: unknown): TokenSet {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  return { idToken: str(b.id_token), accessToken: str(b.access_token), refreshToken: str(b.refresh_token) };
}

interface OAuthResponse {
  status: number;
  ok: boolean;
  body: unknown;
}

function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

@Injectable()
export class OAuthClient {
  private readonly logger = new Logger('oauth');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly egress: EgressDispatchers,
  ) {}

  get issuer(): string {
    return this.config.OPENAI_AUTH_ISSUER;
  }

  /**
   * POST with exactly the given headers. undici's `request` (not `fetch`) so no fetch-spec headers
   * (`sec-fetch-mode`, `accept-language`, …) are added: the issuer sees what the CLI sends (docs/upstream-protocol.md §1–§3).
   */
  private async post(
    path: string,
    headers: Record<string, string>,
    body: string,
    via: OAuthEgress,
  ): Promise<OAuthResponse> {
    const dispatcher = this.egress.forAccount(via.accountId, via.proxyUrl);
    let res;
    try {
      res = await request(`${this.issuer}${path}`, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.config.OAUTH_TIMEOUT_MS),
        ...(dispatcher ? { dispatcher } : {}),
      });
    } catch (err) {
      // A dead or refusing proxy of a stored account marks it proxy_unreachable (the accounts store listens).
      const down = await this.egress.diagnose(via.accountId, via.proxyUrl, err);
      if (down)
        throw Object.assign(new Error(`proxy ${down.endpoint}: ${down.reason}`), {
          code: 'proxy_unreachable',
        });
      throw err;
    }
    const text = await res.body.text();
    return {
      status: res.statusCode,
      ok: res.statusCode >= 200 && res.statusCode < 300,
      body: parseBody(text),
    };
  }

  /** authorization_code grant, form-encoded, headers only content-type + accept (docs/upstream-protocol.md §1, §2). */
  async exchangeCode(
    code: string,
    redirectUri: string,
    codeVerifier: string,
    via: OAuthEgress = DEFAULT_EGRESS,
  ): Promise<TokenSet> {
    const form = new URLSearchParams();
    form.set('grant_type', 'authorization_code');
    form.set('client_id', this.config.OAUTH_CLIENT_ID);
    form.set('code', code);
    form.set('redirect_uri', redirectUri);
    form.set('code_verifier', codeVerifier);
    let res: OAuthResponse;
    try {
      res = await this.post(
        '/oauth/token',
        { 'content-type': 'application/x-www-form-urlencoded', accept: '*/*' },
        form.toString(),
        via,
      );
    } catch (err) {
      throw new OAuthHttpError(null, classifyNetworkError(err).code);
    }
    const body = res.body;
    if (!res.ok) throw new OAuthHttpError(res.status, errorCodeOf(body) ?? `http_${res.status}`);
    const tokens = tokenSetOf(body);
    if (!tokens.accessToken || !tokens.refreshToken)
      throw new OAuthHttpError(res.status, 'incomplete_token_response');
    return tokens;
  }

  /**
   * refresh_token grant: JSON body with client_id, grant_type, refresh_reason, refresh_token; headers content-type,
   * originator, user-agent, accept (docs/upstream-protocol.md §3). Any absent field of the answer keeps its old value (caller).
   */
  async refresh(
    refreshToken: string,
    reason: RefreshReason,
    via: OAuthEgress = DEFAULT_EGRESS,
  ): Promise<{ ok: true; tokens: TokenSet } | { ok: false; failure: RefreshFailure }> {
    const body = JSON.stringify({
      client_id: this.config.OAUTH_CLIENT_ID,
      grant_type: 'refresh_token',
      refresh_reason: reason,
      refresh_token: refreshToken,
    });
    let res: OAuthResponse;
    try {
      res = await this.post(
        '/oauth/token',
        {
          'content-type': 'application/json',
          ...clientProfileHeaders(this.config, 'short'),
          accept: '*/*',
        },
        body,
        via,
      );
    } catch (err) {
      return { ok: false, failure: classifyNetworkError(err) };
    }
    const parsed = res.body;
    if (!res.ok) return { ok: false, failure: classifyRefreshResponse(res.status, parsed) };
    const tokens = tokenSetOf(parsed);
    if (!tokens.accessToken) {
      return {
        ok: false,
        failure: { kind: 'transient', code: 'no_access_token_in_answer', status: res.status },
      };
    }
    return { ok: true, tokens };
  }

  /** Device code step 1 (docs/upstream-protocol.md §2): JSON body, no originator/user-agent (docs/upstream-protocol.md §2). */
  async deviceStart(via: OAuthEgress = DEFAULT_EGRESS): Promise<DeviceCode> {
    let res: OAuthResponse;
    try {
      res = await this.post(
        '/api/accounts/deviceauth/usercode',
        { 'content-type': 'application/json', accept: '*/*' },
        JSON.stringify({ client_id: this.config.OAUTH_CLIENT_ID }),
        via,
      );
    } catch (err) {
      throw new OAuthHttpError(null, classifyNetworkError(err).code);
    }
    const body = res.body as Record<string, unknown> | null;
    if (!res.ok || !body || typeof body !== 'object') {
      throw new OAuthHttpError(res.status, errorCodeOf(body) ?? `http_${res.status}`);
    }
    const deviceAuthId = str(body.device_auth_id);
    // Some versions say `usercode` (docs/upstream-protocol.md §2): accept both.
    const userCode = str(body.user_code) ?? str(body.usercode);
    if (!deviceAuthId || !userCode) throw new OAuthHttpError(res.status, 'incomplete_device_code_response');
    const interval = Number(body.interval);
    const intervalSeconds = Number.isFinite(interval) && interval > 0 ? Math.min(interval, 60) : 5;
    const exp =
      typeof body.expires_at === 'string'
        ? Date.parse(body.expires_at)
        : typeof body.expires_at === 'number'
          ? body.expires_at * 1000
          : NaN;
    // The CLI says the code expires in 15 minutes; use that when the answer has no usable expires_at.
    const expiresAt = new Date(Number.isFinite(exp) ? exp : Date.now() + 15 * 60_000);
    return { deviceAuthId, userCode, intervalSeconds, expiresAt };
  }

  /** Device code step 3: 403/404 while pending; 200 with authorization_code + code_verifier when approved. */
  async devicePoll(
    deviceAuthId: string,
    userCode: string,
    via: OAuthEgress = DEFAULT_EGRESS,
  ): Promise<DevicePoll> {
    let res: OAuthResponse;
    try {
      res = await this.post(
        '/api/accounts/deviceauth/token',
        { 'content-type': 'application/json', accept: '*/*' },
        JSON.stringify({ device_auth_id: deviceAuthId, user_code: userCode }),
        via,
      );
    } catch (err) {
      return { status: 'error', httpStatus: null, code: classifyNetworkError(err).code };
    }
    const body = res.body as Record<string, unknown> | null;
    if (res.status === 403 || res.status === 404) {
      const code = errorCodeOf(body);
      // Pending is 403/404 (e.g. deviceauth_authorization_pending). Other codes on these statuses are logged
      // and treated as pending until the login expires, since the exact set is not documented [verify].
      if (code && !/pending/i.test(code))
        this.logger.warn({ status: res.status, code }, 'unexpected device poll answer, still polling');
      return { status: 'pending' };
    }
    if (!res.ok)
      return { status: 'error', httpStatus: res.status, code: errorCodeOf(body) ?? `http_${res.status}` };
    const authorizationCode = str(body?.authorization_code);
    const codeVerifier = str(body?.code_verifier);
    if (!authorizationCode || !codeVerifier)
      return { status: 'error', httpStatus: res.status, code: 'incomplete_device_token_response' };
    return { status: 'approved', authorizationCode, codeVerifier };
  }

  /**
   * Best-effort revocation when an account is deleted, as `codex logout` sends it (docs/upstream-protocol.md §1): JSON body
   * `{token, token_type_hint: "refresh_token", client_id}`; headers content-type, originator `codex_cli_rs` (logout
   * runs as the plain CLI, not `codex exec`), the short user agent, accept. A non-2xx answer is reported, not thrown.
   */
  async revoke(refreshToken: string, via: OAuthEgress = DEFAULT_EGRESS): Promise<boolean> {
    const body = JSON.stringify({
      token: refreshToken,
      token_type_hint: 'refresh_token',
      client_id: this.config.OAUTH_CLIENT_ID,
    });
    try {
      const res = await this.post(
        '/oauth/revoke',
        {
          'content-type': 'application/json',
          ...clientProfileHeaders(this.config, 'short', LOGOUT_ORIGINATOR),
          accept: '*/*',
        },
        body,
        via,
      );
      if (!res.ok) this.logger.warn({ status: res.status }, 'token revocation refused');
      return res.ok;
    } catch (err) {
      this.logger.warn({ err: classifyNetworkError(err).code }, 'token revocation failed');
      return false;
    }
  }
}
