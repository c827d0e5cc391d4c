import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { SettingsRepository } from './settings.repository.js';
import type { RequestAuth } from '../common/auth-context.js';

export const MEMBERS_CAN_CREATE_KEYS = 'members_can_create_keys';

/** Runtime settings from the settings table (read on demand: only admin/key-management paths use them). */
@Injectable()
export class SettingsService {
  constructor(
    private readonly repo: SettingsRepository,
    private readonly auditLog: AuditRepository,
  ) {}

  async membersCanCreateKeys(): Promise<boolean> {
    return (await this.repo.getSetting(MEMBERS_CAN_CREATE_KEYS)) === true;
  }

  async all(): Promise<Record<string, unknown>> {
    return { [MEMBERS_CAN_CREATE_KEYS]: await this.membersCanCreateKeys() };
  }

  async update(actor: RequestAuth, input: { members_can_create_keys?: boolean }) {
    if (input.members_can_create_keys !== undefined) {
      await this.repo.setSetting(MEMBERS_CAN_CREATE_KEYS, input.members_can_create_keys);
      await this.auditLog.audit({
        actorType: actor.kind === 'key' ? 'key' : 'user',
        actorId: actor.kind === 'key' ? actor.keyId : actor.userId,
        action: 'settings.update',
        targetType: 'setting',
        targetId: MEMBERS_CAN_CREATE_KEYS,
        details: { value: input.members_can_create_keys },
      });
    }
    return this.all();
  }
}
