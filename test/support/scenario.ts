import OpenAI from 'openai';
import {
  FakeUpstream as FakeUpstreamClass,
  type FakeAccount,
  type FakeUpstream,
} from '../fake-upstream/index.ts';
import { seedAccount } from './accounts.js';
import { createKey } from './auth.js';
import { startGateway, type TestGateway } from './gateway.js';

export interface GatewayWithAccounts {
  gw: TestGateway;
  accts: { fake: FakeAccount; id: string }[];
  /** The official SDK with a fresh member key, no retries. */
  client: OpenAI;
  key: string;
}

/** A gateway pointed at the fake upstream with `accounts` logged-in accounts (labels acct0…) and one key. */
export async function gatewayWithAccounts(
  fake: FakeUpstream,
  accounts: number,
  env: Record<string, string> = {},
): Promise<GatewayWithAccounts> {
  const gw = await startGateway({
    env: { ...fakeEnv(fake), ...env },
  });
  const accts: { fake: FakeAccount; id: string }[] = [];
  for (let i = 0; i < accounts; i++) {
    const a = fake.addAccount();
    accts.push({
      fake: a,
      id: await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt, label: `acct${i}` }),
    });
  }
  const { key } = await createKey(gw);
  const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  return { gw, accts, client, key };
}

/**
 * The usual file set-up in one call: a fake upstream and a gateway with `accounts` accounts started before the
 * file's tests (the fake's scripted answers reset before each test), both closed after them. Read the fields
 * inside tests: they are set once `beforeAll` has run.
 */
export function useFakeGateway(
  accounts = 1,
  env: Record<string, string> = {},
): GatewayWithAccounts & { fake: FakeUpstream } {
  const s = {} as GatewayWithAccounts & { fake: FakeUpstream };
  beforeAll(async () => {
    s.fake = await FakeUpstreamClass.start();
    Object.assign(s, await gatewayWithAccounts(s.fake, accounts, env));
  });
  afterAll(async () => {
    await s.gw?.close();
    await s.fake?.close();
  });
  beforeEach(() => s.fake.reset());
  return s;
}

/**
 * A fake upstream for the whole file: started before the file's tests, closed after them, its scripted answers
 * reset before each test (`reset: false` keeps them across tests). Returns a stand-in that forwards to the
 * started fake, so tests use `fake.x` as if it were the instance (reading it before `beforeAll` throws).
 */
export function useFakeUpstream(opts: { reset?: boolean } = {}): FakeUpstream {
  let started: FakeUpstream | undefined;
  beforeAll(async () => {
    started = await FakeUpstreamClass.start();
  });
  afterAll(async () => {
    await started?.close();
  });
  if (opts.reset !== false) beforeEach(() => started!.reset());
  return new Proxy({} as FakeUpstream, {
    get(_, prop) {
      if (!started) throw new Error(`fake upstream read (.${String(prop)}) before beforeAll started it`);
      const v = Reflect.get(started, prop, started) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(started) : v;
    },
  });
}

/** The gateway settings that point it at a fake upstream. */
export function fakeEnv(fake: FakeUpstream): Record<string, string> {
  return { OPENAI_AUTH_ISSUER: fake.url, CODEX_BASE_URL: fake.codexBaseUrl };
}
