/**
 * Validates rendered Kubernetes manifests (multi-document YAML files, e.g. `helm template` output) offline
 * against the Kubernetes API JSON schemas shipped by the npm packages kubernetes-models (core and apps
 * APIs), @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule) and
 * @kubernetes-models/gateway-api (HTTPRoute): types, required fields, enums and formats. A kind without a
 * schema fails, so nothing is waved through. scripts/deploy-tools.sh installs the packages into .tools/deploy.
 * Run: node --experimental-strip-types test/deploy/validate-manifests.ts <file.yaml>...   (exit 0 = all valid)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';

const tools = resolve(process.env.DEPLOY_TOOLS_DIR ?? '.tools/deploy', 'node_modules');
const CRDS: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'gateway.networking.k8s.io': '@kubernetes-models/gateway-api',
};

function modulePath(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const pkg = CRDS[group] ?? 'kubernetes-models';
  return join(tools, pkg, group || '', version, `${kind}.js`);
}

let docs = 0;
let bad = 0;
const kinds = new Map<string, number>();
for (const file of process.argv.slice(2)) {
  for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (d.errors.length) {
      console.log(`FAIL ${file}: YAML ${d.errors[0].message}`);
      bad++;
      continue;
    }
    const obj = d.toJS();
    if (!obj) continue;
    docs++;
    const id = `${file}: ${obj.kind} ${obj.metadata?.name}`;
    const path = modulePath(String(obj.apiVersion), String(obj.kind));
    if (!existsSync(path)) {
      console.log(`FAIL ${id}: no schema for ${obj.apiVersion} ${obj.kind}`);
      bad++;
      continue;
    }
    const mod = await import(pathToFileURL(path).href);
    const Model = mod[obj.kind] ?? mod.default;
    try {
      new Model(obj).validate();
      kinds.set(`${obj.apiVersion} ${obj.kind}`, (kinds.get(`${obj.apiVersion} ${obj.kind}`) ?? 0) + 1);
    } catch (err) {
      console.log(`FAIL ${id}: ${(err as Error).message}`);
      bad++;
    }
  }
}
for (const [k, n] of [...kinds].sort()) console.log(`  ok  ${n} x ${k}`);
console.log(`${docs - bad} manifests valid, ${bad} invalid`);
if (bad || !docs) process.exit(1);
