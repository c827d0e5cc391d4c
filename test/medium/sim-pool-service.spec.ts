import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run sim -- --pool-service` (docs/pool.md, "Through the real PoolService"): the built PoolService on the real
 * Redis, fed as the gateway feeds it. A small team on a small pool for one simulated day: the run completes, every
 * answer's report and the poller's reads reach PoolService, and the caps and reserves of the sim's account specs
 * are PoolService's own (it lists them in its AccountSource). Figures are not asserted here: they are benchmarks
 * (dated in docs/pool.md).
 */
const ROOT = join(import.meta.dirname, '..', '..');

function sim(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', './sim/hooks.mjs', 'sim/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => resolve({ code, out }));
  });
}

interface Result {
  strategy: string;
  served: number;
  sentOverCap: number;
  sentIntoReserve: number;
  service?: { reports: number; polls: number; failedPolls: number; probeReads: number };
}

describe('pool simulator through the real PoolService (--pool-service)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sim-svc-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a day with reports, polls, caps and reserves wired into PoolService', async () => {
    const json = join(dir, 'out.json');
    const { code, out } = await sim([
      '--days',
      '1',
      '--developers',
      '12',
      '--accounts',
      'plus:r50,plus:c1,plus',
      '--capacity',
      '0.3',
      '--owner-percent',
      '0',
      '--strategies',
      'least-used,score',
      '--pool-service',
      '--json',
      json,
    ]);
    expect({ code, out: code === 0 ? '' : out }).toEqual({ code: 0, out: '' });
    const { results } = JSON.parse(readFileSync(json, 'utf8')) as { results: Result[] };
    expect(results.map((r) => r.strategy)).toEqual(['least-used', 'score']);
    for (const r of results) {
      expect(r.served).toBeGreaterThan(100);
      // every answer's headers went to recordUsage, and the poller read every account more than once
      expect(r.service!.reports).toBeGreaterThanOrEqual(r.served);
      expect(r.service!.polls).toBeGreaterThan(3 * 10);
      // maxConcurrent 1 on the second account is PoolService's hard rule, whatever the strategy
      expect(r.sentOverCap).toBe(0);
    }
  }, 120_000);
});
