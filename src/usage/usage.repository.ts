import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';
import { decimalToPico, picoToUsd } from '../pricing/price-math.js';

/** A NUMERIC sum as returned by Postgres (text) → USD rounded to a millionth. */
const usd = (s: string): number => picoToUsd(decimalToPico(s));

export interface UsageRow {
  requestId: string;
  keyId: string | null;
  userId: string | null;
  accountId: string | null;
  model: string;
  endpoint: string;
  stream: boolean;
  status: number;
  errorClass: string | null;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  ttfbMs: number | null;
  durationMs: number;
  attempts: number;
  /** Equivalent API cost when written (decimal string, USD), null when the model has no price. */
  costUsd: string | null;
  createdAt: Date;
}

export type UsageGroup = 'day' | 'key' | 'user' | 'account' | 'model';

const GROUP_SQL: Record<UsageGroup, string> = {
  day: `to_char(date_trunc('day', "createdAt" AT TIME ZONE 'UTC'), 'YYYY-MM-DD')`,
  key: `"keyId"::text`,
  user: `"userId"::text`,
  account: `"accountId"::text`,
  model: `model`,
};

@Injectable()
export class UsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * One statement for the whole batch: every column goes up as one array parameter and `unnest` turns them
   * back into rows. The SQL text is the same for any batch size (one prepared statement), and it skips the ORM's
   * query building, which was ~10 % of the gateway's CPU under load (docs/bench.md).
   */
  async insertMany(rows: UsageRow[]): Promise<void> {
    if (!rows.length) return;
    const col = <K extends keyof UsageRow>(k: K) => rows.map((r) => r[k]);
    await this.prisma.$executeRaw`
      INSERT INTO usage_records ("requestId", "keyId", "userId", "accountId", model, endpoint, stream, status,
        "errorClass", "inputTokens", "cachedTokens", "outputTokens", "reasoningTokens", "totalTokens", "ttfbMs",
        "durationMs", attempts, "costUsd", "createdAt")
      SELECT * FROM unnest(${col('requestId')}::text[], ${col('keyId')}::uuid[], ${col('userId')}::uuid[],
        ${col('accountId')}::uuid[], ${col('model')}::text[], ${col('endpoint')}::text[], ${col('stream')}::bool[],
        ${col('status')}::int4[], ${col('errorClass')}::text[], ${col('inputTokens')}::int4[],
        ${col('cachedTokens')}::int4[], ${col('outputTokens')}::int4[], ${col('reasoningTokens')}::int4[],
        ${col('totalTokens')}::int4[], ${col('ttfbMs')}::int4[], ${col('durationMs')}::int4[],
        ${col('attempts')}::int4[], ${col('costUsd')}::numeric[], ${col('createdAt')}::timestamptz[])`;
  }

  /** Whether Postgres answers at all (tells an outage from a refused row). */
  async reachable(): Promise<boolean> {
    try {
      await this.prisma.ping();
      return true;
    } catch {
      return false;
    }
  }

  /** One key's equivalent cost over [from, to) (the sum of its rows' recorded costs) and its unpriced requests. */
  async keyCost(
    keyId: string,
    from: Date,
    to: Date,
  ): Promise<{ cost_usd: number; unpriced_requests: number }> {
    const [r] = await this.prisma.$queryRaw<{ cost: string; unpriced: number }[]>`
      SELECT coalesce(sum("costUsd"), 0)::text AS cost, count(*) FILTER (WHERE "costUsd" IS NULL)::int AS unpriced
        FROM usage_records WHERE "keyId" = ${keyId}::uuid AND "createdAt" >= ${from} AND "createdAt" < ${to}`;
    return { cost_usd: usd(r.cost), unpriced_requests: r.unpriced };
  }

  /** Users with a monthly budget in USD (the users page shows their spend). */
  async budgetedUsers(): Promise<{ id: string; budgetUsd: number }[]> {
    const rows = await this.prisma.user.findMany({
      where: { monthlyBudgetUsd: { not: null } },
      select: { id: true, monthlyBudgetUsd: true },
    });
    return rows.map((r) => ({ id: r.id, budgetUsd: Number(r.monthlyBudgetUsd!.toString()) }));
  }

  /** The groups with a display label: a key's name (prefix…), a user's email, an account's label; else null. */
  async labelled<G extends { group: string | null }>(
    group: UsageGroup,
    rows: G[],
  ): Promise<(G & { label: string | null })[]> {
    const ids = rows.map((r) => r.group).filter((g): g is string => !!g);
    let names = new Map<string, string>();
    if (ids.length && group === 'key') {
      const keys = await this.prisma.apiKey.findMany({
        where: { id: { in: ids } },
        select: { id: true, name: true, prefix: true },
      });
      names = new Map(keys.map((k) => [k.id, `${k.name || 'unnamed'} (${k.prefix}…)`]));
    } else if (ids.length && group === 'user') {
      const users = await this.prisma.user.findMany({
        where: { id: { in: ids } },
        select: { id: true, email: true },
      });
      names = new Map(users.map((u) => [u.id, u.email]));
    } else if (ids.length && group === 'account') {
      const accounts = await this.prisma.account.findMany({
        where: { id: { in: ids } },
        select: { id: true, label: true, email: true },
      });
      names = new Map(accounts.map((a) => [a.id, a.label || a.email || a.id]));
    }
    return rows.map((r) => ({
      ...r,
      label:
        r.group === null
          ? null
          : group === 'key' || group === 'user' || group === 'account'
            ? (names.get(r.group) ?? null)
            : r.group,
    }));
  }

  async aggregate(group: UsageGroup, from: Date, to: Date) {
    // The group expression comes from a fixed table (never from input); values are bound parameters.
    const rows = await this.prisma.$queryRawUnsafe<any[]>(
      `SELECT ${GROUP_SQL[group]} AS "group", count(*)::int AS requests,
              count(*) FILTER (WHERE status >= 400)::int AS errors,
              coalesce(sum("inputTokens"), 0)::bigint AS input_tokens, coalesce(sum("cachedTokens"), 0)::bigint AS cached_tokens,
              coalesce(sum("outputTokens"), 0)::bigint AS output_tokens, coalesce(sum("reasoningTokens"), 0)::bigint AS reasoning_tokens,
              coalesce(sum("totalTokens"), 0)::bigint AS total_tokens,
              coalesce(sum("costUsd"), 0)::text AS cost_usd,
              count(*) FILTER (WHERE "costUsd" IS NULL)::int AS unpriced_requests
         FROM usage_records WHERE "createdAt" >= $1 AND "createdAt" < $2
        GROUP BY 1 ORDER BY 1`,
      from,
      to,
    );
    return rows.map((r) => ({
      group: r.group,
      requests: r.requests,
      errors: r.errors,
      input_tokens: Number(r.input_tokens),
      cached_tokens: Number(r.cached_tokens),
      output_tokens: Number(r.output_tokens),
      reasoning_tokens: Number(r.reasoning_tokens),
      total_tokens: Number(r.total_tokens),
      /** Sum of the rows' equivalent costs (USD, as recorded when each was written); unpriced rows add nothing. */
      cost_usd: usd(r.cost_usd),
      unpriced_requests: r.unpriced_requests,
    }));
  }
}
