/**
 * `npm run sim` — the pool simulator (docs/pool.md). Runs the team profile (or replayed usage records) once per
 * strategy and prints the figures side by side; `--ci` runs a shorter month and exits 1 when a target fails.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { PoolStrategy } from '../src/accounts/pool/pool-choice.ts';
import { run } from './engine.ts';
import type { AccountSpec, Metrics, RunOptions } from './types.ts';
import { TARGETS, svg, table } from './report.ts';
import { loadReplay } from './replay.ts';
import { startPoolService } from './pool-service.ts';
import { DAY, DEFAULT_PROFILE, generate, HOUR, type TeamProfile } from './workload.ts';

const DEFAULT_ACCOUNTS = 'pro:r20,pro,pro:c4,plus*6,team';

const HELP = `npm run sim -- [options]

Simulates a team on a pool of subscriptions and compares routing strategies (docs/pool.md).

Team profile
  --developers N        developers (default ${DEFAULT_PROFILE.developers})
  --days N              simulated days (default ${DEFAULT_PROFILE.days})
  --accounts SPEC       the pool: comma-separated plan[*count][:rRESERVE][:cMAXCONCURRENT]
                        (default "pro:r20,pro,pro:c4,plus*6,team"; plans: free, plus, team, pro)
  --load X              multiplies every developer's activity (default 1)
  --agent-sessions X    agent sessions per developer per working day (default ${DEFAULT_PROFILE.agentSessionsPerDay})
  --agent-turns X       mean turns of an agent session (default ${DEFAULT_PROFILE.agentTurnsMean})
  --chats X             short chats per developer per working day (default ${DEFAULT_PROFILE.chatsPerDay})
  --hours A-B           working hours, UTC (default ${DEFAULT_PROFILE.workStartHour}-${DEFAULT_PROFILE.workEndHour})
  --seed N              random seed (default 1)

Backend and gateway
  --strategies LIST     comma-separated (default round-robin,least-used,score)
  --capacity X          scales every plan's true capacity (default 1)
  --cache-ttl-min N     prompt cache life after last use (default 30)
  --strip               the gateway strips reasoning minted by another account (today it does not)
  --token-ttl-hours N   access-token lifetime (default 240); refresh rule exp − REFRESH_LEAD (300 s)
  --poll-min N          wham/usage poll interval, score strategy (default 5; jittered, sooner near a line)
  --poll-failures X     share of polls failing (404/5xx/timeout; default 0.05)
  --early-resets N      limits reset early this many times in the run (default 2)
  --owner-percent X     owners of reserved accounts use X % of the weekly window per working day (default 2)
  --incidents N         one-hour incidents (half the requests of one account fail with 5xx) (default 3)
  --max-attempts N      POOL_MAX_ATTEMPTS (default 3)

Replay (this gateway's own usage records instead of a profile)
  --replay SOURCE       "db" (the usage_records table at DATABASE_URL) or a CSV exported from the web admin
                        (Usage → Export CSV)
  --replay-days N       the last N days of records (default 7)
  --add SPEC            extra accounts for a second run ("would one more Pro have avoided the refusals?")

Output
  --svg FILE            writes the plot of weekly used % per account (default: none; docs/pool-month.svg in docs)
  --json FILE           writes all figures as JSON
  --ci                  a shorter run (14 days); exits 1 when a target of the score strategy fails
  --weights k=v,…       score weights other than the defaults (headroom, expiring, cache, load, health)
  --debug N             prints the score's explanation for the first N choices
  --pool-service        route through the real PoolService (needs a build, npm run build:server, and Redis at
                        REDIS_URL; keys under a throwaway prefix, deleted after); see docs/pool.md
  --help                this text
`;

export function parseAccounts(spec: string): AccountSpec[] {
  const out: AccountSpec[] = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [head, ...opts] = raw.split(':');
    const [plan, count] = head.split('*');
    const a: AccountSpec = { plan: plan.toLowerCase(), reservePercent: 0, maxConcurrent: null };
    for (const o of opts) {
      const n = Number(o.slice(1));
      if (o[0] === 'r' && n >= 0 && n <= 90) a.reservePercent = n;
      else if (o[0] === 'c' && n >= 1) a.maxConcurrent = n;
      else throw new Error(`--accounts: "${o}" is neither rNN (reserve 0–90) nor cNN (maxConcurrent ≥ 1)`);
    }
    for (let i = 0; i < Number(count ?? 1); i++) out.push({ ...a });
  }
  if (!out.length) throw new Error('--accounts: no account');
  return out;
}

async function main() {
  const { values: v } = parseArgs({
    options: {
      developers: { type: 'string' },
      days: { type: 'string' },
      accounts: { type: 'string' },
      load: { type: 'string' },
      'agent-sessions': { type: 'string' },
      'agent-turns': { type: 'string' },
      chats: { type: 'string' },
      hours: { type: 'string' },
      seed: { type: 'string', default: '1' },
      strategies: { type: 'string', default: 'round-robin,least-used,score' },
      capacity: { type: 'string', default: '1' },
      'cache-ttl-min': { type: 'string', default: '30' },
      strip: { type: 'boolean', default: false },
      'token-ttl-hours': { type: 'string', default: '240' },
      'poll-min': { type: 'string', default: '5' },
      'poll-failures': { type: 'string', default: '0.05' },
      'early-resets': { type: 'string', default: '2' },
      'owner-percent': { type: 'string', default: '2' },
      incidents: { type: 'string', default: '3' },
      'max-attempts': { type: 'string', default: '3' },
      replay: { type: 'string' },
      'replay-days': { type: 'string', default: '7' },
      add: { type: 'string' },
      svg: { type: 'string' },
      json: { type: 'string' },
      ci: { type: 'boolean', default: false },
      debug: { type: 'string' },
      weights: { type: 'string' },
      help: { type: 'boolean', default: false },
      'pool-service': { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const num = (s: string | undefined, def: number) => (s === undefined ? def : Number(s));
  const [ws, we] = (v.hours ?? `${DEFAULT_PROFILE.workStartHour}-${DEFAULT_PROFILE.workEndHour}`)
    .split('-')
    .map(Number);
  const profile: TeamProfile = {
    ...DEFAULT_PROFILE,
    developers: num(v.developers, DEFAULT_PROFILE.developers),
    days: num(v.days, v.ci ? 14 : DEFAULT_PROFILE.days),
    load: num(v.load, 1),
    agentSessionsPerDay: num(v['agent-sessions'], DEFAULT_PROFILE.agentSessionsPerDay),
    agentTurnsMean: num(v['agent-turns'], DEFAULT_PROFILE.agentTurnsMean),
    chatsPerDay: num(v.chats, DEFAULT_PROFILE.chatsPerDay),
    workStartHour: ws,
    workEndHour: we,
    seed: num(v.seed, 1),
  };
  let accounts = parseAccounts(v.accounts ?? DEFAULT_ACCOUNTS);
  let conversations;
  let start = profile.start;
  let days = profile.days;
  let source = `profile: ${profile.developers} developers, ${profile.days} days, load ${profile.load}, seed ${profile.seed}`;
  if (v.replay) {
    const rep = await loadReplay(v.replay, num(v['replay-days'], 7));
    conversations = rep.conversations;
    start = rep.start;
    days = rep.days;
    if (rep.accounts.length && v.accounts === undefined) accounts = rep.accounts;
    source = `replay of ${v.replay}: ${rep.records} records over ${days} days`;
  } else {
    conversations = generate(profile);
  }
  const strategies = v.strategies!.split(',') as PoolStrategy[];
  let debugLeft = num(v.debug, 0);
  const base: Omit<RunOptions, 'strategy' | 'accounts'> = {
    conversations,
    start,
    days,
    seed: profile.seed,
    maxAttempts: num(v['max-attempts'], 3),
    cacheTtlMs: num(v['cache-ttl-min'], 30) * 60_000,
    capacityScale: num(v.capacity, 1),
    stripForeignReasoning: v.strip!,
    tokenTtlMs: num(v['token-ttl-hours'], 240) * HOUR,
    refreshLeadSeconds: 300,
    pollEveryMs: num(v['poll-min'], 5) * 60_000,
    pollFailureRate: num(v['poll-failures'], 0.05),
    earlyResets: num(v['early-resets'], 2),
    ownerPercentPerDay: num(v['owner-percent'], 2),
    incidents: num(v.incidents, 3),
    sample: !!v.svg,
    weights: v.weights
      ? Object.fromEntries(v.weights.split(',').map((kv) => [kv.split('=')[0], Number(kv.split('=')[1])]))
      : undefined,
    debug: debugLeft > 0 ? (l) => debugLeft-- > 0 && console.log(l) : undefined,
  };
  const t0 = performance.now();
  const clock = { now: start };
  const runAll = async (accs: AccountSpec[]) => {
    const out: Metrics[] = [];
    for (const strategy of strategies) {
      if (!v['pool-service']) {
        out.push(await run({ ...base, strategy, accounts: accs }));
        continue;
      }
      const svc = await startPoolService(strategy, accs, () => Math.floor(clock.now));
      try {
        out.push(await run({ ...base, strategy, accounts: accs, service: svc, clock }));
      } finally {
        await svc.stop();
      }
    }
    return out;
  };
  const results = await runAll(accounts);
  const secs = (performance.now() - t0) / 1000;
  const turns = conversations.reduce((a, c) => a + c.turns.length, 0);
  console.log(`# pool simulator — ${new Date().toISOString().slice(0, 10)}`);
  console.log(`${source}; ${conversations.length} conversations, ${turns} turns asked`);
  console.log(`pool: ${describe(accounts)}`);
  console.log(
    `simulated ${(days * DAY) / DAY} days × ${strategies.length} strategies in ${secs.toFixed(1)} s\n`,
  );
  console.log(table(results));
  let extra: Metrics[] | null = null;
  if (v.add) {
    const more = [...accounts, ...parseAccounts(v.add)];
    extra = await runAll(more);
    console.log(`\nwith ${v.add} added (${describe(more)}):\n`);
    console.log(table(extra));
  }
  const labels = accounts.map((a, i) => `acct${String(i + 1).padStart(2, '0')} ${describe([a])}`);
  if (v.svg) {
    writeFileSync(v.svg, svg(results, labels, `Simulated ${days} days: ${source}`));
    console.log(`\nplot: ${v.svg}`);
  }
  if (v.json) {
    const strip = (ms: Metrics[]) => ms.map(({ samples: _s, ...rest }) => rest);
    writeFileSync(
      v.json,
      JSON.stringify({ source, accounts, results: strip(results), added: extra && strip(extra) }, null, 2),
    );
  }
  const scored = results.find((m) => m.strategy === 'score');
  if (scored) {
    console.log('\ntargets (score strategy):');
    let failed = 0;
    for (const t of TARGETS) {
      const ok = t.ok(scored);
      if (!ok) failed++;
      console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${t.name}`);
    }
    if (v.ci && failed) return 1;
  }
  return 0;
}

function describe(accs: AccountSpec[]): string {
  return accs
    .map(
      (a) =>
        `${a.plan}${a.reservePercent ? ` reserve ${a.reservePercent} %` : ''}${a.maxConcurrent ? ` max ${a.maxConcurrent}` : ''}`,
    )
    .join(', ');
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
