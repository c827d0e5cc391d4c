// Prisma CLI configuration. Only `prisma generate` is used here (see DESIGN.md §4 and
// docs/adr/0002-migrations-without-schema-engine.md): migrations are applied by `node dist/main.js migrate`.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/codex_gateway',
  },
});
