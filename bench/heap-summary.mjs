// Summary of a V8 heap snapshot (node --heapsnapshot-signal=SIGUSR2, or inspector): self size per node type and
// per constructor/name, plus the biggest single objects, as Markdown. Usage: node bench/heap-summary.mjs <file>
import { readFileSync } from 'node:fs';

export function summarizeHeap(snap, top = 25) {
  const m = snap.snapshot.meta;
  const F = m.node_fields.length;
  const iType = m.node_fields.indexOf('type');
  const iName = m.node_fields.indexOf('name');
  const iSize = m.node_fields.indexOf('self_size');
  const types = m.node_types[iType];
  const nodes = snap.nodes;
  const strings = snap.strings;
  const byType = new Map();
  const byName = new Map();
  const big = [];
  let total = 0;
  for (let i = 0; i < nodes.length; i += F) {
    const type = types[nodes[i + iType]];
    const size = nodes[i + iSize];
    total += size;
    byType.set(type, (byType.get(type) ?? 0) + size);
    let name = strings[nodes[i + iName]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = `(${type})`;
    else if (type === 'code') name = `(code) ${name.slice(0, 60)}`;
    else name = `${type}: ${name.slice(0, 80)}`;
    const e = byName.get(name) ?? [0, 0];
    e[0] += size;
    e[1]++;
    byName.set(name, e);
    if (size > 256 * 1024) big.push([type, strings[nodes[i + iName]].slice(0, 100), size]);
  }
  const mib = (b) => (b / 2 ** 20).toFixed(2);
  const lines = [`### Heap snapshot: ${mib(total)} MiB of objects`, '', '| type | MiB |', '|---|---|'];
  for (const [k, v] of [...byType].sort((a, b) => b[1] - a[1])) lines.push(`| ${k} | ${mib(v)} |`);
  lines.push('', '| constructor / name | MiB | count |', '|---|---|---|');
  for (const [k, [s, n]] of [...byName].sort((a, b) => b[1][0] - a[1][0]).slice(0, top))
    lines.push(`| ${k.replace(/\|/g, '\\|').replace(/\n/g, ' ')} | ${mib(s)} | ${n} |`);
  lines.push('', '| largest objects (> 256 KiB) | MiB |', '|---|---|');
  for (const [t, n, s] of big.sort((a, b) => b[2] - a[2]).slice(0, 15))
    lines.push(`| ${t}: ${n.replace(/\|/g, '\\|').replace(/\n/g, ' ')} | ${mib(s)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    summarizeHeap(JSON.parse(readFileSync(process.argv[2], 'utf8')), Number(process.argv[3] ?? 25)),
  );
}
