import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config/load-config.js';

/**
 * The web admin's API client is generated from the admin OpenAPI document: web/openapi.json and
 * web/src/api/schema.d.ts must match what the server describes now. Fix a failure with `npm run openapi`.
 */
describe('web admin API client is up to date', () => {
  let doc: string;
  beforeAll(async () => {
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
    const { app } = await createApp(config, { role: 'serve' });
    try {
      const res = await app.getHttpAdapter().getInstance().inject('/admin/api/openapi.json');
      doc = JSON.stringify(JSON.parse(res.body), null, 2) + '\n';
    } finally {
      await app.close();
    }
  });

  it('web/openapi.json is the document the server serves (run `npm run openapi`)', () => {
    expect(JSON.parse(readFileSync('web/openapi.json', 'utf8'))).toEqual(JSON.parse(doc));
  });

  it('web/src/api/schema.d.ts is generated from it (run `npm run openapi`)', () => {
    const bin = 'web/node_modules/.bin/openapi-typescript';
    expect(existsSync(bin)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'cg-openapi-'));
    try {
      writeFileSync(join(dir, 'openapi.json'), doc);
      execFileSync(bin, [join(dir, 'openapi.json'), '-o', join(dir, 'schema.d.ts')], { stdio: 'pipe' });
      expect(readFileSync(join(dir, 'schema.d.ts'), 'utf8')).toBe(
        readFileSync('web/src/api/schema.d.ts', 'utf8'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
