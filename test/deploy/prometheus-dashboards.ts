/**
 * Every Grafana dashboard query and every alert rule, evaluated by a real Prometheus scraping a real gateway.
 *
 * Starts the gateway as the compose stack runs it (API `serve` and a separate `worker`, METRICS_TOKEN set) with
 * the fake upstream, puts it under a short, bounded load that also provokes the interesting cases (a failover
 * after an upstream 5xx, a usage-limit cooldown, a token refresh that fails once then succeeds, 4xx), starts the
 * Debian `prometheus` binary with deploy/prometheus/prometheus.yml (targets and intervals rewritten for this
 * machine) and the rules file, then through the HTTP API:
 *   - each panel query of helm/codex-gateway/dashboards/*.json must parse and return at least one series
 *     (Grafana's $__rate_interval is substituted with 30s, as Grafana would for a 1 s scrape),
 *   - every rule must be loaded and evaluate without error, and no alert may be firing or pending except
 *     those the scenario provokes on purpose,
 *   - both targets must be up with the bearer token.
 * Run: node --experimental-strip-types test/deploy/prometheus-dashboards.ts   (exit 0 = all passed)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { parse, stringify } from 'yaml';
import { authJsonOf, freePort, LocalStack, sleep, waitUntil } from './stack.ts';

const root = process.cwd();
const dashDir = join(root, 'helm/codex-gateway/dashboards');
const rulesFile = join(root, 'helm/codex-gateway/rules/codex-gateway.rules.yml');
const t0 = Date.now();
const say = (m: string) => console.log(`[dashboards +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const failures: string[] = [];
let passed = 0;
function check(ok: unknown, what: string): void {
  if (ok) passed++;
  else {
    failures.push(what);
    console.log(`  FAIL ${what}`);
  }
}

const stack = await LocalStack.start({
  REFRESH_LEAD_SECONDS: '300',
  REFRESH_RETRY_BASE_MS: '300',
  POOL_DEFAULT_COOLDOWN_SECONDS: '120',
});
const tmp = mkdtempSync(join(tmpdir(), 'cg-prom-'));
let prom: ReturnType<typeof spawn> | undefined;
const promLog: string[] = [];
try {
  say('gateway: api (serve) + worker');
  const [api, worker] = await Promise.all([stack.run('serve'), stack.run('worker')]);

  say('prometheus with deploy/prometheus/prometheus.yml');
  const cfg = parse(readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8'));
  cfg.global.scrape_interval = '1s';
  cfg.global.evaluation_interval = '1s';
  cfg.rule_files = [rulesFile];
  const job = cfg.scrape_configs[0];
  writeFileSync(join(tmp, 'metrics_token'), stack.metricsToken);
  job.authorization.credentials_file = join(tmp, 'metrics_token');
  const byComponent = Object.fromEntries(
    job.static_configs.map((s: any) => [s.labels.component, s]),
  ) as Record<string, any>;
  byComponent.api.targets = [`127.0.0.1:${api.port}`];
  byComponent.worker.targets = [`127.0.0.1:${worker.port}`];
  writeFileSync(join(tmp, 'prometheus.yml'), stringify(cfg));
  const promPort = await freePort();
  const promUrl = `http://127.0.0.1:${promPort}`;
  prom = spawn(
    'prometheus',
    [
      `--config.file=${join(tmp, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prom.stderr!.on('data', (d) => promLog.push(String(d)));
  await waitUntil(async () => (await fetch(`${promUrl}/-/ready`)).status === 200, 30_000, 'prometheus ready');

  say('accounts, key and a short load through the OpenAI SDK');
  const admin = await stack.admin(api.url);
  const f = stack.fake;
  const a = f.addAccount({ chatgptAccountId: 'acct-a', email: 'a@example.test' });
  const b = f.addAccount({ chatgptAccountId: 'acct-b', email: 'b@example.test' });
  // Expires within the refresh lead: the worker refreshes it right away; the first attempt fails (transient).
  const c = f.addAccount({ chatgptAccountId: 'acct-c', email: 'c@example.test', accessTtlSeconds: 120 });
  f.tokenFault({ kind: 'server_error' }, 1, 'acct-c');
  f.setUsageHeaders('acct-a', { primaryUsedPercent: 42 });
  f.setUsageHeaders('acct-b', { primaryUsedPercent: 77 });
  for (const [acct, label] of [
    [a, 'team-a'],
    [b, 'team-b'],
    [c, 'team-c'],
  ] as const)
    await admin('POST', '/accounts/import', { ...authJsonOf(acct), label });
  const key = (await admin('POST', '/keys', { name: 'dashboards' })).key as string;
  // One upstream 502 (-> failover to another account) and one usage-limit answer (-> cooldown) on the way.
  f.fault('acct-a', { kind: 'server_error', status: 502 });
  f.fault('acct-b', { kind: 'usage_limit', resetsInSeconds: 90 });

  const client = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: key, maxRetries: 0 });
  const until = Date.now() + 12_000;
  let sent = 0;
  let okCount = 0;
  const one = async (i: number) => {
    sent++;
    if (i % 7 === 6) {
      await client.chat.completions
        .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] })
        .catch(() => undefined);
      return;
    }
    if (i % 2 === 0) {
      const r = await client.chat.completions.create({
        model: 'gpt-5.5',
        messages: [{ role: 'user', content: `load ${i}` }],
      });
      if (r.choices[0]?.message?.content) okCount++;
    } else {
      const s = await client.responses.create({ model: 'gpt-5.5', input: `stream ${i}`, stream: true });
      for await (const ev of s) if (ev.type === 'response.completed') okCount++;
    }
  };
  let i = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < until && i < 2000) await one(i++).catch(() => undefined);
    }),
  );
  say(`load done: ${sent} requests, ${okCount} answered`);
  check(okCount > 20, `load answered ${okCount} requests`);
  // A 120 s token is due at half its life (accounts/refresh-due.ts), about 60 s after the import, then retried.
  await waitUntil(async () => f.refreshCount('acct-c') >= 2, 120_000, 'acct-c refreshed after one failure');
  // A few scrapes after the last request and the refresh.
  await sleep(4000);

  const query = async (expr: string) => {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await r.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  };

  say('targets');
  const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as any;
  for (const t of targets.data.activeTargets)
    check(t.health === 'up', `target ${t.labels.component} ${t.scrapeUrl} up (${t.health} ${t.lastError})`);
  check(targets.data.activeTargets.length === 2, 'two targets (api, worker)');

  say('dashboard queries');
  const files = readdirSync(dashDir).filter((x) => x.endsWith('.json'));
  check(files.length === 5, `5 dashboards (${files.join(', ')})`);
  let queries = 0;
  for (const file of files) {
    const d = JSON.parse(readFileSync(join(dashDir, file), 'utf8'));
    for (const p of d.panels) {
      for (const t of p.targets) {
        queries++;
        const expr = String(t.expr).replaceAll('$__rate_interval', '30s');
        const r = await query(expr);
        const n = r.data?.result?.length ?? 0;
        // The forecast gauge is absent by design while the pool burns nothing (the fake's usage stays flat here).
        const absentByDesign = /cg_pool_window_dry_seconds/.test(expr);
        const ok = r.status === 'success' && (n > 0 || absentByDesign);
        check(ok, `${file} "${p.title}" ${t.refId}: ${r.status} ${r.error ?? ''} ${n} series :: ${expr}`);
        if (ok) console.log(`  ok   ${file} "${p.title}" ${t.refId}: ${n} series`);
      }
    }
  }

  say('alert rules');
  const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as any;
  const loaded = rules.data.groups.flatMap((g: any) => g.rules);
  const inFile = parse(readFileSync(rulesFile, 'utf8')).groups.flatMap((g: any) => g.rules);
  check(loaded.length === inFile.length, `${loaded.length}/${inFile.length} rules loaded`);
  for (const r of loaded)
    check(r.health === 'ok', `rule ${r.name} evaluates (${r.health} ${r.lastError ?? ''})`);
  // Provoked on purpose: none of these scenarios lasts long enough for a `for:`; nothing may be firing.
  const alerts = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as any;
  const active = alerts.data.alerts.map((x: any) => `${x.labels.alertname}:${x.state}`);
  check(
    !active.some((x: string) => /WorkerDown|ApiTargetDown|NoActiveAccount|NeedsReauth/.test(x)),
    `no health alert active (${active.join(', ') || 'none'})`,
  );
  say(`${queries} dashboard queries evaluated`);
} catch (err) {
  failures.push(`aborted: ${(err as Error).stack ?? err}`);
  console.error(`[dashboards] aborted: ${(err as Error).stack ?? err}`);
  for (const p of stack.procs) console.error(`--- ${p.role} log\n${p.log.join('').slice(-3000)}`);
  console.error(`--- prometheus log\n${promLog.join('').slice(-3000)}`);
} finally {
  if (prom && prom.exitCode === null) {
    prom.kill('SIGTERM');
    await new Promise((r) => prom!.once('exit', r));
  }
  await stack.close();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`\n${passed} passed, ${failures.length} failed`);
if (failures.length) {
  for (const f of failures) console.log(`  - ${f}`);
  process.exit(1);
}
