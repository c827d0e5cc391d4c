// Writes the admin API's OpenAPI document (the one served at /admin/api/openapi.json) to a file or stdout,
// from the built server (dist/), without listening or touching the database:
//   node scripts/export-openapi.mjs [out.json]
// The web admin's typed client (web/src/api/schema.d.ts) is generated from it: `npm run openapi`.
import { writeFileSync } from 'node:fs';
import { createApp } from '../dist/bootstrap.js';
import { loadConfig } from '../dist/config/load-config.js';

export async function exportOpenApi() {
  const config = loadConfig({ ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'silent' });
  const { app } = await createApp(config, { role: 'serve' });
  try {
    // Swagger's routes are registered on Fastify directly, so inject works without initialising the modules.
    const res = await app.getHttpAdapter().getInstance().inject('/admin/api/openapi.json');
    if (res.statusCode !== 200) throw new Error(`openapi.json answered ${res.statusCode}`);
    return JSON.stringify(JSON.parse(res.body), null, 2) + '\n';
  } finally {
    await app.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const doc = await exportOpenApi();
  if (process.argv[2]) writeFileSync(process.argv[2], doc);
  else process.stdout.write(doc);
  process.exit(0);
}
