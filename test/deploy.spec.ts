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
  it('docker-compose.yml runs migrate before the gateway and requires ENCRYPTION_KEY', () => {
    const c = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
    expect(Object.keys(c.services).sort()).toEqual(['gateway', 'migrate', 'postgres', 'redis']);
    expect(c.services.migrate.command).toEqual(['migrate']);
    expect(c.services.gateway.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(c.services.gateway.environment.ENCRYPTION_KEY).toMatch(/^\$\{ENCRYPTION_KEY:\?/);
    expect(c.services.gateway.environment.NODE_ENV).toBe('production');
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

describe('Grafana dashboard', () => {
  it('queries only metrics the gateway exposes', async () => {
    const dash = JSON.parse(readFileSync(join(chart, 'dashboards', 'codex-gateway.json'), 'utf8'));
    const exprs: string[] = dash.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(cg_[a-z_]+)/g)].map((m) => m[1])));
    const src = ['metrics/metrics.service.ts', 'accounts/accounts.metrics.ts']
      .map((f) => readFileSync(join(root, 'src', f), 'utf8'))
      .join('\n');
    const defined = new Set([...src.matchAll(/name: '(cg_[a-z_]+)'/g)].map((m) => m[1]));
    expect(used.size).toBeGreaterThan(8);
    for (const name of used) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      expect({ name, defined: defined.has(base) }).toEqual({ name, defined: true });
    }
  });
});
