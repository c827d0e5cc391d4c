// Helpers of the bench orchestrator (bench/run.mjs): child processes, RSS from /proc, autocannon in its own
// process, Prometheus text scraping. Nothing here runs load inside the orchestrator itself.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** `--k=v` / `--flag` command-line options → { k: 'v', flag: 'true' }. */
export function parseArgs(args = process.argv.slice(2)) {
  return Object.fromEntries(
    args.map((a) => {
      const [k, ...v] = a.replace(/^--/, '').split('=');
      return [k, v.length ? v.join('=') : 'true'];
    }),
  );
}

/** The image's NODE_OPTIONS (Dockerfile ENV): the bench runs the gateway with the settings it is deployed with. */
export function imageNodeOptions(dockerfile = 'Dockerfile') {
  const m = /NODE_OPTIONS=("[^"]*"|\S*)/.exec(readFileSync(dockerfile, 'utf8'));
  return m ? m[1].replace(/"/g, '') : '';
}

/** Resident set size of a process in MiB, as the kernel counts it (what a container limit sees). */
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Starts a child process; keeps the last lines of its stderr/stdout for error messages. */
export function startProcess(cmd, args, env, name) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.tail = [];
  const keep = (l) => {
    child.tail.push(l);
    if (child.tail.length > 40) child.tail.shift();
  };
  child.lines = createInterface({ input: child.stdout });
  child.lines.on('line', keep);
  createInterface({ input: child.stderr }).on('line', keep);
  child.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  child.label = name;
  return child;
}

export function firstLine(child, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`${child.label}: no output\n${child.tail.join('\n')}`)),
      timeoutMs,
    );
    child.lines.once('line', (l) => {
      clearTimeout(t);
      resolve(l);
    });
    child.exited.then(({ code }) =>
      reject(new Error(`${child.label} exited (${code})\n${child.tail.join('\n')}`)),
    );
  });
}

export async function stopProcess(child, timeoutMs = 20_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const r = await child.exited;
  clearTimeout(t);
  return r;
}

export async function waitHttp(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${child.label} exited\n${child.tail.join('\n')}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up\n${child.tail.join('\n')}`);
}

/**
 * One autocannon run in its own process (`-j`: JSON result on stdout). `rate` = overall requests/s (fixed-rate
 * mode, latency corrected for coordinated omission); without it, as fast as the connections allow.
 */
export async function autocannon({ url, headers, body, connections = 32, duration = 10, rate, tmp }) {
  const bodyFile = `${tmp}/body-${Math.random().toString(36).slice(2)}.json`;
  writeFileSync(bodyFile, body);
  const args = ['node_modules/autocannon/autocannon.js', '-j', '-n', '-m', 'POST', '-i', bodyFile];
  args.push('-c', String(connections), '-d', String(duration), '-t', '30');
  if (rate) args.push('-R', String(rate));
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`autocannon exited ${code}: ${err}`);
  const j = JSON.parse(out.trim().split('\n').pop());
  return {
    rps: j.requests.average,
    total: j.requests.total,
    p50: j.latency.p50,
    p99: j.latency.p99,
    mean: j.latency.mean,
    non2xx: j.non2xx,
    errors: j.errors,
    timeouts: j.timeouts,
  };
}

/** Runs a node script as its own process and returns its last stdout line parsed as JSON. */
export async function nodeJson(script, args, env = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`${script} exited ${code}: ${err}`);
  return JSON.parse(out.trim().split('\n').pop());
}

/** Prometheus text → { 'name{labels}': value } for the series we read. */
export async function scrape(url) {
  const text = await (await fetch(url)).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

/** Samples a value every `everyMs` until stop() is called; returns the samples. */
export function sampler(fn, everyMs) {
  const samples = [];
  const take = () => {
    try {
      samples.push({ t: Date.now(), v: fn() });
    } catch {
      /* process gone */
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}
