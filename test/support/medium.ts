import type { Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { closeGracefully, createApp } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { AppConfig } from '../../src/config/config.schema.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { LogCapture } from './gateway.js';
import { flushPrefix, testPrefix, TEST_REDIS_URL } from './redis.js';

/**
 * "Medium" tests: the real services wired by Nest on a fresh Postgres database and a private Redis prefix, called
 * directly — no HTTP in between. Faster and more precise than e2e for the rules inside the pipeline (pool order,
 * cooldowns, refresh single-flight, limit reservations), and still nothing of our stack is mocked.
 */
export interface Services {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  logs: LogCapture;
  get<T>(cls: Type<T>): T;
  close(): Promise<void>;
}

export async function startServices(env: Record<string, string | undefined> = {}): Promise<Services> {
  const db = await createTestDatabase();
  const prefix = testPrefix();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    CODEX_BASE_URL: 'http://127.0.0.1:9/backend-api/codex',
    OPENAI_AUTH_ISSUER: 'http://127.0.0.1:9',
    ...env,
  });
  const logs = new LogCapture();
  const { app } = await createApp(config, { role: 'all', logDestination: logs.stream });
  await app.init();
  return {
    app,
    config,
    db,
    logs,
    get: <T>(cls: Type<T>) => app.get(cls, { strict: false }),
    close: async () => {
      await closeGracefully(app);
      await flushPrefix(prefix);
      await db.drop();
    },
  };
}
