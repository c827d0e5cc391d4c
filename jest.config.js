// Jest in ESM mode (NestJS 12 is ESM-only): see docs/adr/0001-runtime-and-toolchain.md.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2023',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          keepClassNames: true,
          // JSON modules need their `with { type: 'json' }` at run time (src/pricing/catalog.ts).
          experimental: { keepImportAttributes: true },
        },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  // Unexpected console.error/console.warn output fails the test that caused it.
  setupFilesAfterEnv: ['<rootDir>/test/support/console-guard.ts'],
  // The fault suite (test/faults: built gateway processes, own Redis/Postgres stopped and started) is part of the
  // default run; alone: `npm run test:faults` (~1.5–2 min, docs/reliability.md).
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 30000,
  maxWorkers: 2,
};
