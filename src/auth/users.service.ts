import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { limitsOf, type RequestAuth } from '../common/auth-context.js';
import { KeyCacheService } from '../keys/key-cache.service.js';
import { KeysRepository } from '../keys/keys.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { UsersRepository, type UserRow } from './users.repository.js';
import { dummyHash, hashPassword, verifyPassword } from './password.js';
import { UUID } from '../common/validation.js';
import type { CreateUserInput, UpdateUserInput } from './dto/users.dto.js';
import { SessionsService } from './sessions.service.js';
import { RedisService } from '../redis/redis.service.js';

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'P2002';
}

/** Users with roles; the first admin from ADMIN_EMAIL/ADMIN_PASSWORD (created once, never overwritten). */
@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger('users');
  constructor(
    private readonly repo: UsersRepository,
    private readonly keys: KeysRepository,
    private readonly auditLog: AuditRepository,
    private readonly cache: KeyCacheService,
    private readonly sessions: SessionsService,
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.ensureBootstrapAdmin();
  }

  /** Race-safe across replicas: the unique email makes concurrent creates collapse into one row. */
  async ensureBootstrapAdmin(): Promise<void> {
    const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = this.config;
    if (!email || !password) return;
    const normalized = email.toLowerCase();
    if (await this.repo.findUserByEmail(normalized)) return;
    try {
      const user = await this.repo.createUser({
        email: normalized,
        name: 'Admin',
        role: 'admin',
        passwordHash: await hashPassword(password),
      });
      await this.auditLog.audit({
        actorType: 'system',
        action: 'user.bootstrap_admin',
        targetType: 'user',
        targetId: user.id,
      });
      this.logger.log({ userId: user.id }, 'bootstrap admin created');
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }

  async list() {
    return (await this.repo.listUsers()).map(presentUser);
  }

  async create(actor: RequestAuth, input: CreateUserInput) {
    if (input.role === 'admin') await this.reauthenticate(actor, input.currentPassword, 'create an admin');
    try {
      const user = await this.repo.createUser({
        email: input.email.toLowerCase(),
        name: input.name,
        role: input.role,
        passwordHash: input.password ? await hashPassword(input.password) : null,
        monthlyBudgetUsd: input.monthlyBudgetUsd ?? null,
      });
      await this.audit(actor, 'user.create', user.id, {
        role: user.role,
        ...(input.monthlyBudgetUsd ? { monthlyBudgetUsd: input.monthlyBudgetUsd } : {}),
      });
      return presentUser(user);
    } catch (err) {
      if (isUniqueViolation(err)) throw ApiError.conflict('A user with this email exists.', 'email');
      throw err;
    }
  }

  /**
   * Name, role, disabled, password (optionally revoking the user's keys) and the user's limits. Creating or
   * promoting an admin and setting an admin's password need a session and the acting admin's password
   * (`reauthenticate`). A password change ends the user's sessions (all but the caller's own when it is their
   * own password). A limit change reaches every replica's key cache at once (invalidation by user).
   */
  async update(actor: RequestAuth, id: string, input: UpdateUserInput) {
    const user = await this.find(id);
    if (id === actor.userId && (input.role === 'member' || input.disabled === true)) {
      throw ApiError.badRequest('You cannot demote or disable yourself.', null, 'self_lockout');
    }
    if (input.revokeKeys !== undefined && input.password === undefined)
      throw ApiError.badRequest(
        "'revokeKeys' goes with a new 'password'; to revoke keys alone, revoke them on the keys page.",
        'revokeKeys',
        'invalid_value',
      );
    const removesAdmin = user.role === 'admin' && (input.role === 'member' || input.disabled === true);
    if (removesAdmin) await this.keepAnAdmin(user.id);
    if (input.role === 'admin' && user.role !== 'admin')
      await this.reauthenticate(actor, input.currentPassword, 'promote a user to admin');
    else if (removesAdmin)
      await this.reauthenticate(actor, input.currentPassword, 'demote or disable an admin');
    else if (input.password !== undefined && user.role === 'admin')
      await this.reauthenticate(actor, input.currentPassword, "set an admin's password");
    const bigint = (v: number | null | undefined) =>
      v === undefined ? undefined : v === null ? null : BigInt(v);
    const updated = await this.repo.updateUser(id, {
      name: input.name,
      role: input.role,
      disabled: input.disabled,
      passwordHash: input.password ? await hashPassword(input.password) : undefined,
      rpm: input.rpm,
      tpm: input.tpm,
      dailyTokenQuota: bigint(input.dailyTokenQuota),
      monthlyTokenQuota: bigint(input.monthlyTokenQuota),
      monthlyBudgetUsd: input.monthlyBudgetUsd,
    });
    const revoked = input.password && input.revokeKeys ? await this.keys.revokeUserKeys(id) : [];
    for (const hash of revoked) await this.cache.invalidate({ hash });
    await this.cache.invalidate({ userId: id });
    if (input.disabled || (input.role === 'member' && user.role === 'admin') || input.password) {
      // Your own password change keeps the session you made it from.
      await this.sessions.destroyAll(id, id === actor.userId ? actor.sessionId : undefined);
    }
    const fields = Object.keys(input)
      .filter((f) => f !== 'currentPassword')
      .map((f) => (f === 'password' ? 'password(changed)' : f));
    await this.audit(actor, 'user.update', id, {
      fields,
      role: input.role ?? null,
      disabled: input.disabled ?? null,
      ...('monthlyBudgetUsd' in input ? { monthlyBudgetUsd: input.monthlyBudgetUsd } : {}),
      ...(input.revokeKeys ? { revokedKeys: revoked.length } : {}),
    });
    return { ...presentUser(updated), ...(input.revokeKeys ? { revokedKeys: revoked.length } : {}) };
  }

  /**
   * Creating or promoting an admin, or setting an admin's password, hands over the whole gateway: it needs a
   * signed-in session (a leaked admin key must not mint admins or take over an admin account) and the acting
   * admin's own password (a session left open on a laptop is not enough). Wrong passwords count towards
   * LOGIN_MAX_FAILURES_PER_ACCOUNT per LOGIN_THROTTLE_WINDOW_SECONDS (then 429), counted before the check.
   */
  async reauthenticate(actor: RequestAuth, currentPassword: string | undefined, what: string) {
    if (actor.kind !== 'session')
      throw ApiError.forbidden(
        `To ${what} you need a signed-in session (and your password), not an API key.`,
        'session_required',
      );
    if (!currentPassword && (await this.freshSso(actor, what))) return;
    if (!currentPassword)
      throw ApiError.badRequest(
        `To ${what}, confirm with your own password in 'currentPassword'.`,
        'currentPassword',
        'current_password_required',
      );
    const counter = this.redis.key('reauth-fail', actor.userId);
    const windowMs = this.config.LOGIN_THROTTLE_WINDOW_SECONDS * 1000;
    // SET NX starts the window with its TTL; INCR keeps it (one MULTI: no counter without expiry).
    const [, [, n], [, pttl]] = (await this.redis.client
      .multi()
      .set(counter, 0, 'PX', windowMs, 'NX')
      .incr(counter)
      .pttl(counter)
      .exec()) as [unknown, [null, number], [null, number]];
    if (n > this.config.LOGIN_MAX_FAILURES_PER_ACCOUNT)
      throw ApiError.rateLimited(
        'Too many wrong passwords. Try again later.',
        Math.max(1, Number(pttl)) / 1000,
        'too_many_attempts',
      );
    const me = await this.repo.findUser(actor.userId);
    if (!(await verifyPassword(currentPassword, me?.passwordHash ?? (await dummyHash())))) {
      await this.audit(actor, 'auth.reauth_failed', actor.userId, { for: what });
      throw ApiError.forbidden('Your password (currentPassword) is wrong.', 'current_password_invalid');
    }
    await this.redis.client.del(counter);
  }

  /**
   * "Or a fresh SSO sign-in": a session opened by SSO within SSO_REAUTH_MAX_AGE_SECONDS stands in for the
   * password. An SSO-only admin (no password) with an older session gets 403 `fresh_sso_required`; the web admin
   * then sends them through the IdP again (`/admin/api/auth/oidc/start?reauth=1`).
   */
  private async freshSso(actor: RequestAuth, what: string): Promise<boolean> {
    const session = actor.sessionId ? await this.sessions.get(actor.sessionId) : null;
    if (!session || session.via !== 'oidc') return false;
    if (Date.now() - session.createdAt <= this.config.SSO_REAUTH_MAX_AGE_SECONDS * 1000) {
      await this.audit(actor, 'auth.reauth_sso', actor.userId, { for: what });
      return true;
    }
    const me = await this.repo.findUser(actor.userId);
    if (me?.passwordHash) return false;
    throw ApiError.forbidden(
      `To ${what}, sign in again with single sign-on (your sign-in is older than ${this.config.SSO_REAUTH_MAX_AGE_SECONDS} s).`,
      'fresh_sso_required',
    );
  }

  async remove(actor: RequestAuth, id: string, currentPassword?: string) {
    const user = await this.find(id);
    if (id === actor.userId) throw ApiError.badRequest('You cannot delete yourself.', null, 'self_lockout');
    if (user.role === 'admin') {
      await this.keepAnAdmin(id);
      await this.reauthenticate(actor, currentPassword, 'delete an admin');
    }
    const hashes = await this.keys.revokeUserKeys(id);
    await this.repo.deleteUser(id);
    for (const hash of hashes) await this.cache.invalidate({ hash });
    await this.cache.invalidate({ userId: id });
    await this.sessions.destroyAll(id);
    await this.audit(actor, 'user.delete', id, { revokedKeys: hashes.length });
    return { id, deleted: true };
  }

  /** The gateway always keeps one active admin: removing the last one is 409 `last_admin`. */
  private async keepAnAdmin(id: string): Promise<void> {
    if ((await this.repo.countOtherActiveAdmins(id)) === 0)
      throw ApiError.conflict('This is the last active admin; make another admin first.', null, 'last_admin');
  }

  /** The user, or 404 (also for a malformed id). */
  async find(id: string): Promise<UserRow> {
    const user = UUID.test(id) ? await this.repo.findUser(id) : null;
    if (!user) throw ApiError.notFound('No such user.');
    return user;
  }

  /** Audits an admin's action on a user (also used by invites/). */
  async audit(actor: RequestAuth, action: string, userId: string, details: Record<string, unknown>) {
    await this.auditLog.audit({
      actorType: actor.kind === 'key' ? 'key' : 'user',
      actorId: actor.kind === 'key' ? actor.keyId : actor.userId,
      action,
      targetType: 'user',
      targetId: userId,
      details: details as never,
    });
  }
}

export function presentUser(u: UserRow) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    disabled: u.disabled,
    hasPassword: !!u.passwordHash,
    limits: limitsOf(u),
    createdAt: u.createdAt.toISOString(),
  };
}
