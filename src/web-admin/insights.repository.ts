import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client.js';
import { PrismaService } from '../prisma/prisma.service.js';

export interface UsageFilter {
  from: Date;
  to: Date;
  keyId?: string;
  userId?: string;
  accountId?: string;
  model?: string;
}

export interface AuditFilter {
  from?: Date;
  to?: Date;
  action?: string;
  actorId?: string;
  targetType?: string;
  targetId?: string;
  before?: number;
  limit: number;
}

const BUCKET_SQL = { minute: 'minute', hour: 'hour', day: 'day' } as const;
export type Bucket = keyof typeof BUCKET_SQL;

function usageWhere(f: UsageFilter, alias = 'r'): Prisma.Sql {
  const a = Prisma.raw(alias);
  const parts: Prisma.Sql[] = [
    Prisma.sql`${a}."createdAt" >= ${f.from}`,
    Prisma.sql`${a}."createdAt" < ${f.to}`,
  ];
  if (f.keyId) parts.push(Prisma.sql`${a}."keyId" = ${f.keyId}::uuid`);
  if (f.userId) parts.push(Prisma.sql`${a}."userId" = ${f.userId}::uuid`);
  if (f.accountId) parts.push(Prisma.sql`${a}."accountId" = ${f.accountId}::uuid`);
  if (f.model) parts.push(Prisma.sql`${a}.model = ${f.model}`);
  return Prisma.join(parts, ' AND ');
}

const n = (v: unknown) => Number(v ?? 0);

/** Read-only queries behind the web admin's overview, usage and audit pages (never selects a secret column). */
@Injectable()
export class InsightsRepository {
  constructor(private readonly prisma: PrismaService) {}

  accountsForOverview() {
    return this.prisma.account.findMany({
      select: {
        id: true,
        label: true,
        email: true,
        planType: true,
        enabled: true,
        status: true,
        statusReason: true,
        accessTokenExpiresAt: true,
        lastRefreshAt: true,
        lastError: true,
        lastErrorAt: true,
        cooldownUntil: true,
        usageSnapshot: true,
        usageSnapshotAt: true,
      },
      orderBy: [{ priority: 'desc' }, { createdAt: 'asc' }],
    });
  }

  async totals(f: UsageFilter) {
    const [r] = await this.prisma.$queryRaw<any[]>`
      SELECT count(*)::int AS requests, count(*) FILTER (WHERE status >= 400)::int AS errors,
             coalesce(sum("totalTokens"), 0)::bigint AS tokens
        FROM usage_records r WHERE ${usageWhere(f)}`;
    return { requests: n(r?.requests), errors: n(r?.errors), tokens: n(r?.tokens) };
  }

  async series(f: UsageFilter, bucket: Bucket) {
    const unit = Prisma.raw(`'${BUCKET_SQL[bucket]}'`);
    const rows = await this.prisma.$queryRaw<any[]>`
      SELECT date_trunc(${unit}, r."createdAt" AT TIME ZONE 'UTC') AS t,
             count(*)::int AS requests, count(*) FILTER (WHERE status >= 400)::int AS errors,
             coalesce(sum("inputTokens"), 0)::bigint AS input, coalesce(sum("cachedTokens"), 0)::bigint AS cached,
             coalesce(sum("outputTokens"), 0)::bigint AS output,
             coalesce(sum("reasoningTokens"), 0)::bigint AS reasoning,
             coalesce(sum("totalTokens"), 0)::bigint AS total
        FROM usage_records r WHERE ${usageWhere(f)} GROUP BY 1 ORDER BY 1`;
    return rows.map((r) => ({
      t: new Date(`${(r.t as Date).toISOString().slice(0, 19)}Z`).toISOString(),
      requests: n(r.requests),
      errors: n(r.errors),
      inputTokens: n(r.input),
      cachedTokens: n(r.cached),
      outputTokens: n(r.output),
      reasoningTokens: n(r.reasoning),
      totalTokens: n(r.total),
    }));
  }

  async requests(f: UsageFilter, limit: number, before?: number) {
    // Newest first by time (rows are written in batches, so ids only roughly follow time); the cursor is the
    // last row's id, compared as (createdAt, id).
    const cursor = before
      ? Prisma.sql`AND (r."createdAt", r.id) < (SELECT "createdAt", id FROM usage_records WHERE id = ${BigInt(before)})`
      : Prisma.empty;
    const rows = await this.prisma.$queryRaw<any[]>`
      SELECT r.id, r."createdAt", r."requestId", r."keyId", k.name AS "keyName", k.prefix AS "keyPrefix",
             r."userId", u.email AS "userEmail", r."accountId", a.label AS "accountLabel", r.model, r.endpoint,
             r.stream, r.status, r."errorClass", r."inputTokens", r."cachedTokens", r."outputTokens",
             r."reasoningTokens", r."totalTokens", r."ttfbMs", r."durationMs", r.attempts,
             r."costUsd"::text AS "costUsd"
        FROM usage_records r
        LEFT JOIN api_keys k ON k.id = r."keyId"
        LEFT JOIN users u ON u.id = r."userId"
        LEFT JOIN accounts a ON a.id = r."accountId"
       WHERE ${usageWhere(f)} ${cursor}
       ORDER BY r."createdAt" DESC, r.id DESC LIMIT ${limit}`;
    return rows.map((r) => ({
      id: Number(r.id),
      createdAt: (r.createdAt as Date).toISOString(),
      requestId: r.requestId as string,
      keyId: r.keyId as string | null,
      keyName: r.keyName as string | null,
      keyPrefix: r.keyPrefix as string | null,
      userId: r.userId as string | null,
      userEmail: r.userEmail as string | null,
      accountId: r.accountId as string | null,
      accountLabel: r.accountLabel as string | null,
      model: r.model as string,
      endpoint: r.endpoint as string,
      stream: r.stream as boolean,
      status: r.status as number,
      errorClass: r.errorClass as string | null,
      inputTokens: n(r.inputTokens),
      cachedTokens: n(r.cachedTokens),
      outputTokens: n(r.outputTokens),
      reasoningTokens: n(r.reasoningTokens),
      totalTokens: n(r.totalTokens),
      ttfbMs: r.ttfbMs === null ? null : n(r.ttfbMs),
      durationMs: n(r.durationMs),
      attempts: n(r.attempts),
      /** Equivalent API cost recorded with the row (USD, exact decimal string); null = no price for its model. */
      costUsd: r.costUsd as string | null,
    }));
  }

  async audit(f: AuditFilter) {
    const parts: Prisma.Sql[] = [Prisma.sql`TRUE`];
    if (f.from) parts.push(Prisma.sql`l."createdAt" >= ${f.from}`);
    if (f.to) parts.push(Prisma.sql`l."createdAt" < ${f.to}`);
    if (f.action) parts.push(Prisma.sql`l.action LIKE ${f.action.replace(/[\\%_]/g, '\\$&') + '%'}`);
    if (f.actorId)
      parts.push(Prisma.sql`(l."actorId" = ${f.actorId} OR l.details->>'actorUserId' = ${f.actorId})`);
    if (f.targetType) parts.push(Prisma.sql`l."targetType" = ${f.targetType}`);
    if (f.targetId) parts.push(Prisma.sql`l."targetId" = ${f.targetId}`);
    if (f.before) parts.push(Prisma.sql`l.id < ${BigInt(f.before)}`);
    const rows = await this.prisma.$queryRaw<any[]>`
      SELECT l.id, l."createdAt", l."actorType", l."actorId", l.action, l."targetType", l."targetId", l.details,
             u.email AS "actorEmail"
        FROM audit_logs l
        LEFT JOIN users u ON u.id::text = CASE WHEN l."actorType" = 'user' THEN l."actorId"
                                               ELSE l.details->>'actorUserId' END
       WHERE ${Prisma.join(parts, ' AND ')}
       ORDER BY l.id DESC LIMIT ${f.limit}`;
    return rows.map((r) => ({
      id: Number(r.id),
      createdAt: (r.createdAt as Date).toISOString(),
      actorType: r.actorType as string,
      actorId: r.actorId as string | null,
      actorEmail: r.actorEmail as string | null,
      action: r.action as string,
      targetType: r.targetType as string | null,
      targetId: r.targetId as string | null,
      details: (r.details ?? null) as Record<string, unknown> | null,
    }));
  }

  /** Models used in the last 90 days; with `userId`, only that user's (a member never learns another's). */
  async distinctModels(userId?: string): Promise<string[]> {
    const mine = userId ? Prisma.sql`AND "userId" = ${userId}::uuid` : Prisma.empty;
    const rows = await this.prisma.$queryRaw<{ model: string }[]>`
      SELECT DISTINCT model FROM usage_records WHERE "createdAt" > now() - interval '90 days' ${mine}
       ORDER BY 1 LIMIT 200`;
    return rows.map((r) => r.model);
  }
}
