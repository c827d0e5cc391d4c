import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { isModelAllowed } from './model-access.js';
import { ApiError } from '../common/errors.js';
import { limitsOf, type RequestAuth } from '../common/auth-context.js';
import { KeyCacheService } from './key-cache.service.js';
import { displayPrefix, generateKey, hashKey } from './key-format.js';
import { KeysRepository, type KeyRow } from './keys.repository.js';
import { UUID } from '../common/validation.js';
import type { CreateKeyInput, UpdateKeyInput } from './dto/keys.dto.js';
import { SettingsService } from '../settings/settings.service.js';
import { AuditRepository, type AuditEntry } from '../audit/audit.repository.js';

/** Virtual keys: create (plain key returned once), list, update, revoke, rotate; members only their own `api` keys. */
@Injectable()
export class KeysService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: KeysRepository,
    private readonly cache: KeyCacheService,
    private readonly settings: SettingsService,
    private readonly auditLog: AuditRepository,
  ) {}

  private async assertMemberMayManage(actor: RequestAuth): Promise<void> {
    if (actor.role === 'admin' && (actor.kind === 'session' || actor.scope === 'admin')) return;
    if (!(await this.settings.membersCanCreateKeys())) {
      throw ApiError.forbidden('Members may not manage keys here; ask an admin.', 'admin_required');
    }
  }
  private isAdmin(actor: RequestAuth): boolean {
    return actor.role === 'admin' && (actor.kind === 'session' || actor.scope === 'admin');
  }

  async list(actor: RequestAuth, userId?: string) {
    await this.assertMemberMayManage(actor);
    const owner = this.isAdmin(actor) ? userId : actor.userId;
    const rows = await this.repo.listKeys({ userId: owner });
    return rows.map(present);
  }

  async get(actor: RequestAuth, id: string) {
    return present(await this.owned(actor, id));
  }

  async create(actor: RequestAuth, input: CreateKeyInput) {
    await this.assertMemberMayManage(actor);
    const admin = this.isAdmin(actor);
    const userId = admin ? (input.userId ?? actor.userId) : actor.userId;
    if (!admin && input.userId && input.userId !== actor.userId)
      throw ApiError.forbidden('Members create keys only for themselves.');
    if (!admin && input.scope === 'admin')
      throw ApiError.forbidden('Members cannot create admin keys.', 'admin_required');
    const owner = await this.repo.findOwner(userId);
    if (!owner) throw ApiError.notFound('No such user.', 'userId');
    if ((await this.repo.countActiveKeys(userId)) >= this.config.MAX_KEYS_PER_USER)
      throw ApiError.conflict(
        `This user already has ${this.config.MAX_KEYS_PER_USER} active keys (MAX_KEYS_PER_USER); revoke one first.`,
        null,
        'key_limit_reached',
      );
    if (input.scope === 'admin' && owner.role !== 'admin') {
      throw ApiError.badRequest('Admin keys can only belong to admins.', 'scope');
    }
    if (!admin) assertWithinUserLimits(input, limitsOf(owner));
    const key = generateKey();
    const row = await this.repo.createKey({
      userId,
      name: input.name,
      prefix: displayPrefix(key),
      hash: hashKey(key),
      scope: input.scope,
      allowedModels: input.allowedModels,
      rpm: input.rpm ?? null,
      tpm: input.tpm ?? null,
      dailyTokenQuota: input.dailyTokenQuota ?? null,
      monthlyTokenQuota: input.monthlyTokenQuota ?? null,
      monthlyBudgetUsd: input.monthlyBudgetUsd ?? null,
      expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
    });
    // A replica may hold a negative entry for this hash (someone probed it): clear it everywhere.
    await this.cache.invalidate({ hash: row.hash });
    await this.audit(actor, 'key.create', row.id, {
      name: row.name,
      scope: row.scope,
      userId,
      ...(input.monthlyBudgetUsd ? { monthlyBudgetUsd: input.monthlyBudgetUsd } : {}),
    });
    return { ...present(row), key };
  }

  async update(actor: RequestAuth, id: string, input: UpdateKeyInput) {
    const row = await this.owned(actor, id);
    if (row.revokedAt) throw ApiError.badRequest('This key is revoked.', null, 'key_revoked');
    if (
      !this.isAdmin(actor) &&
      ['rpm', 'tpm', 'dailyTokenQuota', 'monthlyTokenQuota', 'monthlyBudgetUsd'].some((f) => f in input)
    ) {
      throw ApiError.forbidden('Only admins change limits.', 'admin_required');
    }
    assertKeyPolicy(row, input, this.isAdmin(actor));
    const updated = await this.repo.updateKey(id, {
      name: input.name,
      allowedModels: input.allowedModels,
      rpm: input.rpm,
      tpm: input.tpm,
      dailyTokenQuota: input.dailyTokenQuota,
      monthlyTokenQuota: input.monthlyTokenQuota,
      monthlyBudgetUsd: input.monthlyBudgetUsd,
      expiresAt:
        input.expiresAt === undefined ? undefined : input.expiresAt ? new Date(input.expiresAt) : null,
    });
    await this.cache.invalidate({ hash: row.hash });
    await this.audit(actor, 'key.update', id, {
      fields: Object.keys(input),
      ...('monthlyBudgetUsd' in input ? { monthlyBudgetUsd: input.monthlyBudgetUsd } : {}),
    });
    return present(updated);
  }

  async revoke(actor: RequestAuth, id: string) {
    const row = await this.owned(actor, id);
    const updated = row.revokedAt ? row : await this.repo.updateKey(id, { revokedAt: new Date() });
    await this.cache.invalidate({ hash: row.hash });
    if (!row.revokedAt) await this.audit(actor, 'key.revoke', id, {});
    return present(updated);
  }

  async rotate(actor: RequestAuth, id: string) {
    const row = await this.owned(actor, id);
    if (row.revokedAt) throw ApiError.badRequest('This key is revoked.', null, 'key_revoked');
    const key = generateKey();
    const created = await this.repo.rotateKey(id, {
      userId: row.userId,
      name: row.name,
      prefix: displayPrefix(key),
      hash: hashKey(key),
      scope: row.scope,
      allowedModels: row.allowedModels,
      rpm: row.rpm,
      tpm: row.tpm,
      dailyTokenQuota: row.dailyTokenQuota,
      monthlyTokenQuota: row.monthlyTokenQuota,
      monthlyBudgetUsd: row.monthlyBudgetUsd,
      expiresAt: row.expiresAt,
    });
    await this.cache.invalidate({ hash: row.hash });
    await this.cache.invalidate({ hash: created.hash });
    await this.audit(actor, 'key.rotate', created.id, { replaces: id });
    return { ...present(created), key, replaces: id };
  }

  private async owned(actor: RequestAuth, id: string): Promise<KeyRow> {
    const row = UUID.test(id) ? await this.repo.findKey(id) : null;
    if (!row) throw ApiError.notFound('No such key.');
    if (!this.isAdmin(actor)) {
      await this.assertMemberMayManage(actor);
      if (row.userId !== actor.userId) throw ApiError.notFound('No such key.');
    }
    return row;
  }

  private async audit(actor: RequestAuth, action: string, keyId: string, details: Record<string, unknown>) {
    await this.auditLog.audit(keyAudit(actor, action, keyId, details));
  }
}

/** The audit entry of an action an admin or member took on a key. */
export function keyAudit(
  actor: RequestAuth,
  action: string,
  keyId: string,
  details: Record<string, unknown>,
): AuditEntry {
  return {
    actorType: actor.kind === 'key' ? 'key' : 'user',
    actorId: actor.kind === 'key' ? actor.keyId : actor.userId,
    action,
    targetType: 'key',
    targetId: keyId,
    details: { ...details, actorUserId: actor.userId } as never,
  };
}

/** The public shape of a key: never the hash, never the secret. */
export function present(r: KeyRow) {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scope: r.scope,
    owner: { id: r.user.id, email: r.user.email, name: r.user.name },
    allowedModels: r.allowedModels,
    limits: limitsOf(r),
    expiresAt: r.expiresAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
    suspendedAt: r.suspendedAt?.toISOString() ?? null,
    suspendedReason: r.suspendedReason ?? null,
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
  };
}

/**
 * What an update may change (issue 11 item 4). Nobody revives an expired key by moving or clearing its expiry
 * (rotate or create a new one). Members only narrow their own keys: allowed models may shrink (an admin's
 * restriction can never be cleared or widened), an expiry may only come closer.
 */
export function assertKeyPolicy(row: KeyRow, input: UpdateKeyInput, admin: boolean): void {
  const now = Date.now();
  if (input.expiresAt !== undefined && row.expiresAt && row.expiresAt.getTime() <= now)
    throw ApiError.badRequest(
      'This key has expired; create or rotate a key instead.',
      'expiresAt',
      'key_expired',
    );
  if (admin) return;
  if (input.allowedModels !== undefined && row.allowedModels.length > 0) {
    const widened =
      input.allowedModels.length === 0 ||
      input.allowedModels.some(
        (m) => !row.allowedModels.includes(m) && !(!m.includes('*') && isModelAllowed(row.allowedModels, m)),
      );
    if (widened)
      throw ApiError.forbidden('Members can only narrow the allowed models of a key.', 'narrow_only');
  }
  if (input.expiresAt !== undefined && row.expiresAt) {
    const next = input.expiresAt ? Date.parse(input.expiresAt) : Infinity;
    if (next > row.expiresAt.getTime())
      throw ApiError.forbidden("Members can only bring a key's expiry closer.", 'narrow_only');
  }
}

/**
 * A member's new key may not promise more than the admin allowed the member (issue 11 item 4): each limit given
 * must be at most the user's limit of the same kind. Refused with 400 rather than clamped, so the member sees
 * the key they get. A limit left out is fine: the user's limit binds every key of the user anyway.
 */
export function assertWithinUserLimits(input: CreateKeyInput, user: RequestAuth['limits']): void {
  for (const f of ['rpm', 'tpm', 'dailyTokenQuota', 'monthlyTokenQuota', 'monthlyBudgetUsd'] as const) {
    const want = input[f];
    const cap = user[f] ?? null;
    if (cap !== null && want !== null && want !== undefined && want > cap)
      throw ApiError.badRequest(
        `'${f}' ${want} is above your user limit (${cap}); ask an admin to raise it.`,
        f,
        'above_user_limit',
      );
  }
}
