import type { RequestAuth } from '../common/auth-context.js';
import { ApiError } from '../common/errors.js';
import { seriesBucket, toCsv, usageFilter } from './usage-query.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const admin = { role: 'admin', kind: 'session', userId: 'admin-id' } as RequestAuth;
const member = { role: 'member', kind: 'session', userId: 'member-id' } as RequestAuth;
const adminKeyWithoutScope = { role: 'admin', kind: 'key', scope: 'api', userId: 'k' } as RequestAuth;
const range = (ms: number) => ({ from: new Date(NOW - ms), to: new Date(NOW) });

describe('usageFilter', () => {
  it('defaults to the last N days ending just after now', () => {
    const f = usageFilter(admin, {}, 30, NOW);
    expect(f.to.getTime()).toBe(NOW + 1000);
    expect(f.to.getTime() - f.from.getTime()).toBe(30 * DAY);
  });
  it.each<[string, RequestAuth, string | undefined, string | undefined]>([
    ['admin session sees what it asks', admin, 'u', 'acc'],
    ['member sees only their own', member, 'member-id', undefined],
    ['admin key without admin scope is a member here', adminKeyWithoutScope, 'k', undefined],
  ])('%s', (_name, auth, userId, accountId) => {
    expect(usageFilter(auth, { userId: 'u', accountId: 'acc' }, 1, NOW)).toMatchObject({ userId, accountId });
  });
  it("rejects 'from' not before 'to'", () => {
    const t = new Date(NOW);
    expect(() => usageFilter(admin, { from: t, to: t }, 1, NOW)).toThrow(ApiError);
  });
});

describe('seriesBucket', () => {
  it.each<[string, number, 'minute' | 'hour' | 'day' | undefined, string]>([
    ['3 h → minute', 3 * HOUR, undefined, 'minute'],
    ['a bit more than 3 h → hour', 3 * HOUR + 1, undefined, 'hour'],
    ['3 days → hour', 3 * DAY, undefined, 'hour'],
    ['more than 3 days → day', 3 * DAY + 1, undefined, 'day'],
    ['asked minute over 2 days', 2 * DAY, 'minute', 'minute'],
    ['asked hour over 93 days', 93 * DAY, 'hour', 'hour'],
    ['asked day over a year', 365 * DAY, 'day', 'day'],
  ])('%s', (_name, span, asked, out) => {
    expect(seriesBucket(range(span), asked)).toBe(out);
  });
  it.each<[number, 'minute' | 'hour']>([
    [2 * DAY + 1, 'minute'],
    [93 * DAY + 1, 'hour'],
  ])('too many buckets (%d ms by %s) is a 400', (span, asked) => {
    expect(() => seriesBucket(range(span), asked)).toThrow('Too many buckets');
  });
});

describe('toCsv', () => {
  it('writes a header and quotes/neutralises cells', () => {
    const body = toCsv([
      { requestId: 'r1', keyName: '=SUM(A1)', userEmail: 'a,b', model: 'say "hi"', stream: true } as never,
    ]);
    const [header, line, end] = body.split('\r\n');
    expect(header.split(',').slice(0, 3)).toEqual(['createdAt', 'requestId', 'userEmail']);
    // One cell per column (the unset ones empty), the quoted and neutralised ones as a spreadsheet reads them.
    const rest = ','.repeat(header.split(',').length - 9);
    expect(line).toBe(`,r1,"a,b","'=SUM(A1)",,,"say ""hi""",,true${rest}`);
    expect(end).toBe('');
  });
});
