import { createHash } from 'node:crypto';
import { AppConfig, ConfigError, configSchema } from './config.schema.js';
import { RedisSettingError, validateRedisSettings } from './redis-connection.js';

/** A fixed key for development and tests only; never accepted in production. */
const DEV_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function parseKey(name: string, value: string): Buffer {
  const key = Buffer.from(value.trim(), 'base64');
  if (key.length !== 32) {
    throw new ConfigError(
      `${name} must be 32 bytes encoded in base64 (got ${key.length} bytes). ` +
        `Make one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`,
    );
  }
  return key;
}

/**
 * Reads and validates the configuration. Throws a ConfigError naming every bad variable.
 * Empty strings count as unset, so `FOO=` in a compose file falls back to the default.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (!c.ENCRYPTION_KEY && c.NODE_ENV === 'production') {
    throw new ConfigError(
      'ENCRYPTION_KEY is required when NODE_ENV=production (32 random bytes, base64). ' +
        `Make one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`,
    );
  }
  checkOidc(c);
  const primary = parseKey('ENCRYPTION_KEY', c.ENCRYPTION_KEY ?? DEV_ENCRYPTION_KEY);
  const old = c.ENCRYPTION_KEYS_OLD.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s, i) => parseKey(`ENCRYPTION_KEYS_OLD[${i}]`, s));
  try {
    validateRedisSettings(c);
  } catch (err) {
    if (err instanceof RedisSettingError) throw new ConfigError(err.message);
    throw err;
  }
  const encryptionKeys = [primary, ...old].map((key) => ({ id: keyIdOf(key), key }));
  return {
    ...c,
    PUBLIC_URL: (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, ''),
    encryptionKeys,
  };
}

/** OIDC settings that only make sense together; LOCAL_SIGNIN=off without SSO would lock everyone out. */
function checkOidc(c: {
  OIDC_ISSUER?: string;
  OIDC_CLIENT_ID?: string;
  OIDC_SCOPES: string;
  LOCAL_SIGNIN: string;
}) {
  if (!!c.OIDC_ISSUER !== !!c.OIDC_CLIENT_ID)
    throw new ConfigError('OIDC_ISSUER and OIDC_CLIENT_ID must be set together (or neither).');
  if (c.OIDC_ISSUER && !c.OIDC_SCOPES.split(/\s+/).includes('openid'))
    throw new ConfigError('OIDC_SCOPES must include `openid`.');
  if (!c.OIDC_ISSUER && c.LOCAL_SIGNIN === 'off')
    throw new ConfigError('LOCAL_SIGNIN=off needs OIDC_ISSUER (nobody could sign in).');
}
