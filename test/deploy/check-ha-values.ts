/**
 * Checks that `helm template -f values-ha.yaml` renders what the HA example promises (docs/scaling.md): 3 API
 * replicas and 2 workers, each with a PodDisruptionBudget; Redis through Sentinel (REDIS_SENTINELS and
 * REDIS_SENTINEL_NAME in the ConfigMap); Postgres over verified TLS (the CA volume mounted in the api, worker and
 * migrate containers); the migrate Job on DATABASE_DIRECT_URL (migrations bypass PgBouncer); egress open to the
 * PgBouncer and Sentinel ports. Schema validity is test/deploy/validate-manifests.ts's job.
 * Run: node --experimental-strip-types test/deploy/check-ha-values.ts <rendered.yaml>   (exit 0 = all hold)
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const file = process.argv[2];
if (!file) throw new Error('usage: check-ha-values.ts <rendered.yaml>');
const docs = parseAllDocuments(readFileSync(file, 'utf8'))
  .map((d) => d.toJS())
  .filter(Boolean) as any[];
const byKind = (kind: string, component?: string) =>
  docs.filter(
    (d) =>
      d.kind === kind && (!component || d.metadata?.labels?.['app.kubernetes.io/component'] === component),
  );
const one = (kind: string, component: string) => {
  const found = byKind(kind, component);
  if (found.length !== 1) throw new Error(`expected one ${kind} for ${component}, found ${found.length}`);
  return found[0];
};

const failures: string[] = [];
const check = (what: string, ok: boolean) => {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

const api = one('Deployment', 'api');
const worker = one('Deployment', 'worker');
const migrate = one('Job', 'migrate');
const config = byKind('ConfigMap').find((c) => c.data?.NODE_ENV === 'production');
check('3 API replicas', api.spec.replicas === 3);
check('2 workers', worker.spec.replicas === 2);
check(
  'a PodDisruptionBudget for the API and the worker',
  byKind('PodDisruptionBudget', 'api').length === 1 && byKind('PodDisruptionBudget', 'worker').length === 1,
);
check(
  'REDIS_SENTINELS lists 3 Sentinels',
  String(config?.data?.REDIS_SENTINELS ?? '').split(',').length === 3,
);
check('REDIS_SENTINEL_NAME set', Boolean(config?.data?.REDIS_SENTINEL_NAME));
check(
  'no REDIS_URL or DATABASE_URL in the ConfigMap (secrets)',
  !config?.data?.REDIS_URL && !config?.data?.DATABASE_URL,
);
for (const [name, obj] of [
  ['api', api],
  ['worker', worker],
  ['migrate', migrate],
] as const) {
  const pod = obj.spec.template.spec;
  const c = pod.containers[0];
  const vol = (pod.volumes ?? []).find((v: any) => v.secret?.secretName);
  const mount = (c.volumeMounts ?? []).find((m: any) => m.name === vol?.name);
  check(`${name}: the Postgres CA Secret mounted read-only`, Boolean(vol && mount?.readOnly));
}
const dbEnv = (migrate.spec.template.spec.containers[0].env ?? []).find(
  (e: any) => e.name === 'DATABASE_URL',
);
check(
  'migrate Job: DATABASE_URL from the secret key DATABASE_DIRECT_URL',
  dbEnv?.valueFrom?.secretKeyRef?.key === 'DATABASE_DIRECT_URL',
);
check(
  'api and worker: DATABASE_URL from the Secret as is (PgBouncer)',
  ![api, worker].some((d) =>
    (d.spec.template.spec.containers[0].env ?? []).some((e: any) => e.name === 'DATABASE_URL'),
  ),
);
const np = byKind('NetworkPolicy')[0];
const ports = new Set(
  (np?.spec?.egress ?? []).flatMap((e: any) => (e.ports ?? []).map((p: any) => p.port)) as number[],
);
check('egress to PgBouncer (6432) and Sentinel (26379)', ports.has(6432) && ports.has(26379));

if (failures.length) {
  console.log(`${failures.length} HA check(s) failed`);
  process.exit(1);
}
console.log('values-ha.yaml renders the HA layout');
