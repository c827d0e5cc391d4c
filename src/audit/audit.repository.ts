import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';

export interface AuditEntry {
  actorType: string;
  actorId?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  details?: Prisma.InputJsonValue;
}

/** The Prisma door for writing the audit log (users, keys, settings, setup). */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  audit(entry: AuditEntry) {
    return this.prisma.auditLog.create({ data: entry });
  }
}
