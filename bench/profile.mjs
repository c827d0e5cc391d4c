// Summary of a V8 .cpuprofile (node --cpu-prof): self time per function and per package, as Markdown.
// Usage as a script: node bench/profile.mjs <file.cpuprofile>
import { readFileSync } from 'node:fs';

function where(url) {
  if (!url) return '(native/V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node core';
  const d = url.indexOf('/dist/');
  if (d >= 0)
    return `gateway ${
      url
        .slice(d + 6)
        .split('/')
        .slice(0, -1)
        .join('/') || '.'
    }`;
  return url;
}

/** `skipMs`: samples of the first milliseconds (start-up, module loading) are left out. */
export function summarizeProfile(profile, top = 25, skipMs = 0) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const counts = new Map();
  let at = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (at < skipMs * 1000) continue;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  let total = 0;
  const fn = new Map();
  const pkg = new Map();
  for (const [id, t] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    total += t;
    const name = cf.functionName || '(anonymous)';
    const file = cf.url ? cf.url.replace(/^.*\/(node_modules|dist)\//, '$1/') : '';
    const k = `${name} ${file ? `(${file}:${cf.lineNumber + 1})` : ''}`.trim();
    fn.set(k, (fn.get(k) ?? 0) + t);
    const p = ['(idle)', '(garbage collector)', '(program)'].includes(name) ? name : where(cf.url);
    pkg.set(p, (pkg.get(p) ?? 0) + t);
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  const pct = (t) => `${((100 * t) / total).toFixed(1)} %`;
  const rows = (m, n) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `| ${k.replace(/\|/g, '\\|')} | ${pct(t)} |`);
  return [
    `### CPU profile (self time, ${(total / 1e6).toFixed(1)} s sampled)`,
    '',
    '| where | share |',
    '|---|---|',
    ...rows(pkg, 20),
    '',
    '| function | share |',
    '|---|---|',
    ...rows(fn, top),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(summarizeProfile(JSON.parse(readFileSync(process.argv[2], 'utf8'))));
}
