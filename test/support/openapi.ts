import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

/**
 * Validators for OpenAI's own schemas (openai/openai-openapi). Uses the schemas extracted into
 * test/fixtures/openapi/schemas.json by scripts/extract-openapi-schemas.mjs from ../shared/research/openai-openapi.yaml.
 * The spec is OpenAPI 3.1 but still says `nullable: true`; that is rewritten into JSON Schema first (including
 * adding null to enums, or `finish_reason: null` fails).
 */
function fixNullable(o: any): void {
  if (Array.isArray(o)) return o.forEach(fixNullable);
  if (!o || typeof o !== 'object') return;
  if (o.nullable === true) {
    delete o.nullable;
    if (Array.isArray(o.enum) && !o.enum.includes(null)) o.enum.push(null);
    if (typeof o.type === 'string') o.type = [o.type, 'null'];
    else if (Array.isArray(o.type)) {
      if (!o.type.includes('null')) o.type.push('null');
    } else if (o.$ref || o.oneOf || o.anyOf || o.allOf) {
      const copy = { ...o };
      for (const k of Object.keys(o)) delete o[k];
      o.anyOf = [copy, { type: 'null' }];
    }
  } else if (o.nullable === false) delete o.nullable;
  Object.values(o).forEach(fixNullable);
}

let ajv: Ajv2020 | undefined;

function load(): Ajv2020 {
  if (ajv) return ajv;
  const file = join(process.cwd(), 'test', 'fixtures', 'openapi', 'schemas.json');
  if (!existsSync(file)) throw new Error(`missing ${file}: run node scripts/extract-openapi-schemas.mjs`);
  const { schemas } = JSON.parse(readFileSync(file, 'utf8'));
  fixNullable(schemas);
  const a = new Ajv2020({ strict: false, allErrors: true });
  const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as (a: Ajv2020) => void;
  addFormats(a);
  a.addFormat('unixtime', { type: 'number', validate: (x: number) => Number.isInteger(x) });
  a.addSchema({ $id: 'openai', components: { schemas } });
  ajv = a;
  return a;
}

export function openapiValidator(name: string): ValidateFunction {
  const v = load().getSchema(`openai#/components/schemas/${name}`);
  if (!v) throw new Error(`no schema ${name}`);
  return v as ValidateFunction;
}

/** Throws with ajv's errors when `value` does not validate against the named OpenAI schema. */
export function assertOpenApi(name: string, value: unknown): void {
  const v = openapiValidator(name);
  if (!v(value))
    throw new Error(`${name} invalid: ${JSON.stringify(v.errors, null, 1)}\nvalue: ${JSON.stringify(value)}`);
}
