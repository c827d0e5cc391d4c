type Json = Record<string, any>;
import { startGateway, type TestGateway } from './support/gateway.js';

describe('HTTP edge', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { BODY_LIMIT_BYTES: String(1024 * 1024), LOG_LEVEL: 'debug' } });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('serves /healthz and /readyz', async () => {
    const h = await fetch(`${gw.url}/healthz`);
    expect(h.status).toBe(200);
    const r = await fetch(`${gw.url}/readyz`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Json;
    expect(body.details.postgres.status).toBe('up');
    expect(body.details.redis.status).toBe('up');
  });

  it('answers malformed JSON on /v1 with a 400 envelope', async () => {
    const r = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "gpt-5.5", ',
    });
    expect(r.status).toBe(400);
    const body = (await r.json()) as Json;
    expect(body.error.type).toBe('invalid_request_error');
    expect(typeof body.error.message).toBe('string');
    expect(body.error).toHaveProperty('param');
    expect(body.error).toHaveProperty('code');
  });

  it('answers an oversized body with 413 and the envelope', async () => {
    const r = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', input: 'a'.repeat(2 * 1024 * 1024) }),
    });
    expect(r.status).toBe(413);
    expect(((await r.json()) as Json).error.type).toBe('invalid_request_error');
  });

  it('answers a wrong method on an existing route with 405, the envelope and Allow', async () => {
    const r = await fetch(`${gw.url}/healthz`, { method: 'POST' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toContain('GET');
    const body = (await r.json()) as Json;
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'method_not_allowed',
      param: null,
    });
  });

  it('answers an unknown path with 404 and the envelope', async () => {
    const r = await fetch(`${gw.url}/v1/definitely-not-here`);
    expect(r.status).toBe(404);
    const body = (await r.json()) as Json;
    expect(body.error.message).toContain('/v1/definitely-not-here');
  });

  it('answers with its own x-request-id, whatever the client sent (issue 22)', async () => {
    const a = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(a.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    const b = await fetch(`${gw.url}/healthz`, {
      headers: { 'x-request-id': 'bad id with spaces <script>' },
    });
    expect(b.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('logs one structured line per request with id, method, route, status and latency', async () => {
    await fetch(`${gw.url}/readyz`, { headers: { 'x-request-id': 'log-check-1' } });
    await new Promise((r) => setTimeout(r, 50));
    const line = gw.logs.json().find((l) => l.clientRequestId === 'log-check-1' && l.msg === 'request');
    expect(line).toMatchObject({ method: 'GET', route: '/readyz', status: 200 });
    expect(line!.reqId).toMatch(/^req_[0-9a-f]{32}$/);
    expect(typeof line!.latencyMs).toBe('number');
  });
});
