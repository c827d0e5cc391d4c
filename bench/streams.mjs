// Opens N streaming requests at once (its own process, so the load generator's memory and CPU are not the
// gateway's) and reads each to the end. Prints one JSON line: how many succeeded, when their first bytes came
// (all at once = held concurrently; in waves = queued somewhere) and how long the whole batch took.
// Usage: node bench/streams.mjs <url> <authorization header or -> <n> <json body>
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

const [url, auth, nArg, body] = process.argv.slice(2);
const n = Number(nArg);
const dispatcher = new Agent({
  connections: null,
  pipelining: 1,
  headersTimeout: 300_000,
  bodyTimeout: 300_000,
});
const headers = { 'content-type': 'application/json', accept: 'text/event-stream' };
if (auth && auth !== '-') headers.authorization = auth;
const t0 = performance.now();
const ttfb = [];
const done = [];
const failures = {};
await Promise.all(
  Array.from({ length: n }, async () => {
    try {
      const r = await request(url, { method: 'POST', headers, body, dispatcher });
      ttfb.push(performance.now() - t0);
      const text = await r.body.text();
      if (r.statusCode !== 200 || (!text.includes('response.completed') && !text.includes('[DONE]'))) {
        const k = `${r.statusCode} ${text.slice(0, 120)}`;
        failures[k] = (failures[k] ?? 0) + 1;
        return;
      }
      done.push(performance.now() - t0);
    } catch (err) {
      const k = String(err.code ?? err.message);
      failures[k] = (failures[k] ?? 0) + 1;
    }
  }),
);
const q = (a, p) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]) : null;
};
await dispatcher.close();
console.log(
  JSON.stringify({
    n,
    ok: done.length,
    failures,
    elapsedMs: Math.round(performance.now() - t0),
    ttfbP50: q(ttfb, 0.5),
    ttfbMax: q(ttfb, 1),
    doneP50: q(done, 0.5),
    doneMax: q(done, 1),
  }),
);
