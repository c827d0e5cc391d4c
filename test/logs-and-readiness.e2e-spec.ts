import { jest } from '@jest/globals';
import { startGateway, type TestGateway } from './support/gateway.js';

type Json = Record<string, any>;

describe('logs: secrets never reach them', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { LOG_LEVEL: 'trace' } });
  });
  afterAll(async () => {
    await gw.close();
  });

  const jwt =
    'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLXNlY3JldC1zdWJqZWN0IiwiZXhwIjo5OTk5OTk5OTk5fQ.c2lnbmF0dXJlLXNlY3JldC1ieXRlcw';
  const refresh = 'rt_SECRETrefreshTOKEN_0123456789abcdef';
  const access = 'at-plain-SECRET-access-value-42';
  const cookie = 'cg_session=SESSIONcookieSECRET987';
  const virtualKey = 'sk-cg-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ABCDEFG';

  it('requests with a bearer token, a cookie and a token body, and objects logged with tokens, leave no secret', async () => {
    await fetch(`${gw.url}/v1/models`, {
      headers: { authorization: `Bearer ${jwt}`, 'x-request-id': 'sec-1' },
    });
    await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${virtualKey}`,
        cookie,
        'content-type': 'application/json',
        'x-request-id': 'sec-2',
      },
      body: JSON.stringify({ refresh_token: refresh, access_token: access }),
    });
    await fetch(`${gw.url}/healthz?token=${encodeURIComponent(refresh)}`, {
      headers: { 'x-request-id': 'sec-3' },
    });
    const logger = (gw.app.getHttpAdapter().getInstance() as any).log;
    logger.info(
      { refresh_token: refresh, access_token: access, tokens: { refresh_token: refresh, id_token: jwt } },
      'tokens',
    );
    logger.info({ account: { credentials: { accessToken: access, refreshToken: refresh } } }, 'nested');
    logger.info({ headers: { authorization: `Bearer ${access}`, cookie } }, 'headers');
    logger.warn(`upstream said: invalid refresh token ${jwt}`);
    logger.error({ err: new Error(`refresh failed for Bearer ${access}`) }, 'err');
    await new Promise((r) => setTimeout(r, 100));

    const text = gw.logs.text;
    const ids = gw.logs
      .json()
      .filter((l: Json) => l.msg === 'request')
      .map((l: Json) => l.clientRequestId);
    expect(ids).toEqual(expect.arrayContaining(['sec-1', 'sec-2', 'sec-3']));
    expect(text).toContain('"msg":"tokens"');
    expect(text).toContain('"msg":"nested"');
    for (const secret of [
      jwt,
      refresh,
      access,
      'SESSIONcookieSECRET987',
      virtualKey,
      'c2lnbmF0dXJlLXNlY3JldC1ieXRlcw',
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('readiness names what is down', () => {
  it('503 naming redis when Redis is unreachable (and the app still starts and stops)', async () => {
    const gw = await startGateway({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
      const r = await fetch(`${gw.url}/readyz`);
      expect(r.status).toBe(503);
      const body = (await r.json()) as Json;
      expect(body.message).toContain('redis');
      expect(body.message).not.toContain('postgres');
      expect(body.details.redis.status).toBe('down');
      expect(body.details.postgres.status).toBe('up');
    } finally {
      // Closes promptly although Redis never answered (BullMQ workers are force-closed during an outage), so no
      // reconnect loop outlives the test.
      await gw.close();
    }
  });

  it('503 naming postgres when the database is unreachable', async () => {
    const gw = await startGateway({ env: { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nothing' } });
    try {
      const r = await fetch(`${gw.url}/readyz`);
      expect(r.status).toBe(503);
      const body = (await r.json()) as Json;
      expect(body.message).toContain('postgres');
      expect(body.details.postgres.status).toBe('down');
      expect(body.details.redis.status).toBe('up');
    } finally {
      await gw.close();
    }
  });
});

describe('start-up is quiet', () => {
  it('emits no Fastify warning (FSTWRN004: an error handler overridden in the same scope)', async () => {
    // Jest's `process` is its own object: a 'warning' listener on it never hears the real process, so spy on the
    // call Fastify makes (process-warning → process.emitWarning) instead.
    const emit = jest.spyOn(process, 'emitWarning');
    try {
      const gw = await startGateway();
      try {
        expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
      } finally {
        await gw.close();
      }
      // emitWarning(message, type, code) as process-warning calls it, or emitWarning(error).
      const codes = emit.mock.calls.map((args) =>
        args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '),
      );
      expect(codes.filter((c) => c.includes('FST'))).toEqual([]);
    } finally {
      emit.mockRestore();
    }
  });
});
