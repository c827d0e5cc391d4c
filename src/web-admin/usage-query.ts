import { z } from 'zod';
import { ApiError } from '../common/errors.js';
import type { RequestAuth } from '../common/auth-context.js';
import type { Bucket, UsageFilter } from './insights.repository.js';

/** Query schemas and the pure rules of the web admin's usage and audit reads (the I/O is in InsightsService). */
const uuid = z.string().uuid();
export const usageQuery = z
  .object({
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    keyId: uuid.optional(),
    userId: uuid.optional(),
    accountId: uuid.optional(),
    model: z.string().max(200).optional(),
  })
  .strict();
export const seriesQuery = usageQuery
  .extend({ bucket: z.enum(['minute', 'hour', 'day']).optional() })
  .strict();
export const requestsQuery = usageQuery
  .extend({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();
export const auditQuery = z
  .object({
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    action: z.string().max(100).optional(),
    actorId: z.string().max(100).optional(),
    targetType: z.string().max(50).optional(),
    targetId: z.string().max(100).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();
export type UsageQuery = z.infer<typeof usageQuery>;
export type SeriesQuery = z.infer<typeof seriesQuery>;
export type RequestsQuery = z.infer<typeof requestsQuery>;
export type AuditQuery = z.infer<typeof auditQuery>;

export const USAGE_FILTERS = ['from', 'to', 'keyId', 'userId', 'accountId', 'model'] as const;

const DAY = 86400_000;

export const isAdmin = (a: RequestAuth) =>
  a.role === 'admin' && (a.kind === 'session' || a.scope === 'admin');

/** The filter a caller's query means: default range ending now, members limited to their own traffic. */
export function usageFilter(auth: RequestAuth, q: UsageQuery, defaultDays: number, now: number): UsageFilter {
  const to = q.to ?? new Date(now + 1000);
  const from = q.from ?? new Date(to.getTime() - defaultDays * DAY);
  if (from >= to) throw ApiError.badRequest("'from' must be before 'to'.", 'from', 'invalid_value');
  return {
    from,
    to,
    keyId: q.keyId,
    // Members see only their own traffic, whatever they ask for.
    userId: isAdmin(auth) ? q.userId : auth.userId,
    accountId: isAdmin(auth) ? q.accountId : undefined,
    model: q.model,
  };
}

/** The series bucket: the one asked for, or one that fits the range; too many buckets is a 400. */
export function seriesBucket(f: UsageFilter, asked: Bucket | undefined): Bucket {
  const span = f.to.getTime() - f.from.getTime();
  const bucket = asked ?? (span <= 3 * 3600_000 ? 'minute' : span <= 3 * DAY ? 'hour' : 'day');
  if ((bucket === 'minute' && span > 2 * DAY) || (bucket === 'hour' && span > 93 * DAY))
    throw ApiError.badRequest(
      'Too many buckets for this range; use a larger bucket.',
      'bucket',
      'invalid_value',
    );
  return bucket;
}

export const CSV_COLUMNS = [
  'createdAt',
  'requestId',
  'userEmail',
  'keyName',
  'keyPrefix',
  'accountLabel',
  'model',
  'endpoint',
  'stream',
  'status',
  'errorClass',
  'inputTokens',
  'cachedTokens',
  'outputTokens',
  'reasoningTokens',
  'totalTokens',
  'ttfbMs',
  'durationMs',
  'attempts',
  'costUsd',
] as const;

export function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote, and neutralise spreadsheet formulas (a cell starting with = + - @).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The CSV export's body: a header line, one line per row, CRLF line ends. */
export function toCsv(rows: Record<(typeof CSV_COLUMNS)[number], unknown>[]): string {
  const lines = [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(','))];
  return lines.join('\r\n') + '\r\n';
}
