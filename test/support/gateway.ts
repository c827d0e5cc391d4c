import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { closeGracefully, createApp } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { AppConfig } from '../../src/config/config.schema.js';
import type { Role } from '../../src/app.module.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { flushPrefix, testPrefix, TEST_REDIS_URL } from './redis.js';

/** Captures the JSON log lines an app writes, for assertions (e.g. that no secret is ever logged). */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream: DestinationStream;
  constructor() {
    const lines = this.lines;
    this.stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    }) as unknown as DestinationStream;
  }
  get text(): string {
    return this.lines.join('\n');
  }
  json(): Record<string, any>[] {
    return this.lines.map((l) => JSON.parse(l));
  }
}

export interface TestGateway {
  url: string;
  app: NestFastifyApplication;
  config: AppConfig;
  logs: LogCapture;
  db: TestDatabase;
  /** Closes the app; drops the database and the Redis keys unless they are shared with another instance. */
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  role?: Role;
  /** Share a database and Redis prefix with another instance (two replicas of one deployment). */
  shareWith?: TestGateway;
  /** The gateway's DATABASE_URL from the test database's (e.g. through a PgBouncer the test runs). */
  databaseUrl?: (url: string) => string;
}

/**
 * Starts the real gateway (Nest + Fastify on an ephemeral loopback port) on a fresh database and its own Redis
 * key prefix. Upstream URLs come from `env` (point them at the fake upstream).
 */
export async function startGateway(opts: StartOptions = {}): Promise<TestGateway> {
  const db = opts.shareWith?.db ?? (await createTestDatabase());
  const prefix = opts.shareWith?.config.REDIS_KEY_PREFIX ?? testPrefix();
  // PUBLIC_URL is the only allowed Origin for cookie calls (CSRF): by default it is this instance's own address,
  // so tests that send `origin: gw.url` behave like a browser on the gateway's page.
  const port = opts.env && 'PUBLIC_URL' in opts.env ? 0 : await freePort();
  const config = loadConfig({
    ...(port ? { PUBLIC_URL: `http://127.0.0.1:${port}` } : {}),
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: opts.databaseUrl ? opts.databaseUrl(db.url) : db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    CODEX_BASE_URL: 'http://127.0.0.1:9/backend-api/codex',
    OPENAI_AUTH_ISSUER: 'http://127.0.0.1:9',
    ...opts.env,
  });
  const logs = new LogCapture();
  const { app } = await createApp(config, { role: opts.role ?? 'all', logDestination: logs.stream });
  await app.listen(port, '127.0.0.1');
  const address = app.getHttpServer().address();
  const bound = typeof address === 'object' && address ? address.port : 0;
  const shared = !!opts.shareWith;
  return {
    url: `http://127.0.0.1:${bound}`,
    app,
    config,
    logs,
    db,
    close: async () => {
      await closeGracefully(app);
      if (!shared) {
        await flushPrefix(prefix);
        await db.drop();
      }
    },
  };
}

/** A port free right now on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
