import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './load-config.js';
import { ConfigError } from './config.schema.js';
import { parseSentinels, redisConnectionOptions, RedisSettingError } from './redis-connection.js';

describe('Redis connection settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cg-redis-conn-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses sentinels (default port 26379, IPv6 in brackets) and refuses a bad entry naming the setting', () => {
    expect(parseSentinels('a:1, b ,[::1]:26380')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 26379 },
      { host: '::1', port: 26380 },
    ]);
    expect(() => parseSentinels('a:99999')).toThrow(/REDIS_SENTINELS: "a:99999" is not host:port/);
  });

  it('plain URL: host, port, ACL user and password, database; TLS only with rediss://', () => {
    expect(redisConnectionOptions({ REDIS_URL: 'redis://gw:p%40ss@h:7000/2' })).toEqual({
      host: 'h',
      port: 7000,
      username: 'gw',
      password: 'p@ss',
      db: 2,
    });
    const tls = redisConnectionOptions({ REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: ca });
    expect(Buffer.isBuffer((tls.tls as { ca: Buffer }).ca)).toBe(true);
    expect(() => redisConnectionOptions({ REDIS_URL: 'redis://h', REDIS_TLS_CA_FILE: ca })).toThrow(
      /REDIS_TLS_CA_FILE is set but REDIS_URL is not rediss:\/\//,
    );
  });

  it('sentinel mode: the sentinels and name, credentials from REDIS_URL, TLS to the sentinels too', () => {
    const o = redisConnectionOptions({
      REDIS_URL: 'rediss://gw:pw@ignored:1/0',
      REDIS_SENTINELS: 's1:26379,s2:26379',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_SENTINEL_PASSWORD: 'spw',
      REDIS_TLS_CA_FILE: ca,
    });
    expect(o).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      username: 'gw',
      password: 'pw',
      sentinelPassword: 'spw',
      enableTLSForSentinelMode: true,
    });
    expect(o.host).toBeUndefined();
    expect(o.sentinelTLS).toBe(o.tls);
  });

  it('loadConfig turns a bad setting into one ConfigError line naming it', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ REDIS_SENTINELS: 's1:26379' }, /REDIS_SENTINEL_NAME is required with REDIS_SENTINELS/],
      [{ REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is empty/],
      [
        { REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: join(dir, 'missing.pem') },
        /^REDIS_TLS_CA_FILE: cannot read .*missing\.pem \(no such file\)$/,
      ],
      [
        { REDIS_URL: 'rediss://h', REDIS_TLS_CERT_FILE: ca },
        /REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together/,
      ],
      [{ REDIS_URL: 'http://h' }, /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
    ];
    for (const [env, message] of bad) {
      let thrown: unknown;
      try {
        loadConfig(env);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('\n');
    }
    expect(() => redisConnectionOptions({ REDIS_URL: 'redis://h/x' })).toThrow(RedisSettingError);
  });
});
