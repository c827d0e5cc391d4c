import { ConfigError } from './config.schema.js';
import { keyIdOf, loadConfig } from './load-config.js';

const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');
const fails = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted a bad configuration');
};

describe('loadConfig', () => {
  it('works with an empty environment (local defaults)', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(8080);
    expect(c.NODE_ENV).toBe('development');
    expect(c.DATABASE_URL).toMatch(/^postgresql:\/\/.*127\.0\.0\.1:5432/);
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.BODY_LIMIT_BYTES).toBe(20 * 1024 * 1024);
    expect(c.PUBLIC_URL).toBe('http://localhost:8080');
    expect(c.encryptionKeys).toHaveLength(1);
    expect(c.encryptionKeys[0].key).toHaveLength(32);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', LOG_LEVEL: '' }).PORT).toBe(8080);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'localhost'],
    ['LOG_LEVEL', 'loud'],
    ['BODY_LIMIT_BYTES', '10'],
  ])('names the bad variable %s=%s', (name, value) => {
    expect(fails({ [name]: value })).toContain(`${name}:`);
  });

  it('names every bad variable at once', () => {
    const msg = fails({ PORT: 'x', DATABASE_URL: 'y' });
    expect(msg).toContain('PORT');
    expect(msg).toContain('DATABASE_URL');
  });

  it('requires ENCRYPTION_KEY in production and says how to make one', () => {
    const msg = fails({ NODE_ENV: 'production' });
    expect(msg).toContain('ENCRYPTION_KEY is required');
    expect(msg).toContain("randomBytes(32).toString('base64')");
    expect(loadConfig({ NODE_ENV: 'production', ENCRYPTION_KEY: key(1) }).encryptionKeys[0].key).toEqual(
      Buffer.alloc(32, 1),
    );
  });

  it('refuses a key of the wrong length without echoing it', () => {
    const short = Buffer.alloc(16, 9).toString('base64');
    const msg = fails({ ENCRYPTION_KEY: short });
    expect(msg).toContain('ENCRYPTION_KEY must be 32 bytes');
    expect(msg).toContain('got 16 bytes');
    expect(msg).not.toContain(short);
  });

  it('parses old keys with their ids, primary first', () => {
    const c = loadConfig({ ENCRYPTION_KEY: key(1), ENCRYPTION_KEYS_OLD: ` ${key(2)} ,${key(3)}` });
    expect(c.encryptionKeys.map((k) => k.id)).toEqual([
      keyIdOf(Buffer.alloc(32, 1)),
      keyIdOf(Buffer.alloc(32, 2)),
      keyIdOf(Buffer.alloc(32, 3)),
    ]);
    expect(new Set(c.encryptionKeys.map((k) => k.id)).size).toBe(3);
    expect(fails({ ENCRYPTION_KEY: key(1), ENCRYPTION_KEYS_OLD: `${key(2)},AAAA` })).toContain(
      'ENCRYPTION_KEYS_OLD[1]',
    );
  });

  it('OIDC: defaults, comma lists, and settings that only work together', () => {
    const c = loadConfig({
      OIDC_ISSUER: 'https://idp.example.test',
      OIDC_CLIENT_ID: 'gw',
      OIDC_ADMIN_GROUPS: ' gw-admins , ops ',
      OIDC_ALLOWED_DOMAINS: 'example.test',
    });
    expect(c.OIDC_SCOPES).toBe('openid email profile');
    expect(c.OIDC_GROUPS_CLAIM).toBe('groups');
    expect(c.OIDC_ADMIN_GROUPS).toEqual(['gw-admins', 'ops']);
    expect(c.OIDC_ALLOWED_DOMAINS).toEqual(['example.test']);
    expect(c.LOCAL_SIGNIN).toBe('all');
    expect(loadConfig({}).OIDC_ADMIN_GROUPS).toEqual([]);
    expect(fails({ OIDC_ISSUER: 'https://idp.example.test' })).toContain(
      'OIDC_CLIENT_ID must be set together',
    );
    expect(fails({ OIDC_ISSUER: 'not a url', OIDC_CLIENT_ID: 'gw' })).toContain('OIDC_ISSUER:');
    expect(
      fails({ OIDC_ISSUER: 'https://idp.example.test', OIDC_CLIENT_ID: 'gw', OIDC_SCOPES: 'email' }),
    ).toContain('must include `openid`');
    expect(fails({ LOCAL_SIGNIN: 'off' })).toContain('LOCAL_SIGNIN=off needs OIDC_ISSUER');
    expect(fails({ LOCAL_SIGNIN: 'nobody' })).toContain('LOCAL_SIGNIN:');
  });

  it('strips a trailing slash of URLs', () => {
    const c = loadConfig({ CODEX_BASE_URL: 'http://x.test/api/', PUBLIC_URL: 'https://gw.test/' });
    expect(c.CODEX_BASE_URL).toBe('http://x.test/api');
    expect(c.PUBLIC_URL).toBe('https://gw.test');
  });
});
