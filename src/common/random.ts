import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for per-request identifiers (conversation ids, chat completion ids), drawn from a 4 KiB block that
 * is refilled from the CSPRNG when used up — the way Node buffers `crypto.randomUUID()`. One `randomBytes(16)` per
 * request was ~4 % of the gateway's CPU under load (docs/bench.md): each call is a separate trip into OpenSSL.
 * The bytes are the same CSPRNG output, never reused; secrets (session ids, keys, nonces) keep calling
 * `randomBytes` directly.
 */
const BLOCK = 4096;
let pool = Buffer.allocUnsafe(0);
let offset = 0;

export function idBytes(n: number): Buffer {
  if (n > BLOCK) throw new RangeError(`idBytes: at most ${BLOCK} bytes`);
  if (offset + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(BLOCK));
    offset = 0;
  }
  // A copy: the caller may change it (uuidV7 sets version bits) without touching the block.
  const out = Buffer.from(pool.subarray(offset, offset + n));
  offset += n;
  return out;
}
