import OpenAI from 'openai';
import { FakeUpstream } from './fake-upstream/index.ts';
import type { WindowsModel } from './fake-upstream/windows.ts';
import { seedAccount } from './support/accounts.js';
import { createAdminKey, createKey } from './support/auth.js';
import { startGateway, type TestGateway } from './support/gateway.js';
import { PoolService } from '../src/accounts/pool/pool.service.js';
import { fakeEnv } from './support/scenario.js';

/**
 * Issue 23's acceptance on the REAL gateway: a small team works through the HTTP API against the fake backend in
 * windows mode (test/fake-upstream/windows.ts: per-plan 5-hour and weekly windows in scaled time, usage limits,
 * the prompt-cache model) and the pool meets the simulator's targets within 5 points. The figures are printed;
 * docs/pool.md keeps them dated. `scripts/node24.sh bash scripts/test.sh test/pool-team.e2e-spec.ts`
 */
const TIME_SCALE = 300; // a real second is 5 simulated minutes: a 5-hour window lasts 60 s
const TRAFFIC_MS = Number(process.env.POOL_TEAM_MS ?? 100_000);
const DEVELOPERS = 7;

/** Seeded so every run asks the same conversations (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const WORDS =
  'pool route cache window reset token stream answer module test build deploy refactor query'.split(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Figures {
  turnsAsked: number;
  turnsServed: number;
  refusals: number;
  refusalsWithHeadroom: number;
  otherErrors: number;
  /** 503 accounts_busy: the only accounts with headroom were at their maxConcurrent cap for the whole hold. */
  busy: number;
  laterTurns: number;
  laterTurnsCached: number;
  capacityAtFirstRefusal: number | null;
  accountsPerConversation: number;
  requestsAtLimit: number;
}

describe('a team on the pool (windows mode, real gateway)', () => {
  let fake: FakeUpstream;
  let windows: WindowsModel;
  let gw: TestGateway;
  let client: OpenAI;
  let admin: string;
  const gwIds: string[] = [];

  const accounts = [
    // The Pro starts a third into its 5-hour window, so the team outruns the pool even when a loaded machine slows it.
    { plan: 'pro', label: 'pro-reserved', reservePercent: 20, shortUsedPercent: 30 },
    { plan: 'plus', label: 'plus-a' },
    { plan: 'plus', label: 'plus-b', maxConcurrent: 2, shortUsedPercent: 40 },
    { plan: 'team', label: 'team-weekly', weeklyUsedPercent: 88 },
  ];

  beforeAll(async () => {
    fake = await FakeUpstream.start();
    fake.configure({ record: true, eventDelayMs: 1 });
    windows = fake.enableWindows({
      timeScale: TIME_SCALE,
      plans: {
        plus: { short: 30_000, weekly: 180_000 },
        team: { short: 30_000, weekly: 180_000 },
        pro: { short: 180_000, weekly: 1_080_000 },
      },
      outputTokens: 150,
      limitAs: 'mixed',
    });
    gw = await startGateway({ env: { ...fakeEnv(fake), POOL_STRATEGY: 'score' } });
    admin = (await createAdminKey(gw)).key;
    for (const a of accounts) {
      const f = fake.addAccount({ planType: a.plan, accessTtlSeconds: 3600 });
      windows.setup(f.chatgptAccountId, a.plan, {
        shortUsedPercent: a.shortUsedPercent,
        weeklyUsedPercent: a.weeklyUsedPercent,
        reservePercent: a.reservePercent ?? 0,
      });
      const id = await seedAccount(gw, {
        ...f,
        planType: a.plan,
        label: a.label,
        accessTokenExpiresAt: f.accessExpiresAt,
      });
      gwIds.push(id);
      const patch = { reservePercent: a.reservePercent ?? 0, maxConcurrent: a.maxConcurrent ?? null };
      const r = await fetch(`${gw.url}/admin/api/accounts/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(patch),
      });
      expect(r.status).toBe(200);
    }
    const { key } = await createKey(gw);
    client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 30_000 });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it(
    'meets the simulator targets within 5 points (requests at a limit: target 0, bounded at 1 against a loaded machine)',
    async () => {
      // The poller reads every account's windows (wham/usage) before the team starts.
      const t0 = Date.now();
      while (Date.now() - t0 < 30_000) {
        const r = await fetch(`${gw.url}/admin/api/accounts`, {
          headers: { authorization: `Bearer ${admin}` },
        });
        const list = (await r.json()) as any;
        const rows: any[] = Array.isArray(list) ? list : (list.accounts ?? list.data ?? []);
        if (rows.length === accounts.length && rows.every((a) => a.usage?.windows?.length === 2)) break;
        await sleep(250);
      }

      const f: Figures = {
        turnsAsked: 0,
        turnsServed: 0,
        refusals: 0,
        refusalsWithHeadroom: 0,
        otherErrors: 0,
        busy: 0,
        laterTurns: 0,
        laterTurnsCached: 0,
        capacityAtFirstRefusal: null,
        accountsPerConversation: 0,
        requestsAtLimit: 0,
      };
      const errors: string[] = [];
      const until = Date.now() + TRAFFIC_MS;
      const developer = async (d: number) => {
        const r = rng(1000 + d);
        await sleep(r() * 1500);
        for (let c = 0; Date.now() < until; c++) {
          const key = `dev${d}-conv${c}`;
          const turns = 3 + Math.floor(r() * 10);
          const input: { role: 'user' | 'assistant'; content: string }[] = [];
          for (let t = 1; t <= turns && Date.now() < until; t++) {
            const words = Array.from(
              { length: 150 + Math.floor(r() * 200) },
              () => WORDS[Math.floor(r() * WORDS.length)],
            );
            input.push({ role: 'user', content: `${key} turn ${t}: ${words.join(' ')}` });
            f.turnsAsked++;
            try {
              const res = await client.responses.create({
                model: 'gpt-5.5',
                instructions: 'You are a coding agent.',
                input,
                prompt_cache_key: key,
                store: false,
              });
              f.turnsServed++;
              if (t >= 2) {
                f.laterTurns++;
                if ((res.usage?.input_tokens_details?.cached_tokens ?? 0) > 0) f.laterTurnsCached++;
              }
              input.push({ role: 'assistant', content: res.output_text });
            } catch (err) {
              const status = (err as { status?: number }).status;
              if (status === 429) {
                f.refusals++;
                if (windows.headroomAnywhere()) {
                  f.refusalsWithHeadroom++;
                  if (process.env.POOL_TEAM_DEBUG)
                    process.stdout.write(
                      `refusal with headroom at ${Date.now() - until + TRAFFIC_MS} ms: ${(err as Error).message} ${JSON.stringify(windows.snapshot())}\n`,
                    );
                }
                f.capacityAtFirstRefusal ??= windows.capacityUsed();
              } else if (status === 503 && (err as { code?: string }).code === 'accounts_busy') {
                f.busy++;
              } else {
                f.otherErrors++;
                errors.push(`${status}: ${(err as Error).message}`);
              }
              break; // a refused or broken conversation is abandoned (as in the simulator)
            }
            await sleep(200 + r() * 1000); // the developer reads, the agent runs tools
          }
          await sleep(300 + r() * 1500);
        }
      };
      await Promise.all(Array.from({ length: DEVELOPERS }, (_, d) => developer(d)));

      const perConversation = new Map<string, Set<string>>();
      for (const q of fake.requestsTo('/backend-api/codex/responses')) {
        const k = q.body?.prompt_cache_key as string | undefined;
        if (!k || !q.chatgptAccountId) continue;
        if (!perConversation.has(k)) perConversation.set(k, new Set());
        perConversation.get(k)!.add(q.chatgptAccountId);
      }
      const sets = [...perConversation.values()];
      f.accountsPerConversation = sets.reduce((s, x) => s + x.size, 0) / Math.max(1, sets.length);
      f.requestsAtLimit = Object.values(windows.atLimitRequests()).reduce((s, n) => s + n, 0);
      const cacheShare = f.laterTurns ? f.laterTurnsCached / f.laterTurns : 0;
      const pct = (x: number | null) => (x === null ? 'no refusal' : `${(100 * x).toFixed(1)} %`);
      // The figures docs/pool.md keeps (printed on purpose: the test's output is the benchmark's record).
      process.stdout.write(
        [
          `pool team e2e (${DEVELOPERS} developers, ${accounts.length} accounts, ${TRAFFIC_MS / 1000} s at 1 s = ${TIME_SCALE / 60} min):`,
          `  turns asked / served             ${f.turnsAsked} / ${f.turnsServed}`,
          `  usage-limit errors (client)      ${f.refusals}`,
          `  ... while an account had headroom ${f.refusalsWithHeadroom}`,
          `  busy (503, all with headroom at their cap) ${f.busy}`,
          `  other errors                     ${f.otherErrors}${errors.length ? ` (${errors.slice(0, 3).join('; ')})` : ''}`,
          `  cache hits, turns >= 2           ${pct(cacheShare)} of ${f.laterTurns}`,
          `  pool capacity used at 1st refusal ${pct(f.capacityAtFirstRefusal)}`,
          `  accounts per conversation        ${f.accountsPerConversation.toFixed(3)} over ${sets.length}`,
          `  requests to accounts at limit    ${f.requestsAtLimit} ${JSON.stringify(windows.atLimitRequests())}`,
          '',
        ].join('\n'),
      );
      if (process.env.POOL_TEAM_DEBUG) {
        process.stdout.write(
          `limit log: ${JSON.stringify(windows.limitLog.map((l) => ({ ...l, at: l.at - until + TRAFFIC_MS })))}\n`,
        );
        const pool = gw.app.get(PoolService);
        process.stdout.write(`moves by reason: ${JSON.stringify(Object.fromEntries(pool.moves))}\n`);
        for (const l of windows.limitLog)
          for (const p of pool.recentPicks.filter((x) => Math.abs(x.at - l.at) < 3000))
            process.stdout.write(`  pick near limit: ${JSON.stringify({ ...p, at: p.at - l.at })}\n`);
        for (const id of gwIds)
          process.stdout.write(`state ${id}: ${JSON.stringify(await pool.usage.get(id))}\n`);
      }
      expect(f.otherErrors).toBe(0);
      expect(f.refusals).toBeGreaterThan(0); // the team asks more than the pool holds: the capacity figure is real
      expect(f.refusalsWithHeadroom).toBe(0);
      expect(cacheShare).toBeGreaterThanOrEqual(0.85);
      expect(f.capacityAtFirstRefusal).toBeGreaterThanOrEqual(0.9);
      expect(f.accountsPerConversation).toBeLessThanOrEqual(1.25);
      // Target 0: 0 in every run since pending requests are weighed by their cost (docs/pool.md; before, 0–2 per
      // run: a conversation that moved sent its whole input uncached, ~25 points where the mean turn was ~4).
      // Bounded at 1 for a fresh-clone CI run on a loaded machine; 2 or more is a regression.
      expect(f.requestsAtLimit).toBeLessThanOrEqual(1);
    },
    TRAFFIC_MS + 60_000,
  );
});
