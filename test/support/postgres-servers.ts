import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './gateway.js';
import type { TestCa } from './redis-servers.js';

/**
 * Postgres-side processes a test starts and stops itself: Debian's PgBouncer (transaction pooling) in front of
 * the machine's Postgres, and a second Postgres cluster with TLS on (initdb + postgres on a free port). Both
 * refuse to run as root, so they run as the `postgres` user, from a folder it owns.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

function ownedDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const { uid, gid } = postgresUser();
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o755);
  return dir;
}

export interface Managed {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

function runAsPostgres(cmd: string, args: string[], dir: string): { child: ChildProcess; output(): string } {
  // Spawned as the postgres user directly (no runuser in between), so stop()'s signal reaches the server itself.
  const { uid, gid } = postgresUser();
  const child = spawn(cmd, args, { cwd: dir, uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

async function waitForQuery(url: string, proc: { child: ChildProcess; output(): string }, what: string) {
  const until = Date.now() + 30_000;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${what} exited:\n${proc.output()}`);
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > until)
        throw new Error(`${what} never answered: ${String(err)}\n${proc.output()}`, { cause: err });
      await sleep(100);
    } finally {
      await c.end().catch(() => {});
    }
  }
}

function stopper(proc: { child: ChildProcess }, dir: string): () => Promise<void> {
  return async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      const gone = new Promise((r) => proc.child.once('exit', r));
      proc.child.kill('SIGINT');
      await Promise.race([gone, sleep(5000).then(() => proc.child.kill('SIGKILL'))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/** PgBouncer in transaction mode in front of `upstream` (host:port), every database passed through. */
export async function startPgBouncer(
  upstream: { host: string; port: number },
  poolSize = 2,
): Promise<Managed> {
  const dir = ownedDir('cg-pgbouncer-');
  const port = await freePort();
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${upstream.host} port=${upstream.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  const proc = runAsPostgres('/usr/sbin/pgbouncer', [join(dir, 'pgbouncer.ini')], dir);
  await waitForQuery(`postgresql://postgres@127.0.0.1:${port}/postgres`, proc, 'pgbouncer');
  return { port, output: proc.output, stop: stopper(proc, dir) };
}

/**
 * A fresh Postgres cluster that accepts only TLS connections from 127.0.0.1 (hostssl, trust), with the test's
 * server certificate. Takes a few seconds (initdb).
 */
export async function startTlsPostgres(certs: TestCa): Promise<Managed> {
  const dir = ownedDir('cg-pgtls-');
  const data = join(dir, 'data');
  const { uid, gid } = postgresUser();
  for (const [from, to] of [
    [certs.certFile, 'server.crt'],
    [certs.keyFile, 'server.key'],
  ]) {
    copyFileSync(from, join(dir, to));
    chownSync(join(dir, to), uid, gid);
    chmodSync(join(dir, to), 0o600);
  }
  const init = spawnSync(
    'runuser',
    ['-u', 'postgres', '--', 'initdb', '-D', data, '-A', 'trust', '-U', 'postgres'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n');
  const port = await freePort();
  const proc = runAsPostgres(
    'postgres',
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${join(dir, 'server.crt')}`,
      '-c',
      `ssl_key_file=${join(dir, 'server.key')}`,
      '-c',
      'fsync=off',
    ],
    dir,
  );
  await waitForQuery(
    `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=no-verify`,
    proc,
    'postgres (TLS)',
  );
  return { port, output: proc.output, stop: stopper(proc, dir) };
}
