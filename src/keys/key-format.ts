import { createHash, randomBytes } from 'node:crypto';

/** Virtual key format: `sk-cg-` + 43 base62 characters (43 * log2(62) ≈ 256 bits), uniform by rejection sampling. */
export const KEY_PREFIX = 'sk-cg-';
export const KEY_BODY_LENGTH = 43;
export const DISPLAY_PREFIX_LENGTH = 10;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_RE = /^sk-cg-[0-9A-Za-z]{43}$/;

export function generateKey(random: (n: number) => Buffer = randomBytes): string {
  let body = '';
  while (body.length < KEY_BODY_LENGTH) {
    for (const b of random(64)) {
      // 248 = 4 * 62: bytes >= 248 would bias the first characters, so they are dropped.
      if (b < 248 && body.length < KEY_BODY_LENGTH) body += BASE62[b % 62];
    }
  }
  return KEY_PREFIX + body;
}

export function isWellFormedKey(key: string): boolean {
  return KEY_RE.test(key);
}

/** SHA-256 (hex) of the whole key: what api_keys.hash stores and the cache is keyed by. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function displayPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH);
}

/** The key from `Authorization: Bearer …` or the Azure-style `api-key` header; null when absent. */
export function extractKey(headers: Record<string, string | string[] | undefined>): string | null {
  const auth = headers['authorization'];
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const apiKey = headers['api-key'];
  if (typeof apiKey === 'string' && apiKey.trim()) return apiKey.trim();
  return null;
}
