import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { ApiError } from '../../common/errors.js';
import type { RequestAuth } from '../../common/auth-context.js';
import { AuditRepository } from '../../audit/audit.repository.js';
import { UsersRepository, type UserRow } from '../users.repository.js';
import { UsersService, presentUser } from '../users.service.js';
import { SessionsService } from '../sessions.service.js';
import { SignInService } from '../sign-in.service.js';
import { hashPassword } from '../password.js';
import { OidcService } from '../oidc/oidc.service.js';
import { InvitesRepository, type InviteRow } from '../invites.repository.js';

/** Invite tokens: `cginv_` + 32 random bytes (base64url). Scrubbed from logs like keys (common/logger.ts). */
const TOKEN_RE = /^cginv_[A-Za-z0-9_-]{43}$/;
export const hashInviteToken = (t: string) => createHash('sha256').update(t).digest('hex');

export type InviteState = 'open' | 'used' | 'expired' | 'revoked';

export function inviteState(
  i: Pick<InviteRow, 'usedAt' | 'revokedAt' | 'expiresAt'>,
  now = Date.now(),
): InviteState {
  if (i.usedAt) return 'used';
  if (i.revokedAt) return 'revoked';
  return i.expiresAt.getTime() <= now ? 'expired' : 'open';
}

/**
 * One-time invite links: an admin issues one for a user (shown once; only its SHA-256 is stored; a reissue
 * revokes the previous one); the invited person opens it, then sets a password or signs in with SSO through it
 * (the SSO email must be the invited user's). Used, expired and revoked links are refused with their own code.
 */
@Injectable()
export class InvitesService {
  constructor(
    private readonly invites: InvitesRepository,
    private readonly users: UsersRepository,
    private readonly usersService: UsersService,
    private readonly sessions: SessionsService,
    private readonly signIn: SignInService,
    private readonly oidc: OidcService,
    private readonly auditLog: AuditRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async issue(actor: RequestAuth, userId: string, currentPassword?: string) {
    const user = await this.usersService.find(userId);
    if (user.disabled)
      throw ApiError.conflict('This user is disabled; enable them before inviting.', null, 'user_disabled');
    // An invite to an admin account hands that account over: the same proof as setting an admin's password.
    if (user.role === 'admin')
      await this.usersService.reauthenticate(actor, currentPassword, 'invite an admin');
    const token = 'cginv_' + randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.config.INVITE_TTL_SECONDS * 1000);
    const { invite, replaced } = await this.invites.issue({
      userId,
      hash: hashInviteToken(token),
      createdBy: actor.userId,
      expiresAt,
    });
    await this.usersService.audit(actor, replaced ? 'invite.reissue' : 'invite.create', userId, {
      inviteId: invite.id,
      expiresAt: expiresAt.toISOString(),
    });
    return {
      id: invite.id,
      userId,
      url: `${this.config.PUBLIC_URL.replace(/\/+$/, '')}/admin/invite?token=${token}`,
      expiresAt: expiresAt.toISOString(),
      replaced: replaced > 0,
    };
  }

  async revoke(actor: RequestAuth, userId: string) {
    await this.usersService.find(userId);
    const revoked = await this.invites.revokeOpen(userId);
    if (!revoked) throw ApiError.notFound('This user has no open invite.', null, 'invite_not_found');
    await this.usersService.audit(actor, 'invite.revoke', userId, {});
    return { userId, revoked: true };
  }

  async status(userId: string) {
    await this.usersService.find(userId);
    const i = await this.invites.latestFor(userId);
    return {
      userId,
      invite: i
        ? {
            id: i.id,
            state: inviteState(i),
            expiresAt: i.expiresAt.toISOString(),
            usedAt: i.usedAt?.toISOString() ?? null,
            usedVia: (i.usedVia as 'password' | 'oidc' | null) ?? null,
            createdAt: i.createdAt.toISOString(),
          }
        : null,
    };
  }

  /** What the invite page shows; a used, expired or revoked link is 410 with its own code, an unknown one 404. */
  async inspect(token: string) {
    const { invite, user } = await this.open(token);
    return {
      email: user.email,
      name: user.name,
      role: user.role,
      expiresAt: invite.expiresAt.toISOString(),
      canSetPassword: this.canSetPassword(user),
      sso: this.oidc.enabled ? { label: this.config.OIDC_LABEL } : null,
    };
  }

  /** Sets the password and signs the person in; the invite is used up (atomically: a second use is 410). */
  async accept(token: string, password: string, ip: string) {
    const { invite, user } = await this.open(token);
    if (!this.canSetPassword(user))
      throw ApiError.forbidden(
        'Password sign-in is turned off here. Use single sign-on.',
        'local_signin_disabled',
      );
    if (!(await this.invites.markUsed(invite.id, 'password'))) throw this.refusal('used');
    await this.users.updateUser(user.id, { passwordHash: await hashPassword(password) });
    await this.sessions.destroyAll(user.id);
    await this.auditLog.audit({
      actorType: 'user',
      actorId: user.id,
      action: 'invite.accept',
      targetType: 'user',
      targetId: user.id,
      details: { inviteId: invite.id, via: 'password', ip },
    });
    const sid = await this.signIn.openSession(user.id, ip);
    return { sid, user: presentUser((await this.users.findUser(user.id))!) };
  }

  /** Starts an SSO sign-in bound to the invite; the callback uses it up (oidc.service.ts). */
  async startSso(token: string) {
    if (!this.oidc.enabled)
      throw ApiError.notFound(
        'Single sign-on is not configured on this gateway.',
        null,
        'sso_not_configured',
      );
    await this.open(token);
    return this.oidc.start({ inviteHash: hashInviteToken(token) });
  }

  /** LOCAL_SIGNIN decides whether an invite may set a password (else it is SSO only). */
  private canSetPassword(user: UserRow): boolean {
    const local = this.config.LOCAL_SIGNIN;
    return local === 'all' || (local === 'admins' && user.role === 'admin');
  }

  private async open(token: string): Promise<{ invite: InviteRow; user: UserRow }> {
    const row = TOKEN_RE.test(token) ? await this.invites.findByHash(hashInviteToken(token)) : null;
    if (!row)
      throw ApiError.notFound(
        'This invite link is not valid. Ask your admin for a new one.',
        'token',
        'invite_invalid',
      );
    const state = inviteState(row);
    if (state !== 'open') throw this.refusal(state);
    if (row.user.disabled) throw this.refusal('revoked');
    const { user, ...invite } = row;
    return { invite, user };
  }

  private refusal(state: Exclude<InviteState, 'open'>): ApiError {
    const text = {
      used: 'This invite link was already used. Sign in instead, or ask your admin for a new link.',
      expired: 'This invite link has expired. Ask your admin for a new one.',
      revoked: 'This invite link was withdrawn. Ask your admin for a new one.',
    }[state];
    return ApiError.gone(text, 'token', `invite_${state}`);
  }
}
