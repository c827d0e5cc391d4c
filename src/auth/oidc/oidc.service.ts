import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import * as oidc from 'openid-client';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { RedisService } from '../../redis/redis.service.js';
import { AuditRepository } from '../../audit/audit.repository.js';
import { UsersRepository, type UserRow } from '../users.repository.js';
import { SessionsService } from '../sessions.service.js';
import { SignInService } from '../sign-in.service.js';
import { InvitesRepository } from '../invites.repository.js';

/** Why an SSO sign-in was refused; the sign-in page turns the code into a sentence (web/src/pages/SignIn.tsx). */
export type SsoRefusal =
  | 'sso_flow_expired'
  | 'sso_flow_replayed'
  | 'sso_state_mismatch'
  | 'sso_nonce_mismatch'
  | 'sso_idp_error'
  | 'sso_email_unverified'
  | 'sso_domain_not_allowed'
  | 'sso_user_disabled'
  | 'sso_invite_email_mismatch'
  | 'sso_invite_used'
  | 'sso_failed';

export class SsoRefused extends Error {
  constructor(
    readonly code: SsoRefusal,
    readonly details: Record<string, string> = {},
  ) {
    super(code);
  }
  /** Set when the refused flow came from an invite link (the browser goes back to the invite page). */
  invite = false;
}

/** What a sign-in is for, besides signing in: an invite to use up, or a fresh sign-in to confirm an admin action. */
export interface FlowPurpose {
  /** SHA-256 of the invite token this sign-in completes (invites/invites.service.ts). */
  inviteHash?: string;
  /** Re-authentication: the IdP is asked to sign the person in again (`prompt=login`, `max_age`). */
  reauth?: boolean;
  /** Web admin path to return to afterwards (starts with one `/`). */
  returnTo?: string;
}

interface Flow extends FlowPurpose {
  state: string;
  nonce: string;
  verifier: string;
}

export interface SsoSignIn {
  sid: string;
  user: UserRow;
  returnTo?: string;
}

export const OIDC_CALLBACK_PATH = '/admin/api/auth/oidc/callback';

/**
 * OpenID Connect sign-in (authorization code + PKCE, state and nonce) with `openid-client`: issuer discovery,
 * ID token validation and JWKS fetching/rotation are the library's. The flow (state, nonce, PKCE verifier) sits
 * in Redis under the SHA-256 of a random id that only the browser's `cg_oidc` cookie holds; the callback takes it
 * out atomically (GETDEL), so a flow is used at most once, and leaves a "used" mark so a replay is named as such.
 */
@Injectable()
export class OidcService {
  private readonly log = new Logger('oidc');
  private discovered: Promise<oidc.Configuration> | null = null;

  constructor(
    private readonly redis: RedisService,
    private readonly repo: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly signInService: SignInService,
    private readonly auditLog: AuditRepository,
    private readonly invites: InvitesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get enabled(): boolean {
    return !!this.config.OIDC_ISSUER && !!this.config.OIDC_CLIENT_ID;
  }

  get redirectUri(): string {
    return this.config.PUBLIC_URL + OIDC_CALLBACK_PATH;
  }

  /** Discovery once per process (retried after a failure); the library caches and rotates the JWKS. */
  private client(): Promise<oidc.Configuration> {
    if (!this.discovered) {
      const issuer = new URL(this.config.OIDC_ISSUER!);
      const secret = this.config.OIDC_CLIENT_SECRET;
      this.discovered = oidc
        .discovery(
          issuer,
          this.config.OIDC_CLIENT_ID!,
          secret ? { client_secret: secret } : undefined,
          secret ? oidc.ClientSecretBasic(secret) : oidc.None(),
          // Plain http only for an issuer on this machine (tests, a local Keycloak); never on the network.
          isLoopbackHttp(issuer) ? { execute: [oidc.allowInsecureRequests] } : undefined,
        )
        .catch((err: unknown) => {
          this.discovered = null;
          throw err;
        });
    }
    return this.discovered;
  }

  private flowKey(id: string): string {
    return this.redis.key('oidc-flow', createHash('sha256').update(id).digest('hex'));
  }
  private usedKey(id: string): string {
    return this.redis.key('oidc-flow-used', createHash('sha256').update(id).digest('hex'));
  }

  /** Starts a sign-in: returns the IdP URL to send the browser to and the flow id for its cookie. */
  async start(purpose: FlowPurpose = {}): Promise<{ url: string; flowId: string }> {
    const config = await this.client();
    const flow: Flow = {
      ...purpose,
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
    };
    const flowId = randomBytes(32).toString('base64url');
    await this.redis.client.set(
      this.flowKey(flowId),
      JSON.stringify(flow),
      'EX',
      this.config.OIDC_FLOW_TTL_SECONDS,
    );
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: this.config.OIDC_SCOPES,
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      // A re-authentication asks the IdP to sign the person in again; so does an invite, so someone signed in
      // at the IdP with another account can pick the invited one (else a mismatch would repeat forever).
      ...(purpose.reauth
        ? { prompt: 'login', max_age: String(this.config.SSO_REAUTH_MAX_AGE_SECONDS) }
        : purpose.inviteHash
          ? { prompt: 'login' }
          : {}),
    });
    return { url: url.href, flowId };
  }

  /**
   * Finishes a sign-in from the callback's query string. Returns a new session for the user (created or linked
   * by verified email, role from the groups) or throws SsoRefused; every outcome is audited.
   */
  async finish(flowId: string | null, query: string, ip: string): Promise<SsoSignIn> {
    let flow: Flow | null = null;
    try {
      flow = await this.takeFlow(flowId);
      const params = new URLSearchParams(query);
      if (params.get('state') !== flow.state) throw new SsoRefused('sso_state_mismatch');
      if (params.get('error'))
        throw new SsoRefused('sso_idp_error', { error: params.get('error')!.slice(0, 64) });
      const claims = await this.exchange(flow, query);
      return { ...(await this.signIn(claims, ip, flow.inviteHash)), returnTo: flow.returnTo };
    } catch (err) {
      const refusal =
        err instanceof SsoRefused ? err : new SsoRefused('sso_failed', { error: describe(err) });
      refusal.invite = !!flow?.inviteHash;
      if (refusal.code === 'sso_failed') this.log.warn(`SSO sign-in failed: ${refusal.details.error}`);
      await this.auditLog.audit({
        actorType: 'anonymous',
        action: 'auth.sso_refused',
        details: { ip, reason: refusal.code, ...refusal.details },
      });
      throw refusal;
    }
  }

  private async takeFlow(flowId: string | null): Promise<Flow> {
    if (!flowId) throw new SsoRefused('sso_flow_expired');
    const raw = await this.redis.client.getdel(this.flowKey(flowId));
    if (!raw) {
      const used = await this.redis.client.exists(this.usedKey(flowId));
      throw new SsoRefused(used ? 'sso_flow_replayed' : 'sso_flow_expired');
    }
    await this.redis.client.set(this.usedKey(flowId), '1', 'EX', this.config.OIDC_FLOW_TTL_SECONDS);
    return JSON.parse(raw) as Flow;
  }

  /** Code → tokens (PKCE, state, nonce and ID token checked by the library), then userinfo when offered. */
  private async exchange(flow: Flow, query: string): Promise<Record<string, unknown>> {
    const config = await this.client();
    // The callback URL is rebuilt from PUBLIC_URL: the Host header is never trusted.
    const current = new URL(this.redirectUri);
    current.search = query;
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
        ...(flow.reauth ? { maxAge: this.config.SSO_REAUTH_MAX_AGE_SECONDS } : {}),
      });
    } catch (err) {
      if (claimOf(err) === 'nonce') throw new SsoRefused('sso_nonce_mismatch');
      throw err;
    }
    const idClaims = tokens.claims()!;
    let info: Record<string, unknown> = {};
    if (config.serverMetadata().userinfo_endpoint)
      info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    return { ...idClaims, ...info, sub: idClaims.sub };
  }

  private async signIn(claims: Record<string, unknown>, ip: string, inviteHash?: string) {
    const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
    const verified = claims.email_verified === true || claims.email_verified === 'true';
    const sub = String(claims.sub);
    if (!email || !verified) throw new SsoRefused('sso_email_unverified', { sub });
    const domain = email.slice(email.lastIndexOf('@') + 1);
    const allowed = this.config.OIDC_ALLOWED_DOMAINS.map((d) => d.toLowerCase());
    if (allowed.length && !allowed.includes(domain))
      throw new SsoRefused('sso_domain_not_allowed', { domain });

    const raw = claims[this.config.OIDC_GROUPS_CLAIM];
    const groups = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
    const adminGroups = this.config.OIDC_ADMIN_GROUPS;
    const isAdmin = groups.some((g) => adminGroups.includes(g));
    const name = typeof claims.name === 'string' ? claims.name.slice(0, 200) : '';

    if (inviteHash) await this.useInvite(inviteHash, email);
    let user = await this.repo.findUserByEmail(email);
    if (!user) {
      user = await this.repo.createUser({ email, name, role: isAdmin ? 'admin' : 'member' });
      await this.auditLog.audit({
        actorType: 'sso',
        action: 'user.create',
        targetType: 'user',
        targetId: user.id,
        details: { role: user.role, via: 'oidc' },
      });
    } else {
      if (user.disabled) throw new SsoRefused('sso_user_disabled', { userId: user.id });
      // With admin groups configured the IdP decides the role at every sign-in; without, roles stay local.
      const role = adminGroups.length ? (isAdmin ? 'admin' : 'member') : user.role;
      if (role !== user.role) {
        const from = user.role;
        user = await this.repo.updateUser(user.id, { role });
        // A demoted admin's other sessions must not keep admin power until they expire.
        await this.sessions.destroyAll(user.id);
        await this.auditLog.audit({
          actorType: 'sso',
          action: 'user.role_synced',
          targetType: 'user',
          targetId: user.id,
          details: { from, to: role, via: 'oidc' },
        });
      }
    }
    return { sid: await this.signInService.openSession(user.id, ip, 'oidc'), user };
  }

  /**
   * An SSO sign-in through an invite link: the IdP's verified email must be the invited user's (the invite
   * names who may take the account); the invite is then used up, once.
   */
  private async useInvite(hash: string, email: string): Promise<void> {
    const invite = await this.invites.findByHash(hash);
    if (!invite || invite.user.email !== email)
      throw new SsoRefused('sso_invite_email_mismatch', { email: email.slice(0, 320) });
    if (!(await this.invites.markUsed(invite.id, 'oidc'))) throw new SsoRefused('sso_invite_used');
    await this.auditLog.audit({
      actorType: 'user',
      actorId: invite.userId,
      action: 'invite.accept',
      targetType: 'user',
      targetId: invite.userId,
      details: { inviteId: invite.id, via: 'oidc' },
    });
  }
}

function isLoopbackHttp(u: URL): boolean {
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

/** The claim a failed ID token check names (openid-client → oauth4webapi error → `{ claim }`). */
function claimOf(err: unknown): string | undefined {
  for (let e = err as { cause?: unknown; claim?: unknown } | undefined, i = 0; e && i < 4; i++) {
    if (typeof e.claim === 'string') return e.claim;
    e = e.cause as typeof e;
  }
  return undefined;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; error?: string };
  return [e?.code, e?.error, e?.message].filter(Boolean).join(': ').slice(0, 300) || 'unknown error';
}
