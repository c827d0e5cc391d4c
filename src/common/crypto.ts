import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

/**
 * AES-256-GCM with a key ring: the first key encrypts, any key decrypts (rotation).
 * Layout of a sealed value: nonce (12 bytes) || ciphertext || tag (16 bytes). The caller passes the key id it
 * stored beside the value and associated data (e.g. the account id) binding the ciphertext to its row.
 */
export interface KeyRingEntry {
  id: string;
  key: Buffer;
}

export class KeyRing {
  /**
   * The keys as KeyObjects, made once: a raw `Buffer` key makes `createCipheriv` build a new KeyObject on every
   * call, which was most of a seal's cost (~2.7 % of the gateway's CPU under load, one seal per stored response;
   * docs/bench.md, 2026-12-04).
   */
  private readonly objects: Map<string, KeyObject>;
  private readonly primary: KeyObject;

  constructor(private readonly keys: KeyRingEntry[]) {
    if (keys.length === 0) throw new Error('KeyRing needs at least one key');
    for (const k of keys) if (k.key.length !== 32) throw new Error(`key ${k.id} must be 32 bytes`);
    this.objects = new Map();
    for (const k of keys) if (!this.objects.has(k.id)) this.objects.set(k.id, createSecretKey(k.key)); // first wins
    this.primary = createSecretKey(keys[0].key);
  }

  get primaryId(): string {
    return this.keys[0].id;
  }

  has(id: string): boolean {
    return this.keys.some((k) => k.id === id);
  }

  seal(plaintext: Buffer | string, aad: string): { keyId: string; data: Buffer } {
    const { id } = this.keys[0];
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.primary, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([
      cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext) : plaintext),
      cipher.final(),
    ]);
    return { keyId: id, data: Buffer.concat([nonce, body, cipher.getAuthTag()]) };
  }

  open(data: Buffer | Uint8Array, keyId: string, aad: string): Buffer {
    const key = this.objects.get(keyId);
    if (!key) throw new Error(`no encryption key with id ${keyId} is configured (set ENCRYPTION_KEYS_OLD)`);
    const buf = Buffer.from(data);
    if (buf.length < 28) throw new Error('sealed value too short');
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(buf.subarray(buf.length - 16));
    return Buffer.concat([decipher.update(buf.subarray(12, buf.length - 16)), decipher.final()]);
  }
}

export function sha256Hex(input: string | Buffer): string {
  return createHash('sha256').update(input).digest('hex');
}
