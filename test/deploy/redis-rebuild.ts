/**
 * What losing Redis costs, checked on a real gateway (docs/deploy.md "Backups" states the result):
 * API `serve` + `worker` from dist/, one account, one key; every Redis key of the deployment's prefix is deleted
 * (as after a Redis loss without persistence); then:
 *   - API calls with an existing virtual key still work (keys and accounts live in Postgres),
 *   - admin sessions are gone (sign in again),
 *   - the day/month token counters of the key start again from zero,
 *   - the account's refresh job and the sweep come back once the worker restarts (the sweep schedule is
 *     written at worker start).
 * Run: node --experimental-strip-types test/deploy/redis-rebuild.ts   (exit 0 = every statement held)
 */
import { execFileSync } from 'node:child_process';
import OpenAI from 'openai';
import { authJsonOf, LocalStack, sleep, waitUntil } from './stack.ts';

const failures: string[] = [];
let passed = 0;
const check = (ok: unknown, what: string) => {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (ok) passed++;
  else failures.push(what);
};
const stack = await LocalStack.start({ ACCOUNT_SWEEP_SECONDS: '2' });
const prefix = stack.env.REDIS_KEY_PREFIX;
const redis = (...args: string[]) =>
  execFileSync('redis-cli', ['-h', '127.0.0.1', ...args], { encoding: 'utf8' }).trim();
const keys = (pattern: string) =>
  redis('--scan', '--pattern', `${prefix}${pattern}`).split('\n').filter(Boolean);
const refreshJobs = () => Number(redis('zcard', `${prefix}bull:accounts:delayed`));
try {
  const api = await stack.run('serve');
  let worker = await stack.run('worker');
  const admin = await stack.admin(api.url);
  const acct = stack.fake.addAccount({ chatgptAccountId: 'acct-redis', accessTtlSeconds: 3600 });
  await admin('POST', '/accounts/import', authJsonOf(acct));
  const key = (await admin('POST', '/keys', { name: 'redis', dailyTokenLimit: 1_000_000 }).catch(() =>
    admin('POST', '/keys', { name: 'redis' }),
  )) as { key: string };
  const client = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: key.key, maxRetries: 0 });
  const chat = () =>
    client.chat.completions.create({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }] });
  await chat();
  await waitUntil(async () => refreshJobs() > 0, 15_000, 'refresh job scheduled');
  const dayKeys = keys('quota:day:*');
  console.log(
    `before: ${keys('*').length} keys, ${refreshJobs()} delayed refresh job(s), day counters ${dayKeys.length}`,
  );

  // --- Redis loss: every key of this deployment's prefix, nothing else ---
  const all = keys('*');
  for (let i = 0; i < all.length; i += 200) redis('del', ...all.slice(i, i + 200));
  check(keys('*').length === 0 || keys('*').every((k) => !k.includes('quota')), 'deployment keys deleted');

  const r = await chat().then(
    (c) => c.choices[0]?.message?.content ?? '',
    (e: Error) => `ERR ${e.message}`,
  );
  check(
    !r.startsWith('ERR') && r.length > 0,
    `API call with the existing key works after the loss (${r.slice(0, 40)})`,
  );
  const me = await fetch(`${api.url}/admin/api/keys`, { headers: { cookie: 'cg_session=stale' } });
  check(me.status === 401, `admin API without a valid session: 401 (${me.status})`);
  await admin('GET', '/keys').then(
    () => check(false, 'old admin session still valid'),
    (e: Error) => check(/401/.test(e.message), 'old admin session is gone (sign in again)'),
  );
  const dayAfter = keys('quota:day:*').map((k) => Number(redis('get', k)));
  check(
    dayAfter.length === 1 && dayAfter[0] < 1000,
    `day token counter restarted from zero (${dayAfter.join(',')})`,
  );

  await sleep(6000); // three sweep intervals
  const withoutRestart = refreshJobs();
  console.log(`  (refresh jobs 6 s after the loss, worker not restarted: ${withoutRestart})`);
  worker.child.kill('SIGTERM');
  await new Promise((res) => worker.child.once('exit', res));
  stack.procs.splice(stack.procs.indexOf(worker), 1);
  worker = await stack.run('worker');
  let back = 0;
  await waitUntil(async () => (back = refreshJobs()) > 0, 20_000, 'refresh job re-created').then(
    () => check(true, `refresh job re-created after the worker restart (${back})`),
    (e: Error) => check(false, e.message),
  );
} catch (err) {
  failures.push(`aborted: ${(err as Error).stack}`);
  for (const p of stack.procs) console.error(`--- ${p.role}\n${p.log.join('').slice(-2000)}`);
} finally {
  await stack.close();
}
console.log(`${passed} passed, ${failures.length} failed`);
if (failures.length) {
  for (const f of failures) console.log(`  - ${f}`);
  process.exit(1);
}
