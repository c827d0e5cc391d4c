import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../prisma/prisma.service.js';

export interface UsageGroup {
  requests: number;
  errors: number;
  tokens: number;
}

const n = (v: unknown) => Number(v ?? 0);
const group = (r: Record<string, unknown>): UsageGroup => ({
  requests: n(r.requests),
  errors: n(r.errors),
  tokens: n(r.tokens),
});

/**
 * One user's usage by key, model and UTC day. Every query is bound to a single `userId`, which the service takes
 * from the session (members) or from an admin's choice; nothing here can read across users.
 */
@Injectable()
export class CornerRepository {
  constructor(private readonly prisma: PrismaService) {}

  async byDay(userId: string, from: Date, to: Date) {
    const rows = await this.prisma.$queryRaw<Record<string, unknown>[]>`
      SELECT to_char(date_trunc('day', "createdAt" AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
             count(*)::int AS requests, count(*) FILTER (WHERE status >= 400)::int AS errors,
             coalesce(sum("totalTokens"), 0)::bigint AS tokens
        FROM usage_records
       WHERE "userId" = ${userId}::uuid AND "createdAt" >= ${from} AND "createdAt" < ${to}
       GROUP BY 1 ORDER BY 1`;
    return rows.map((r) => ({ day: String(r.day), ...group(r) }));
  }

  async byModel(userId: string, from: Date, to: Date) {
    const rows = await this.prisma.$queryRaw<Record<string, unknown>[]>`
      SELECT model, count(*)::int AS requests, count(*) FILTER (WHERE status >= 400)::int AS errors,
             coalesce(sum("totalTokens"), 0)::bigint AS tokens
        FROM usage_records
       WHERE "userId" = ${userId}::uuid AND "createdAt" >= ${from} AND "createdAt" < ${to}
       GROUP BY model ORDER BY tokens DESC, model`;
    return rows.map((r) => ({ model: String(r.model), ...group(r) }));
  }

  async byKey(userId: string, from: Date, to: Date) {
    const rows = await this.prisma.$queryRaw<Record<string, unknown>[]>`
      SELECT r."keyId", k.name, k.prefix, count(*)::int AS requests,
             count(*) FILTER (WHERE r.status >= 400)::int AS errors,
             coalesce(sum(r."totalTokens"), 0)::bigint AS tokens
        FROM usage_records r LEFT JOIN api_keys k ON k.id = r."keyId"
       WHERE r."userId" = ${userId}::uuid AND r."createdAt" >= ${from} AND r."createdAt" < ${to}
       GROUP BY r."keyId", k.name, k.prefix ORDER BY tokens DESC`;
    return rows.map((r) => ({
      keyId: (r.keyId as string | null) ?? null,
      name: (r.name as string | null) ?? null,
      prefix: (r.prefix as string | null) ?? null,
      ...group(r),
    }));
  }

  /** Tokens recorded since `since` (the start of the UTC day or month). */
  async tokensSince(userId: string, since: Date): Promise<number> {
    const [r] = await this.prisma.$queryRaw<Record<string, unknown>[]>`
      SELECT coalesce(sum("totalTokens"), 0)::bigint AS tokens FROM usage_records
       WHERE "userId" = ${userId}::uuid AND "createdAt" >= ${since}`;
    return n(r?.tokens);
  }

  activeKeys(userId: string) {
    return this.prisma.apiKey.findMany({
      where: { userId, revokedAt: null },
      orderBy: { createdAt: 'desc' },
    });
  }
}
