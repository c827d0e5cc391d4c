import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Static checks of the deployment files (there is no Docker engine or helm binary on the development machine):
 * they parse, wire the roles the app has, and the chart's templates only use values that exist.
 */
const root = process.cwd();
const chart = join(root, 'helm', 'codex-gateway');

describe('deployment files', () => {
  it('docker-compose.yml: migrate first, separate api and worker, monitoring wired, secrets required', () => {
    const c = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
    expect(Object.keys(c.services).sort()).toEqual([
      'api',
      'grafana',
      'migrate',
      'postgres',
      'prometheus',
      'redis',
      'worker',
    ]);
    expect(c.services.migrate.command).toEqual(['migrate']);
    expect(c.services.api.command).toEqual(['serve']);
    expect(c.services.worker.command).toEqual(['worker']);
    for (const s of ['api', 'worker']) {
      expect(c.services[s].depends_on.migrate.condition).toBe('service_completed_successfully');
      expect(c.services[s].read_only).toBe(true);
      expect(c.services[s].environment.ENCRYPTION_KEY).toMatch(/^\$\{ENCRYPTION_KEY:\?/);
    }
    expect(c.services.redis.command).toContain('--appendonly');
    expect(c.services.grafana.environment.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(c.services.grafana.environment.GF_SECURITY_ADMIN_PASSWORD).toMatch(
      /^\$\{GRAFANA_ADMIN_PASSWORD:\?/,
    );
    // every ${VAR} the compose file reads is documented in .env.example
    const env = readFileSync(join(root, '.env.example'), 'utf8');
    const raw = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    const vars = new Set([...raw.matchAll(/\$\{([A-Z_]+)[:}]/g)].map((m) => m[1]));
    expect(vars.size).toBeGreaterThan(10);
    for (const v of vars)
      expect({ v, documented: new RegExp(`^${v}=`, 'm').test(env) }).toEqual({ v, documented: true });
  });

  it('Dockerfile runs dist/main.js as a non-root user with the migrations on board', () => {
    const d = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(d).toMatch(/^FROM node:24/m);
    expect(d).toMatch(/^USER node$/m);
    expect(d).toContain('ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/main.js"]');
    expect(d).toContain('prisma/migrations');
    // Production dependencies come from their own stage, without dev, peer (Prisma CLI) or optional packages.
    expect(d).toMatch(/npm ci --omit=dev --omit=peer --omit=optional/);
    expect(d).toMatch(/^COPY --from=deps \/app\/node_modules/m);
    expect(d).toMatch(/^HEALTHCHECK /m);
  });

  it('the chart parses and its templates reference only existing values', () => {
    expect(parse(readFileSync(join(chart, 'Chart.yaml'), 'utf8')).apiVersion).toBe('v2');
    const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8'));
    const has = (path: string[]) =>
      path.reduce<any>((o, k) => (o && k in o ? o[k] : undefined), values) !== undefined;
    const used = new Set<string>();
    for (const f of readdirSync(join(chart, 'templates'))) {
      const t = readFileSync(join(chart, 'templates', f), 'utf8');
      for (const m of t.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)) used.add(m[1].replace(/\.$/, ''));
    }
    expect(used.size).toBeGreaterThan(5);
    for (const p of used) expect({ path: p, exists: has(p.split('.')) }).toEqual({ path: p, exists: true });
  });

  it('the API runs `serve` with both probes and the worker runs `worker`', () => {
    const api = readFileSync(join(chart, 'templates', 'deployment-api.yaml'), 'utf8');
    const worker = readFileSync(join(chart, 'templates', 'deployment-worker.yaml'), 'utf8');
    expect(api).toContain('args: ["serve"]');
    expect(api).toContain('path: /healthz');
    expect(api).toContain('path: /readyz');
    expect(worker).toContain('args: ["worker"]');
  });
});

describe('monitoring', () => {
  // Every metric the gateway registers (prom-client `name: 'cg_…'`, wherever it is defined in src/).
  const defined = () => {
    const files = (readdirSync(join(root, 'src'), { recursive: true }) as string[]).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'),
    );
    const src = files.map((f) => readFileSync(join(root, 'src', f), 'utf8')).join('\n');
    return new Set([...src.matchAll(/name: '(cg_[a-z_]+)'/g)].map((m) => m[1]));
  };
  // prom-client default metrics (collectDefaultMetrics with the cg_ prefix) used by the dashboards
  const DEFAULTS = [
    'cg_process_resident_memory_bytes',
    'cg_process_cpu_seconds_total',
    'cg_nodejs_heap_size_used_bytes',
    'cg_nodejs_eventloop_lag_p99_seconds',
  ];
  const names = (exprs: string[]) =>
    new Set(exprs.flatMap((e) => [...e.matchAll(/\b(cg_[a-z_0-9]+)/g)].map((m) => m[1])));

  it('dashboards query only metrics the gateway exposes', () => {
    const dir = join(chart, 'dashboards');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual([
      'codex-gateway-accounts.json',
      'codex-gateway-errors.json',
      'codex-gateway-latency.json',
      'codex-gateway-overview.json',
      'codex-gateway-refresh-worker.json',
    ]);
    const exprs = files.flatMap((f) =>
      JSON.parse(readFileSync(join(dir, f), 'utf8')).panels.flatMap((p: any) =>
        p.targets.map((t: any) => t.expr),
      ),
    );
    const known = defined();
    const used = names(exprs);
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      expect({ name, exposed: known.has(base) || DEFAULTS.includes(name) }).toEqual({ name, exposed: true });
    }
  });

  it('alert rules use only exposed metrics, and every alert has a firing unit test', () => {
    const rules = parse(readFileSync(join(chart, 'rules', 'codex-gateway.rules.yml'), 'utf8'));
    const all = rules.groups.flatMap((g: any) => g.rules);
    const known = defined();
    for (const name of names(all.map((r: any) => r.expr))) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      expect({ name, ok: known.has(base) }).toEqual({ name, ok: true });
    }
    const tests = parse(
      readFileSync(join(root, 'deploy/prometheus/tests/codex-gateway.rules.test.yml'), 'utf8'),
    );
    const firing = new Set(
      tests.tests.flatMap((t: any) =>
        t.alert_rule_test.filter((a: any) => a.exp_alerts.length > 0).map((a: any) => a.alertname),
      ),
    );
    const alerts = all.map((r: any) => r.alert).filter(Boolean);
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    for (const a of alerts)
      expect({ alert: a, firingTest: firing.has(a) }).toEqual({ alert: a, firingTest: true });
  });
});
