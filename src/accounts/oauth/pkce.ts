import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * PKCE (RFC 7636, S256) and OAuth `state` values, from node:crypto. The Codex CLI sends a 43-char state and an
 * 86-char verifier (docs/upstream-protocol.md §1): 32 and 64 random bytes in base64url without padding.
 */
export function randomUrlSafe(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export function createCodeVerifier(): string {
  return randomUrlSafe(64);
}

export function codeChallengeS256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function createState(): string {
  return randomUrlSafe(32);
}

/** Constant-time comparison of two strings (state values). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
