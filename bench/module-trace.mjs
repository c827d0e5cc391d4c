// Which files a process loads, summed per npm package (size on disk): a --import hook for bench/memory.mjs,
// e.g. node bench/memory.mjs --roles=serve --repeat=1 --settle=7000 \
//   --variants="--max-semi-space-size=8 --max-old-space-size=512 --import=./bench/module-trace.mjs"
// with TRACE_OUT=FILE (default: stderr) and TRACE_AFTER=MS after start (8000).
import { registerHooks } from 'node:module';
import { writeFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const seen = new Set();
registerHooks({
  load(url, ctx, next) {
    seen.add(url);
    return next(url, ctx);
  },
});
setTimeout(
  () => {
    const by = new Map();
    for (const u of seen) {
      if (!u.startsWith('file:')) continue;
      const p = fileURLToPath(u);
      let size = 0;
      try {
        size = statSync(p).size;
      } catch {
        // gone since: counted as 0
      }
      const nm = p.lastIndexOf('node_modules/');
      let pkg = '(ours)';
      if (nm >= 0) {
        const r = p.slice(nm + 13).split('/');
        pkg = r[0].startsWith('@') ? r[0] + '/' + r[1] : r[0];
      }
      const v = by.get(pkg) ?? [0, 0];
      v[0] += size;
      v[1]++;
      by.set(pkg, v);
    }
    const rows = [...by].sort((a, b) => b[1][0] - a[1][0]);
    let t = 0,
      n = 0;
    for (const [, v] of rows) {
      t += v[0];
      n += v[1];
    }
    writeFileSync(
      process.env.TRACE_OUT ?? '/dev/stderr',
      `total ${n} files ${(t / 2 ** 20).toFixed(2)} MiB\n` +
        rows
          .map(([k, v]) => `${(v[0] / 2 ** 20).toFixed(2).padStart(6)} ${String(v[1]).padStart(5)} ${k}`)
          .join('\n') +
        '\n',
    );
  },
  Number(process.env.TRACE_AFTER ?? 8000),
).unref();
