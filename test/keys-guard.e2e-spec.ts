import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import OpenAI from 'openai';
import { ErrorEnvelopeFilter } from '../src/common/error.filter.js';
import { ConfigModule } from '../src/config/config.module.js';
import { PrismaModule } from '../src/prisma/prisma.module.js';
import { RedisModule } from '../src/redis/redis.module.js';
import { CurrentAuth, type RequestAuth } from '../src/auth/auth-context.js';
import { ApiKeyGuard } from '../src/keys/api-key.guard.js';
import { AuthModule } from '../src/auth/auth.module.js';
import { KeysModule } from '../src/keys/keys.module.js';
import { LimitsModule } from '../src/limits/limits.module.js';
import { createAdminKey, createKey } from './support/auth.js';
import { startGateway, type TestGateway } from './support/gateway.js';

/**
 * ApiKeyGuard exactly as another module uses it (`@UseGuards(ApiKeyGuard)` in a module that does not import
 * KeysModule, which is global), driven by the openai SDK. The probe app is a second replica of `gw` (same
 * database and Redis prefix) serving a stand-in GET /v1/models, until the models module provides the real one
 * (then keys-v1.e2e-spec.ts runs the same checks against the real app).
 */
@Controller('v1')
class ProbeController {
  @Get('models')
  @UseGuards(ApiKeyGuard)
  list(@CurrentAuth() auth: RequestAuth) {
    return {
      object: 'list',
      data: [{ id: `probe-${auth.scope}-${auth.keyId}`, object: 'model', created: 0, owned_by: auth.email }],
    };
  }
}
@Module({ controllers: [ProbeController] })
class ProbeModule {}

async function probeApp(gw: TestGateway): Promise<{ app: NestFastifyApplication; url: string }> {
  @Module({
    imports: [
      ConfigModule.forRoot(gw.config),
      PrismaModule,
      RedisModule,
      AuthModule,
      KeysModule,
      LimitsModule,
      ProbeModule,
    ],
    providers: [{ provide: APP_FILTER, useClass: ErrorEnvelopeFilter }],
  })
  class Root {}
  const app = await NestFactory.create<NestFastifyApplication>(Root, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const addr = app.getHttpServer().address();
  return { app, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` };
}

describe('ApiKeyGuard (openai SDK, stand-in /v1/models)', () => {
  let gw: TestGateway;
  let probe: { app: NestFastifyApplication; url: string };
  const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${probe.url}/v1`, maxRetries: 0 });
  const refused = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e,
    );

  beforeAll(async () => {
    gw = await startGateway();
    probe = await probeApp(gw);
  });
  afterAll(async () => {
    await probe?.app.close();
    await gw?.close();
  });

  it('lets api and admin keys in and sets request.auth', async () => {
    const k = await createKey(gw, { scope: 'api', allowedModels: ['gpt-5*'] });
    const page = await sdk(k.key).models.list();
    expect(page.data[0].id).toBe(`probe-api-${k.keyId}`);
    const admin = await createAdminKey(gw);
    expect((await sdk(admin.key).models.list()).data[0].id).toBe(`probe-admin-${admin.keyId}`);
    const azure = await fetch(`${probe.url}/v1/models`, { headers: { 'api-key': k.key } });
    expect(azure.status).toBe(200);
  });

  it('refuses missing, malformed, unknown and expired keys with 401 invalid_api_key', async () => {
    for (const key of ['sk-cg-' + 'Z'.repeat(43), 'not-a-key']) {
      const err = await refused(sdk(key).models.list());
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    }
    const expired = await createKey(gw, { expiresAt: new Date(Date.now() - 1000) });
    expect(await refused(sdk(expired.key).models.list())).toBeInstanceOf(OpenAI.AuthenticationError);
    const none = await fetch(`${probe.url}/v1/models`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe('invalid_api_key');
  });

  it('a revoke through the gateway reaches this replica within 1 s; a disabled user is refused', async () => {
    const admin = await createAdminKey(gw);
    const created = (await (
      await fetch(`${gw.url}/admin/api/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'sdk' }),
      })
    ).json()) as any;
    await sdk(created.key).models.list();
    await fetch(`${gw.url}/admin/api/keys/${created.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin.key}` },
    });
    const start = Date.now();
    let err: unknown = null;
    while (!err && Date.now() - start < 1000) {
      err = await refused(sdk(created.key).models.list());
      if (!err) await new Promise((r) => setTimeout(r, 25));
    }
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);

    const member = await createKey(gw);
    await sdk(member.key).models.list();
    await fetch(`${gw.url}/admin/api/users/${member.userId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ disabled: true }),
    });
    const t0 = Date.now();
    let err2: unknown = null;
    while (!err2 && Date.now() - t0 < 1000) {
      err2 = await refused(sdk(member.key).models.list());
      if (!err2) await new Promise((r) => setTimeout(r, 25));
    }
    expect(err2).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
