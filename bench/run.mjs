// Capacity and overhead bench, run the way users run the gateway: the BUILT gateway (`node dist/main.js all`,
// NODE_ENV=production, LOG_LEVEL=warn) as its own process, the fake upstream as its own process with no pause
// between SSE events, and every load generator (autocannon, bench/streams.mjs) as its own process.
// Needs `npm run build` and the local Postgres/Redis. Writes a Markdown report (bench/results/latest.md).
//
//   npm run bench                          full run (10-minute soak, CPU profile pass)
//   npm run bench:ci                       short CI run (≤ 2 min); exits 1 on a regression (bench/baseline.json)
//   node bench/run.mjs [--ci] [--soak=SECONDS] [--streams=N] [--hold=MS] [--duration=S] [--rate=RPS]
//                      [--no-profile] [--out=FILE] [--node-options="..."]
//   node bench/run.mjs --serve [--node-options="--cpu-prof"]   set up, start, print the URLs and key, wait
import { randomBytes, createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { cpus, totalmem, release, tmpdir, platform, loadavg } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import pg from 'pg';
import {
  autocannon,
  firstLine,
  freePort,
  imageNodeOptions,
  parseArgs,
  nodeJson,
  rssMiB,
  sampler,
  scrape,
  sleep,
  startProcess,
  stopProcess,
  waitHttp,
} from './lib.mjs';
import { summarizeProfile } from './profile.mjs';

const argv = parseArgs();
const CI = argv.ci === 'true';
const opt = {
  duration: Number(argv.duration ?? (CI ? 5 : 10)),
  rounds: Number(argv.rounds ?? (CI ? 4 : 5)),
  roundSeconds: Number(argv['round-seconds'] ?? (CI ? 3 : 6)),
  warmup: CI ? 3 : 5,
  rate: Number(argv.rate ?? 200),
  streams: Number(argv.streams ?? (CI ? 500 : 2000)),
  hold: Number(argv.hold ?? (CI ? 3000 : 6000)),
  soak: Number(argv.soak ?? (CI ? 0 : 600)),
  profile: !CI && argv['no-profile'] !== 'true',
  connections: 32,
  nodeOptions: argv['node-options'] ?? '',
};
const out = argv.out ?? (CI ? 'bench/results/ci.md' : 'bench/results/latest.md');
mkdirSync('bench/results', { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'cg-bench-'));
const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---- database, keys, fake upstream ---------------------------------------------------------------------------
const admin = new pg.Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
const dbName = `cg_bench_${randomBytes(4).toString('hex')}`;
await admin.query(`CREATE DATABASE "${dbName}"`);
const dbUrl = `postgresql://postgres@127.0.0.1:5432/${dbName}`;
const encryptionKey = randomBytes(32).toString('base64');
const prefix = `cgb:${randomBytes(3).toString('hex')}:`;
const children = [];
let exitCode = 0;

const cleanup = async () => {
  for (const c of children.reverse()) await stopProcess(c).catch(() => {});
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => {});
  await admin.end().catch(() => {});
  try {
    const Redis = (await import('ioredis')).default;
    const r = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    await r.connect();
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
  } catch {
    /* best effort */
  }
};

try {
  const fake = startProcess(
    process.execPath,
    ['--no-warnings', '--experimental-transform-types', 'bench/fake-upstream.ts'],
    { NODE_OPTIONS: '' },
    'fake upstream',
  );
  children.push(fake);
  const up = JSON.parse(await firstLine(fake));
  const fakeCtl = (path, body) =>
    fetch(
      `${up.url}/__fake/${path}`,
      body
        ? { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : {},
    ).then((r) => r.json());

  const gwEnv = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    ENCRYPTION_KEY: encryptionKey,
    DATABASE_URL: dbUrl,
    REDIS_KEY_PREFIX: prefix,
    OPENAI_AUTH_ISSUER: up.url,
    CODEX_BASE_URL: up.codexBaseUrl,
    HOST: '127.0.0.1',
    // Every load generator connects from 127.0.0.1: the per-address connection cap would refuse the 2000 streams.
    MAX_CONNECTIONS_PER_ADDRESS: '0',
  };
  execSync('node dist/main.js migrate', { env: { ...process.env, ...gwEnv }, stdio: 'ignore' });
  const { loadConfig } = await import('../dist/config/load-config.js');
  const { KeyRing } = await import('../dist/common/crypto.js');
  const config = loadConfig(gwEnv);
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  const accountId = randomUUID();
  const acct = up.account;
  const sealed = new KeyRing(config.encryptionKeys).seal(
    JSON.stringify({
      access_token: acct.accessToken,
      refresh_token: acct.refreshToken,
      id_token: acct.idToken,
    }),
    accountId,
  );
  await db.query(
    `INSERT INTO accounts (id, "chatgptAccountId", credentials, "credentialsKeyId", "accessTokenExpiresAt", "updatedAt") VALUES ($1,$2,$3,$4,$5,now())`,
    [accountId, acct.chatgptAccountId, sealed.data, sealed.keyId, acct.accessExpiresAt],
  );
  const userId = randomUUID();
  await db.query(`INSERT INTO users (id, email, "updatedAt") VALUES ($1, 'bench@example.test', now())`, [
    userId,
  ]);
  const key = `sk-cg-${randomBytes(32).toString('base64url').replace(/[-_]/g, 'a').slice(0, 43)}`;
  await db.query(
    `INSERT INTO api_keys (id, "userId", prefix, hash, "updatedAt") VALUES ($1,$2,$3,$4,now())`,
    [randomUUID(), userId, key.slice(0, 10), createHash('sha256').update(key).digest('hex')],
  );
  await db.end();

  // ---- requests ------------------------------------------------------------------------------------------------
  const gwHeaders = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const respBody = JSON.stringify({ model: 'gpt-5.5', input: 'benchmark me', stream: true });
  const chatBody = JSON.stringify({
    model: 'gpt-5.5',
    messages: [{ role: 'user', content: 'benchmark me' }],
    stream: true,
  });
  const directHeaders = {
    authorization: `Bearer ${acct.accessToken}`,
    'chatgpt-account-id': acct.chatgptAccountId,
    originator: 'codex_exec',
    'user-agent': 'codex_exec/0.169.0 (bench)',
    version: '0.169.0',
    'session-id': randomUUID(),
    accept: 'text/event-stream',
    'content-type': 'application/json',
  };
  const directBody = JSON.stringify({
    model: 'gpt-5.5',
    instructions: '',
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'benchmark me' }] }],
    stream: true,
    store: false,
  });
  const direct = { url: `${up.codexBaseUrl}/responses`, headers: directHeaders, body: directBody, tmp };

  // The featureless relay (bench/relay.mjs): one fixed bearer, the Codex body, the upstream's bytes piped back.
  const relayKey = `relay-${randomBytes(8).toString('hex')}`;
  const relayProc = startProcess(
    process.execPath,
    ['bench/relay.mjs', up.codexBaseUrl, relayKey, acct.accessToken, acct.chatgptAccountId],
    { NODE_OPTIONS: '' },
    'relay',
  );
  children.push(relayProc);
  const relayUrl = JSON.parse(await firstLine(relayProc)).url;
  const relayHeaders = { authorization: `Bearer ${relayKey}`, 'content-type': 'application/json' };
  const relayResp = { url: `${relayUrl}/v1/responses`, headers: relayHeaders, body: respBody, tmp };
  const relayChat = { url: `${relayUrl}/v1/chat/completions`, headers: relayHeaders, body: chatBody, tmp };

  async function startGateway(nodeOptions = opt.nodeOptions) {
    const port = await freePort();
    const gw = startProcess(
      process.execPath,
      [...nodeOptions.split(' ').filter(Boolean), 'dist/main.js', 'all'],
      // The image's runtime settings (Dockerfile ENV): the bench measures the gateway as it is deployed.
      { ...gwEnv, PORT: String(port), NODE_OPTIONS: imageNodeOptions(), MALLOC_ARENA_MAX: '2' },
      'gateway',
    );
    children.push(gw);
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/readyz`, gw);
    return { gw, url };
  }

  // ---- 1. start, warm-up, throughput, latency ----------------------------------------------------------------
  log('starting gateway');
  const { gw, url: gwUrl } = await startGateway();
  if (argv.serve === 'true') {
    // --serve: the same set-up, left running for hands-on profiling (curl, autocannon, --cpu-prof) until Ctrl-C.
    process.stdout.write(
      `${JSON.stringify({ gateway: gwUrl, key, pid: gw.pid, direct: direct.url, directHeaders, directBody })}\n`,
    );
    await new Promise((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    throw new Error('stopped (--serve)');
  }
  await sleep(3000);
  const rssStart = rssMiB(gw.pid);
  log(`RSS after start ${rssStart.toFixed(0)} MiB`);
  const resp = { url: `${gwUrl}/v1/responses`, headers: gwHeaders, body: respBody, tmp };
  const chat = { url: `${gwUrl}/v1/chat/completions`, headers: gwHeaders, body: chatBody, tmp };
  await autocannon({ ...resp, duration: opt.warmup });
  await autocannon({ ...chat, duration: opt.warmup });
  await autocannon({ ...direct, duration: 2 });
  await autocannon({ ...relayResp, duration: CI ? 1 : 2 });
  await sleep(5000);
  const rssWarm = rssMiB(gw.pid);
  log(`RSS after warm-up + 5 s idle ${rssWarm.toFixed(0)} MiB`);

  const loadRss = sampler(() => rssMiB(gw.pid), 1000);
  // Interleaved rounds (direct, relay responses, relay chat, gateway responses, gateway chat) × N, each ratio taken
  // within its round, the median reported: on a shared machine the direct rate alone drifts 2× between
  // back-to-back rounds, a round's ratio far less.
  const rounds = [];
  for (let i = 0; i < opt.rounds; i++) {
    const d = await autocannon({ ...direct, duration: opt.roundSeconds });
    const rr = await autocannon({ ...relayResp, duration: opt.roundSeconds });
    const rc = await autocannon({ ...relayChat, duration: opt.roundSeconds });
    const g = await autocannon({ ...resp, duration: opt.roundSeconds });
    const c = await autocannon({ ...chat, duration: opt.roundSeconds });
    rounds.push({ d, rr, rc, g, c });
    const x = (a, b) => (a / b).toFixed(2);
    log(
      `round ${i + 1}: direct ${d.rps}; relay responses ${rr.rps} (${x(rr.rps, d.rps)}), chat ${rc.rps}; ` +
        `gateway responses ${g.rps} (÷direct ${x(g.rps, d.rps)}, ÷relay ${x(g.rps, rr.rps)}), ` +
        `chat ${c.rps} (÷direct ${x(c.rps, d.rps)}, ÷relay ${x(c.rps, rc.rps)})`,
    );
  }
  // Median; of an even count, the mean of the two middle values.
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const ratio = (f) => median(rounds.map(f));
  const respRatio = ratio((r) => r.g.rps / r.d.rps);
  const chatRatio = ratio((r) => r.c.rps / r.d.rps);
  const respVsRelay = ratio((r) => r.g.rps / r.rr.rps);
  const chatVsRelay = ratio((r) => r.c.rps / r.rc.rps);
  const relayRatio = ratio((r) => r.rr.rps / r.d.rps);
  const relayChatRatio = ratio((r) => r.rc.rps / r.d.rps);
  const directRps = median(rounds.map((r) => r.d.rps));
  const relayRps = median(rounds.map((r) => r.rr.rps));
  const relayChatRps = median(rounds.map((r) => r.rc.rps));
  const g1 = { ...rounds[0].g, rps: median(rounds.map((r) => r.g.rps)) };
  const c1 = { ...rounds[0].c, rps: median(rounds.map((r) => r.c.rps)) };
  for (const k of ['non2xx', 'errors', 'timeouts']) {
    g1[k] = rounds.reduce((n, r) => n + r.g[k], 0);
    c1[k] = rounds.reduce((n, r) => n + r.c[k], 0);
  }
  const ld = await autocannon({ ...direct, duration: opt.duration, rate: opt.rate });
  // The relay's fixed-rate run is left out of CI (time); the report then shows the gateway vs direct only.
  const lr = CI
    ? { p50: NaN, p99: NaN }
    : await autocannon({ ...relayResp, duration: opt.duration, rate: opt.rate });
  const lg = await autocannon({ ...resp, duration: opt.duration, rate: opt.rate });
  log(
    `fixed ${opt.rate} rps: direct p50 ${ld.p50} p99 ${ld.p99}; ${CI ? '' : `relay p50 ${lr.p50} p99 ${lr.p99}; `}gateway p50 ${lg.p50} p99 ${lg.p99}`,
  );
  const rssPeakLoad = Math.max(...loadRss.stop().map((s) => s.v));
  await sleep(5000);
  const rssAfterLoad = rssMiB(gw.pid);
  log(
    `RSS after load + 5 s idle ${rssAfterLoad.toFixed(0)} MiB (peak during load ${rssPeakLoad.toFixed(0)})`,
  );
  const errs = [g1, c1, lg].reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);

  // ---- 2. N concurrent long streams ----------------------------------------------------------------------------
  await fakeCtl('configure', { holdMs: opt.hold });
  await fakeCtl('stats?reset=1');
  const rssBeforeStreams = rssMiB(gw.pid);
  const streamRss = sampler(() => rssMiB(gw.pid), 200);
  log(`opening ${opt.streams} streams held ${opt.hold} ms at the upstream`);
  const st = await nodeJson('bench/streams.mjs', [
    `${gwUrl}/v1/responses`,
    `Bearer ${key}`,
    String(opt.streams),
    respBody,
  ]);
  const rssStreamsPeak = Math.max(...streamRss.stop().map((s) => s.v));
  const upStats = await fakeCtl('stats');
  await fakeCtl('configure', { holdMs: 0 });
  const perStreamKiB = ((rssStreamsPeak - rssBeforeStreams) * 1024) / opt.streams;
  log(
    `streams: ${JSON.stringify(st)}; upstream max open ${upStats.maxOpenStreams}; +${perStreamKiB.toFixed(1)} KiB/stream`,
  );

  // ---- 3. soak -----------------------------------------------------------------------------------------------
  let soak = null;
  if (opt.soak > 0) {
    log(`soak ${opt.soak} s at ${opt.rate} rps (responses + chat)`);
    await scrape(`${gwUrl}/metrics`); // resets the event-loop delay window
    const points = [];
    let stop = false;
    const scraper = (async () => {
      while (!stop) {
        await sleep(10_000);
        const m = await scrape(`${gwUrl}/metrics`).catch(() => ({}));
        points.push({
          t: points.length * 10 + 10,
          rss: rssMiB(gw.pid),
          heapUsed: (m['cg_nodejs_heap_size_used_bytes'] ?? NaN) / 2 ** 20,
          eldP99: (m['cg_nodejs_eventloop_lag_p99_seconds'] ?? NaN) * 1000,
          eldMax: (m['cg_nodejs_eventloop_lag_max_seconds'] ?? NaN) * 1000,
        });
      }
    })();
    const [sr, sc] = await Promise.all([
      autocannon({ ...resp, duration: opt.soak, rate: Math.round(opt.rate / 2), connections: 16 }),
      autocannon({ ...chat, duration: opt.soak, rate: Math.round(opt.rate / 2), connections: 16 }),
    ]);
    stop = true;
    await scraper;
    await sleep(5000);
    soak = { points, rssEnd: rssMiB(gw.pid), sr, sc };
    log(`soak done: RSS ${points.map((p) => p.rss.toFixed(0)).join(' ')}`);
  }
  const metricsText = await (await fetch(`${gwUrl}/metrics`)).text();
  const capacityLines = metricsText
    .split('\n')
    .filter((l) =>
      /^cg_(upstream_|inflight|nodejs_eventloop_lag_p99|process_resident|nodejs_heap_size_used)/.test(l),
    );
  await stopProcess(gw);

  // ---- 4. CPU profile pass -------------------------------------------------------------------------------------
  let profileMd = null;
  if (opt.profile) {
    const dir = join(tmp, 'prof');
    log('profile pass (node --cpu-prof)');
    const spawnedAt = Date.now();
    const p = await startGateway(`--cpu-prof --cpu-prof-dir=${dir} ${opt.nodeOptions}`);
    await autocannon({ ...resp, url: `${p.url}/v1/responses`, duration: opt.warmup });
    const skipMs = Date.now() - spawnedAt; // start-up and warm-up are not in the summary
    await autocannon({ ...resp, url: `${p.url}/v1/responses`, duration: opt.duration });
    await autocannon({ ...chat, url: `${p.url}/v1/chat/completions`, duration: opt.duration });
    await stopProcess(p.gw);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      profileMd = summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), 25, skipMs);
      writeFileSync('bench/results/profile-summary.md', profileMd);
    }
  }

  // ---- report --------------------------------------------------------------------------------------------------
  const commit = (() => {
    try {
      return execSync('git rev-parse --short HEAD').toString().trim();
    } catch {
      return 'unknown';
    }
  })();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()}, Node ${process.version}; load average at the end ${loadavg()[0].toFixed(1)} (shared machine)`;
  const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
  const held = upStats.maxOpenStreams >= opt.streams && st.ok === opt.streams;
  const soakRssMax = soak ? Math.max(...soak.points.map((p) => p.rss)) : null;
  const lines = [
    `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — commit ${commit}${CI ? ' (CI run)' : ''}`,
    '',
    `Machine: ${machine}. Command: \`${CI ? 'npm run bench:ci' : 'npm run bench'}\` (${process.argv.slice(2).join(' ') || 'defaults'}).`,
    '',
    '| measure | result |',
    '|---|---|',
    `| featureless relay ÷ direct, \`/v1/responses\` / chat (median of ${opt.rounds} interleaved ${opt.roundSeconds} s rounds, ${opt.connections} connections) | **${relayRatio.toFixed(2)} / ${relayChatRatio.toFixed(2)}** (${f0(relayRps)} / ${f0(relayChatRps)} ÷ ${f0(directRps)} req/s) |`,
    `| throughput, \`/v1/responses\` stream, gateway ÷ relay | **${respVsRelay.toFixed(2)}** (${f0(g1.rps)} ÷ ${f0(relayRps)} req/s) |`,
    `| throughput, \`/v1/chat/completions\` stream, gateway ÷ relay (the relay pipes the upstream's bytes, it does not translate) | **${chatVsRelay.toFixed(2)}** (${f0(c1.rps)} ÷ ${f0(relayChatRps)} req/s) |`,
    `| throughput, \`/v1/responses\` stream, gateway ÷ direct | **${respRatio.toFixed(2)}** (${f0(g1.rps)} ÷ ${f0(directRps)} req/s) |`,
    `| throughput, \`/v1/chat/completions\` stream, gateway ÷ direct | **${chatRatio.toFixed(2)}** (${f0(c1.rps)} ÷ ${f0(directRps)} req/s) |`,
    `| added latency at a fixed ${opt.rate} rps vs direct (p50 / p99) | **+${(lg.p50 - ld.p50).toFixed(1)} ms / +${(lg.p99 - ld.p99).toFixed(1)} ms** (gateway ${lg.p50}/${lg.p99}, direct ${ld.p50}/${ld.p99}${CI ? '' : `, relay ${lr.p50}/${lr.p99}; vs relay +${(lg.p50 - lr.p50).toFixed(1)} / +${(lg.p99 - lr.p99).toFixed(1)} ms`}) |`,
    `| ${opt.streams} streams opened at once (each ${opt.hold / 1000} s at the upstream) | **${st.ok}/${opt.streams} ok, ${upStats.maxOpenStreams} open at the upstream at once, all done after ${(st.elapsedMs / 1000).toFixed(1)} s** (first byte: p50 ${st.ttfbP50} ms, max ${st.ttfbMax} ms)${Object.keys(st.failures).length ? `; failures ${JSON.stringify(st.failures)}` : ''} |`,
    `| gateway RSS right after start | **${f0(rssStart)} MiB** |`,
    `| gateway RSS after warm-up (+5 s idle) → after ${opt.duration * 6} s of load (+5 s idle) | **${f0(rssWarm)} → ${f0(rssAfterLoad)} MiB = ${(rssAfterLoad / rssWarm).toFixed(2)} ×** (peak under load ${f0(rssPeakLoad)} MiB) |`,
    `| RSS added per held-open stream | **${perStreamKiB.toFixed(1)} KiB** (${f0(rssBeforeStreams)} → ${f0(rssStreamsPeak)} MiB with ${opt.streams} held) |`,
  ];
  if (soak) {
    const eldP99 = Math.max(...soak.points.map((p) => p.eldP99));
    lines.push(
      `| ${opt.soak / 60}-min soak at ${opt.rate} rps (responses + chat) | RSS max **${f0(soakRssMax)} MiB = ${(soakRssMax / rssWarm).toFixed(2)} ×** post-warm-up, ${f0(soak.rssEnd)} MiB 5 s after; event-loop delay p99 ≤ ${eldP99.toFixed(1)} ms; ${soak.sr.total + soak.sc.total} requests, ${soak.sr.non2xx + soak.sc.non2xx + soak.sr.errors + soak.sc.errors} failed |`,
    );
  }
  lines.push('', `Errors/non-2xx during throughput and latency rounds: ${errs}.`, '');
  lines.push('<details><summary>raw numbers</summary>', '', '```json');
  lines.push(
    JSON.stringify(
      {
        opt,
        rounds,
        ld,
        lr,
        lg,
        st,
        upStats,
        rssStart,
        rssWarm,
        rssAfterLoad,
        rssPeakLoad,
        rssBeforeStreams,
        rssStreamsPeak,
        soak,
      },
      null,
      1,
    ),
  );
  lines.push('```', '', 'Capacity metrics at the end:', '', '```', ...capacityLines, '```', '</details>', '');
  if (profileMd) lines.push(profileMd, '');
  const report = lines.join('\n');
  writeFileSync(out, report);
  process.stdout.write(report);
  log(`report written to ${out}`);

  if (CI) {
    const base = JSON.parse(readFileSync('bench/baseline.json', 'utf8'));
    // gateway ÷ relay: both sides pay the same machine, so it moves far less with the load than ÷ direct.
    const checks = [
      ['responses stream ÷ relay', respVsRelay, base.responsesVsRelay],
      ['chat stream ÷ relay', chatVsRelay, base.chatVsRelay],
    ];
    for (const [name, got, want] of checks) {
      if (got < want * 0.8) {
        console.error(`FAIL: ${name} ${got.toFixed(2)} is more than 20 % below the baseline ${want}`);
        exitCode = 1;
      } else console.error(`ok: ${name} ${got.toFixed(2)} (baseline ${want})`);
    }
    if (!held) {
      console.error(
        `FAIL: ${opt.streams} streams were not held concurrently (${upStats.maxOpenStreams} at once, ${st.ok} ok)`,
      );
      exitCode = 1;
    } else console.error(`ok: ${opt.streams} streams held concurrently`);
  }
} catch (err) {
  console.error(err);
  for (const c of children)
    if (c.exitCode !== null || c.signalCode !== null)
      console.error(`${c.label} exited (${c.exitCode ?? c.signalCode}):\n${c.tail.join('\n')}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
