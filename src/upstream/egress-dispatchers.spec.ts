import { EgressDispatchers } from './egress-dispatchers.js';
import type { AppConfig } from '../config/config.schema.js';

const config = {
  UPSTREAM_CONNECT_TIMEOUT_MS: 1000,
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: 1000,
  UPSTREAM_IDLE_TIMEOUT_MS: 1000,
} as AppConfig;

describe('EgressDispatchers', () => {
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = { HTTP_PROXY: process.env.HTTP_PROXY, HTTPS_PROXY: process.env.HTTPS_PROXY };
    delete process.env.HTTP_PROXY;
    delete process.env.HTTPS_PROXY;
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  it('one dispatcher per proxy URL, shared by its accounts, closed when the last account moves away', async () => {
    const e = new EgressDispatchers(config);
    const a = 'http://u:p@127.0.0.1:3128';
    const b = 'socks5://127.0.0.1:1080';
    const d1 = e.forAccount('acct-1', a);
    expect(e.forAccount('acct-2', a)).toBe(d1);
    expect(e.forAccount('acct-1', a)).toBe(d1);
    const closed = () => (d1 as unknown as { closed: boolean }).closed;
    expect(e.forAccount('acct-1', b)).not.toBe(d1);
    expect(closed()).toBe(false); // acct-2 still uses it
    expect(e.cachedCount).toBe(2);
    e.forAccount('acct-2', null);
    expect(closed()).toBe(true);
    expect(e.cachedCount).toBe(1);
    e.forget('acct-1');
    expect(e.cachedCount).toBe(0);
    await e.onModuleDestroy();
  });

  it('no own proxy: null (the caller goes direct), or the environment proxy when HTTP(S)_PROXY is set', async () => {
    const direct = new EgressDispatchers(config);
    expect(direct.forAccount('x', null)).toBeNull();
    expect(direct.usesEnvDefault).toBe(false);
    process.env.HTTPS_PROXY = 'http://127.0.0.1:3128';
    const env = new EgressDispatchers(config);
    expect(env.usesEnvDefault).toBe(true);
    expect(env.forAccount('x', null)).not.toBeNull();
    await direct.onModuleDestroy();
    await env.onModuleDestroy();
  });

  it('a stored URL that does not parse is refused, never sent direct', () => {
    expect(() => new EgressDispatchers(config).forAccount('x', 'ftp://h:1')).toThrow();
  });
});
