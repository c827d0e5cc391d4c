import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { UsageService } from '../../src/usage/usage.service.js';
import type { UsageRow } from '../../src/usage/usage.repository.js';

/**
 * Issue 11 item 1 (writer half): one row Postgres refuses must not stop usage accounting for everyone.
 * Before the fix the whole batch failed, was re-queued and failed again every second: no row was written.
 */
function row(over: Partial<UsageRow> = {}): Omit<UsageRow, 'createdAt' | 'costUsd'> {
  return {
    requestId: randomUUID(),
    keyId: null,
    userId: null,
    accountId: null,
    model: 'gpt-5.5',
    endpoint: 'responses',
    stream: true,
    status: 200,
    errorClass: null,
    inputTokens: 10,
    cachedTokens: 0,
    outputTokens: 5,
    reasoningTokens: 0,
    totalTokens: 15,
    ttfbMs: 3,
    durationMs: 7,
    attempts: 1,
    ...over,
  };
}

async function count(gw: TestGateway, where = 'true'): Promise<number> {
  const c = new pg.Client({ connectionString: gw.db.url });
  await c.connect();
  try {
    return (await c.query(`SELECT count(*)::int AS n FROM usage_records WHERE ${where}`)).rows[0].n;
  } finally {
    await c.end();
  }
}

async function metric(gw: TestGateway, name: string): Promise<string> {
  const text = await fetch(`${gw.url}/metrics`).then((r) => r.text());
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');
}

describe('usage writer: a refused row is isolated', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  it('writes every good row of a batch that contains rows Postgres refuses, and counts the refused ones', async () => {
    const usage = gw.app.get(UsageService);
    const good = 1200;
    const bad = [
      row({ keyId: 'not-a-uuid' }), // Postgres: invalid input syntax for type uuid
      row({ userId: 'also-not-a-uuid' }),
    ];
    for (let i = 0; i < good; i++) {
      usage.record(row({ model: `m-${i % 7}` }));
      if (i === 17) usage.record(bad[0]);
      if (i === 901) usage.record(bad[1]);
    }
    // A NUL byte (Postgres refuses it in text) is stripped rather than losing the row.
    usage.record(row({ model: 'gpt-5.5\u0000evil', requestId: 'nul-row' }));
    await usage.flush();
    const written = await count(gw);
    console.log(`[usage-writer] rows expected ${good + 1}, written ${written}, refused 2`);
    expect(written).toBe(good + 1);
    expect(await count(gw, `"requestId" = 'nul-row' AND model = 'gpt-5.5evil'`)).toBe(1);
    expect(usage.pending).toBe(0);
    const m = await metric(gw, 'cg_usage_rows');
    expect(m).toContain('cg_usage_rows_dropped_total{reason="rejected"} 2');
    expect(m).toContain('cg_usage_rows_held 0');
    expect(m).toMatch(new RegExp(`cg_usage_rows_written_total ${good + 1}\\b`));
    expect(gw.logs.text).toContain('usage row refused by Postgres: dropped');

    // Accounting goes on afterwards.
    usage.record(row());
    await usage.flush();
    expect(await count(gw)).toBe(good + 2);
  });
});
