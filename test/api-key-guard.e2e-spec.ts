import OpenAI from 'openai';
import { createAdminKey, createKey } from './support/auth.js';
import { startGateway, type TestGateway } from './support/gateway.js';

/** The API-key guard on /v1 (GET /v1/models) with the official SDK, across two replicas. */

function client(gw: TestGateway, apiKey: string): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
}

async function expect401(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
}

describe('keys on /v1 (openai SDK)', () => {
  let gw1: TestGateway;
  let gw2: TestGateway;
  beforeAll(async () => {
    gw1 = await startGateway();
    gw2 = await startGateway({ shareWith: gw1 });
  });
  afterAll(async () => {
    await gw2?.close();
    await gw1?.close();
  });

  it('a key created through the admin API works at once; revoked, it fails on the other replica within 1 s', async () => {
    const admin = await createAdminKey(gw1);
    const r = await fetch(`${gw1.url}/admin/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sdk' }),
    });
    const created = (await r.json()) as any;
    await client(gw1, created.key).models.list();
    await client(gw2, created.key).models.list();
    await fetch(`${gw1.url}/admin/api/keys/${created.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin.key}` },
    });
    const start = Date.now();
    let refused = false;
    while (Date.now() - start < 1000 && !refused) {
      refused = await client(gw2, created.key)
        .models.list()
        .then(
          () => false,
          (e) => e instanceof OpenAI.AuthenticationError,
        );
      if (!refused) await new Promise((res) => setTimeout(res, 25));
    }
    expect(refused).toBe(true);
    await expect401(client(gw2, created.key).models.list());
  });

  it('accepts an admin key and the Azure-style api-key header', async () => {
    const admin = await createAdminKey(gw1);
    await client(gw1, admin.key).models.list();
    const k = await createKey(gw1);
    const r = await fetch(`${gw1.url}/v1/models`, { headers: { 'api-key': k.key } });
    expect(r.status).toBe(200);
  });

  it('refuses unknown, expired keys and keys of disabled users', async () => {
    await expect401(client(gw1, 'sk-cg-' + 'a'.repeat(43)).models.list());
    await expect401(client(gw1, 'not-a-key').models.list());
    const expired = await createKey(gw1, { expiresAt: new Date(Date.now() - 1) });
    await expect401(client(gw1, expired.key).models.list());
    const r = await fetch(`${gw1.url}/v1/models`);
    expect(r.status).toBe(401);
  });
});
