import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import type { RequestAuth } from './auth-context.js';
import { KeyCacheService } from '../keys/key-cache.service.js';
import { KeysRepository, type UserRow } from '../keys/keys.repository.js';
import { hashPassword } from './password.js';
import { UUID } from '../keys/dto/keys.dto.js';
import { SessionsService } from './sessions.service.js';

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'P2002';
}

/** Users with roles; the first admin from ADMIN_EMAIL/ADMIN_PASSWORD (created once, never overwritten). */
@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger('users');
  constructor(
    private readonly repo: KeysRepository,
    private readonly cache: KeyCacheService,
    private readonly sessions: SessionsService,
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
      await this.repo.audit({
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

  async create(
    actor: RequestAuth,
    input: { email: string; name: string; role: 'admin' | 'member'; password?: string },
  ) {
    try {
      const user = await this.repo.createUser({
        email: input.email.toLowerCase(),
        name: input.name,
        role: input.role,
        passwordHash: input.password ? await hashPassword(input.password) : null,
      });
      await this.audit(actor, 'user.create', user.id, { role: user.role });
      return presentUser(user);
    } catch (err) {
      if (isUniqueViolation(err)) throw ApiError.conflict('A user with this email exists.', 'email');
      throw err;
    }
  }

  async update(
    actor: RequestAuth,
    id: string,
    input: { name?: string; role?: 'admin' | 'member'; disabled?: boolean; password?: string },
  ) {
    const user = await this.find(id);
    if (id === actor.userId && (input.role === 'member' || input.disabled === true)) {
      throw ApiError.badRequest('You cannot demote or disable yourself.', null, 'self_lockout');
    }
    const updated = await this.repo.updateUser(id, {
      name: input.name,
      role: input.role,
      disabled: input.disabled,
      passwordHash: input.password ? await hashPassword(input.password) : undefined,
    });
    await this.cache.invalidate({ userId: id });
    if (input.disabled || (input.role === 'member' && user.role === 'admin') || input.password) {
      await this.sessions.destroyAll(id);
    }
    const fields = Object.keys(input).map((f) => (f === 'password' ? 'password(changed)' : f));
    await this.audit(actor, 'user.update', id, {
      fields,
      role: input.role ?? null,
      disabled: input.disabled ?? null,
    });
    return presentUser(updated);
  }

  async remove(actor: RequestAuth, id: string) {
    await this.find(id);
    if (id === actor.userId) throw ApiError.badRequest('You cannot delete yourself.', null, 'self_lockout');
    const hashes = await this.repo.revokeUserKeys(id);
    await this.repo.deleteUser(id);
    for (const hash of hashes) await this.cache.invalidate({ hash });
    await this.cache.invalidate({ userId: id });
    await this.sessions.destroyAll(id);
    await this.audit(actor, 'user.delete', id, { revokedKeys: hashes.length });
    return { id, deleted: true };
  }

  private async find(id: string): Promise<UserRow> {
    const user = UUID.test(id) ? await this.repo.findUser(id) : null;
    if (!user) throw ApiError.notFound('No such user.');
    return user;
  }

  private async audit(actor: RequestAuth, action: string, userId: string, details: Record<string, unknown>) {
    await this.repo.audit({
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
    createdAt: u.createdAt.toISOString(),
  };
}
