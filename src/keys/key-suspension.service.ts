import { Injectable, Logger } from '@nestjs/common';
import { ApiError } from '../common/errors.js';
import type { RequestAuth } from '../common/auth-context.js';
import { UUID } from '../common/validation.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { KeyCacheService } from './key-cache.service.js';
import { KeysRepository } from './keys.repository.js';
import { keyAudit, present } from './keys.service.js';
import { PolicyWindow } from './policy-window.js';

/**
 * Policy suspension of a key (issue 25 item 4; docs/security.md "Policy isolation"): set by the gateway when a key's
 * (or its user's) content-policy refusals pass POLICY_SUSPEND_THRESHOLD (gateway/policy-guard.ts), lifted by an
 * admin. While set, every request of the key is 403 `key_suspended_policy` (keys/api-key.guard.ts), on every replica
 * within the key cache's pub/sub invalidation. Both ends are audited.
 */
@Injectable()
export class KeySuspensions {
  private readonly logger = new Logger('keys');

  constructor(
    private readonly window: PolicyWindow,
    private readonly repo: KeysRepository,
    private readonly cache: KeyCacheService,
    private readonly auditLog: AuditRepository,
    private readonly metrics: MetricsService,
  ) {}

  /** Suspends the key unless it already is (one audit entry and one count per suspension, across replicas). */
  async suspend(keyId: string, scope: 'key' | 'user', details: Record<string, unknown>): Promise<boolean> {
    const reason =
      scope === 'key'
        ? `${String(details.refusals)} content-policy refusals of this key within ${String(details.windowSeconds)} s`
        : `${String(details.refusals)} content-policy refusals of its user within ${String(details.windowSeconds)} s`;
    if (!(await this.repo.suspendKey(keyId, reason))) return false;
    const row = await this.repo.findKey(keyId);
    if (row) await this.cache.invalidate({ hash: row.hash });
    this.metrics.safety.keySuspensions.inc({ scope });
    await this.auditLog.audit({
      actorType: 'system',
      action: 'key.suspend',
      targetType: 'key',
      targetId: keyId,
      details: { reason, scope, ...details, userId: row?.userId ?? null } as never,
    });
    this.logger.warn({ keyId, scope, reason }, 'key suspended for content-policy refusals');
    return true;
  }

  /** Admins: lifts the suspension (the refusal counts start again from zero). */
  async lift(actor: RequestAuth, id: string) {
    if (!(actor.role === 'admin' && (actor.kind === 'session' || actor.scope === 'admin')))
      throw ApiError.forbidden('Only admins lift a suspension.', 'admin_required');
    const row = UUID.test(id) ? await this.repo.findKey(id) : null;
    if (!row) throw ApiError.notFound('No such key.');
    if (!row.suspendedAt) return present(row);
    const updated = await this.repo.updateKey(id, { suspendedAt: null, suspendedReason: null });
    await this.window.clear(row.id, row.userId);
    await this.cache.invalidate({ hash: row.hash });
    await this.auditLog.audit(
      keyAudit(actor, 'key.unsuspend', id, {
        suspendedAt: row.suspendedAt.toISOString(),
        reason: row.suspendedReason,
      }),
    );
    return present(updated);
  }
}
