import { OutageLog, formatDuration } from './outage.js';
import { describeTarget } from './target.js';

function recorder() {
  const lines: { level: string; msg: string; downMs?: number }[] = [];
  const push = (level: string) => (o: { msg: string; downMs?: number }) => lines.push({ level, ...o });
  return {
    lines,
    logger: { log: push('info'), warn: push('warn'), error: push('error'), debug: push('debug') },
  };
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

describe('OutageLog', () => {
  it('many clients failing many times: one line when it starts, one when the last client is back', () => {
    let now = 1000;
    const { lines, logger } = recorder();
    const o = new OutageLog('redis', '127.0.0.1:6379', 'REDIS_URL', logger, () => now);
    for (let i = 0; i < 20; i++) for (const c of ['main', 'bullmq', 'sub']) o.failed(c, refused);
    o.clientError('worker:accounts', refused);
    now += 12_000;
    o.recovered('main');
    o.recovered('bullmq');
    expect(lines.filter((l) => l.level !== 'debug').map((l) => l.msg)).toEqual([
      'redis unreachable at 127.0.0.1:6379 (REDIS_URL): connect ECONNREFUSED 127.0.0.1:6379; retrying in the background',
    ]);
    o.recovered('sub');
    const infos = lines.filter((l) => l.level === 'info');
    expect(infos).toEqual([
      expect.objectContaining({ msg: 'redis reachable again after 12 s', downMs: 12_000 }),
    ]);
    expect(o.active).toBe(false);
  });

  it('other client errors are logged once a minute per message, not as outages', () => {
    let now = 0;
    const { lines, logger } = recorder();
    const o = new OutageLog('redis', 'h:1', 'REDIS_URL', logger, () => now);
    const missing = new Error('Missing key for job 2. moveToFinished');
    o.clientError('worker:accounts', missing);
    o.clientError('worker:accounts', missing);
    now += 61_000;
    o.clientError('worker:accounts', missing);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
    expect(o.active).toBe(false);
  });

  it('a client closed on shutdown does not hold the outage open, and nothing is logged as recovered', () => {
    const { lines, logger } = recorder();
    const o = new OutageLog('redis', 'h:1', 'REDIS_URL', logger);
    o.failed('main', refused);
    o.forget('main');
    expect(lines.filter((l) => l.level === 'info')).toEqual([]);
  });

  it('formats durations', () => {
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
  });
});

describe('describeTarget', () => {
  it('shows host and port, never user or password', () => {
    expect(describeTarget('postgresql://u:pw@db.example:6543/app', 5432, true)).toBe('db.example:6543/app');
    expect(describeTarget('redis://:pw@127.0.0.1', 6379)).toBe('127.0.0.1:6379');
    expect(describeTarget('not a url', 6379)).toBe('(unparseable URL)');
  });
});
