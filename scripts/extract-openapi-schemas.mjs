// Extracts the OpenAPI component schemas the tests validate against (and everything they reference) from
// OpenAI's spec into test/fixtures/openapi/schemas.json, so tests also run where ../shared is absent.
// Usage: node scripts/extract-openapi-schemas.mjs [path/to/openai-openapi.yaml]
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

const src = process.argv[2] ?? '../shared/research/openai-openapi.yaml';
const roots = [
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'ListModelsResponse',
  'Model',
  'ErrorResponse',
];
const spec = parse(readFileSync(src, 'utf8'), { maxAliasCount: -1 });
const all = spec.components.schemas;
const keep = {};
const visit = (name) => {
  if (keep[name] || !all[name]) return;
  keep[name] = all[name];
  JSON.stringify(all[name], (k, v) => {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/'))
      visit(v.split('/').pop());
    return v;
  });
};
roots.forEach(visit);
const commit = (() => {
  try {
    return readFileSync(src.replace(/openai-openapi\.yaml$/, 'openai-openapi.COMMIT'), 'utf8').trim();
  } catch {
    return 'unknown';
  }
})();
writeFileSync(
  'test/fixtures/openapi/schemas.json',
  JSON.stringify({ source: 'openai/openai-openapi openapi.yaml', commit, schemas: keep }, null, 1) + '\n',
);
console.log(`extracted ${Object.keys(keep).length} schemas from ${src}`);
