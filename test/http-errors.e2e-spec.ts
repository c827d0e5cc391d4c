import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config/load-config.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { LogCapture } from './support/gateway.js';
import { TEST_REDIS_URL, testPrefix } from './support/redis.js';

type Json = Record<string, any>;

/** True once some controller declares POST /v1/responses (the gateway-core route). */
function hasResponsesRoute(dir = join(process.cwd(), 'src')): boolean {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (hasResponsesRoute(p)) return true;
    } else if (p.endsWith('.ts') && readFileSync(p, 'utf8').includes("Post('responses')")) return true;
  }
  return false;
}

/**
 * Body errors on a POST route: the real app (same createApp as production) with one plain Fastify POST route
 * added before listen, so the parser errors are exercised whatever feature routes exist.
 */
describe('HTTP edge: body errors answer the OpenAI envelope with a meaningful code', () => {
  let app: NestFastifyApplication;
  let db: TestDatabase;
  let url: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: testPrefix(),
      BODY_LIMIT_BYTES: String(1024 * 1024),
    });
    ({ app } = await createApp(config, { logDestination: new LogCapture().stream }));
    app
      .getHttpAdapter()
      .getInstance()
      .post('/v1/probe', async (req) => ({ echoed: req.body }));
    await app.listen(0, '127.0.0.1');
    const a = app.getHttpServer().address();
    url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/v1/probe`;
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  const post = (contentType: string, body: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('an empty body with content-type application/json is no body (fetch wrappers send the header on DELETE/GET)', async () => {
    const r = await post('application/json', '');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({});
  });

  it('accepts valid JSON (control)', async () => {
    const r = await post('application/json', '{"a":1}');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ echoed: { a: 1 } });
  });

  it.each([
    ['malformed JSON', 'application/json', '{"model": "gpt-5.5", ', 400, 'invalid_json'],
    ['text/plain', 'text/plain', 'hello', 415, 'unsupported_media_type'],
    [
      'a body over the limit',
      'application/json',
      JSON.stringify({ input: 'a'.repeat(2 * 1024 * 1024) }),
      413,
      'request_too_large',
    ],
  ])('%s', async (_name, contentType, body, status, code) => {
    const r = await post(contentType, body);
    expect(r.status).toBe(status);
    const json = (await r.json()) as Json;
    expect(json.error).toMatchObject({ type: 'invalid_request_error', param: null, code });
    expect(typeof json.error.message).toBe('string');
  });

  it('GET on the POST route answers 405 with Allow: POST', async () => {
    const r = await fetch(url);
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('POST');
    expect(((await r.json()) as Json).error.code).toBe('method_not_allowed');
  });
});

// The real /v1/responses route (gateway-core). Runs once `@Post('responses')` exists in src.
(hasResponsesRoute() ? describe : describe.skip)('HTTP edge on POST /v1/responses', () => {
  let gw: import('./support/gateway.js').TestGateway;
  beforeAll(async () => {
    const { startGateway } = await import('./support/gateway.js');
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });
  const send = (init: RequestInit) => fetch(`${gw.url}/v1/responses`, init);

  it('malformed JSON → 400 invalid_json', async () => {
    const r = await send({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": ',
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as Json).error.code).toBe('invalid_json');
  });
  it('a 30 MiB body → 413 request_too_large', async () => {
    const r = await send({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', input: 'a'.repeat(30 * 1024 * 1024) }),
    });
    expect(r.status).toBe(413);
    expect(((await r.json()) as Json).error.code).toBe('request_too_large');
  });
  it('GET → 405 with Allow', async () => {
    const r = await send({ method: 'GET' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toContain('POST');
  });
  it('text/plain → 415', async () => {
    const r = await send({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(r.status).toBe(415);
    expect(((await r.json()) as Json).error.code).toBe('unsupported_media_type');
  });
});
