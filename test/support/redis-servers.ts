import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './gateway.js';

export { freePort };

/**
 * Real Redis processes for one test file (Debian's redis-server; `redis-server <conf> --sentinel` for sentinels),
 * each on a free loopback port, without persistence, stopped by `stopAll()`. A test-made CA and server
 * certificate (openssl) for the TLS tests.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RedisProcess {
  port: number;
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export class RedisFarm {
  readonly dir = mkdtempSync(join(tmpdir(), 'cg-redis-'));
  private readonly procs: RedisProcess[] = [];

  /** A redis-server with `args` (e.g. ['--replicaof', '127.0.0.1', '6380']); waits until it answers PING. */
  async server(
    args: string[] = [],
    opts: { port?: number; tlsPing?: RedisOptions } = {},
  ): Promise<RedisProcess> {
    const port = opts.port ?? (await freePort());
    const dir = mkdtempSync(join(this.dir, `r${port}-`));
    const p = this.spawn(port, [
      '--port',
      opts.tlsPing ? '0' : String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...(opts.tlsPing ? ['--tls-port', String(port)] : []),
      ...args,
    ]);
    await this.waitForPing(p, opts.tlsPing);
    return p;
  }

  /** A sentinel monitoring `name` at 127.0.0.1:masterPort (quorum `quorum`, down after 1 s). */
  async sentinel(
    masterPort: number,
    name: string,
    quorum: number,
    extra: string[] = [],
  ): Promise<RedisProcess> {
    const port = await freePort();
    const conf = join(this.dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} ${quorum}`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 3000`,
        `sentinel parallel-syncs ${name} 1`,
        ...extra,
        '',
      ].join('\n'),
    );
    const p = this.spawn(port, [conf, '--sentinel']);
    await this.waitForPing(p);
    return p;
  }

  private spawn(port: number, args: string[]): RedisProcess {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const p: RedisProcess = {
      port,
      child,
      output: () => out,
      kill: async (signal = 'SIGTERM') => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((r) => child.once('exit', r));
        child.kill(signal);
        await gone;
      },
    };
    this.procs.push(p);
    return p;
  }

  private async waitForPing(p: RedisProcess, tls?: RedisOptions): Promise<void> {
    const until = Date.now() + 10_000;
    for (;;) {
      if (p.child.exitCode !== null) throw new Error(`redis-server on ${p.port} exited:\n${p.output()}`);
      const c = new Redis({
        port: p.port,
        host: '127.0.0.1',
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
        ...tls,
      });
      // A server whose default user is off answers NOAUTH (to ioredis' HELLO): it is up.
      let noauth = false;
      c.on('error', (err: Error) => (noauth ||= /NOAUTH/.test(err.message)));
      try {
        await c.connect();
        await c.ping().catch((err: Error) => {
          if (!/NOAUTH/.test(err.message)) throw err;
        });
        return;
      } catch (err) {
        if (noauth) return;
        if (Date.now() > until)
          throw new Error(`redis-server on ${p.port} never answered: ${String(err)}`, { cause: err });
        await sleep(50);
      } finally {
        c.disconnect();
      }
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One command on a throw-away client. */
export async function redisCall<T>(options: RedisOptions, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({
    host: '127.0.0.1',
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    enableReadyCheck: false, // an INFO, refused by the ACL users of these tests
    ...options,
  });
  c.on('error', () => {});
  try {
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

export interface TestCa {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Signed by another CA: a server certificate the gateway must refuse. */
  otherCaFile: string;
}

/** A CA and a server certificate for 127.0.0.1/localhost, made with openssl in `dir`. */
export function makeCertificates(dir: string): TestCa {
  const run = (cmd: string) => {
    const r = spawnSync('openssl', cmd.split(' '), { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${cmd} failed: ${r.stderr}`);
  };
  // Two CAs (the second signs nothing the server uses), then a server key and its signing request.
  for (const ca of ['ca', 'other'])
    run(`req -x509 -newkey rsa:2048 -nodes -keyout ${ca}.key -out ${ca}.pem -days 2 -subj /CN=cg-${ca}-ca`);
  run('req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(
    'x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf',
  );
  return {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    otherCaFile: join(dir, 'other.pem'),
  };
}
