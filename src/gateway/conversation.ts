import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type { RequestAuth } from '../common/auth-context.js';
import { RedisService } from '../redis/redis.service.js';
import { idBytes } from '../common/random.js';

/**
 * Conversation identity (docs/adr/0012-conversation-identity.md): one conversation id per (user, client
 * conversation key). The id is what the Codex CLI uses for a thread: a UUIDv7 created when the conversation is first
 * seen, sent as `prompt_cache_key`, `session-id`, `thread-id`, `x-client-request-id` and in `x-codex-window-id`, and
 * used as the pool's stickiness key. The client key is the request's `prompt_cache_key`; without one, a key is
 * derived from the virtual key and the conversation's opening items (up to the first user message), so the turns of
 * one chat keep their prompt cache and their account. The client string never reaches Redis or the upstream: it is
 * hashed together with the user id (two users sending the same key get different ids; a 1 MB key costs 64 bytes).
 */
export interface Conversation {
  /** The upstream thread id (UUIDv7). */
  id: string;
  /** Where the key came from. */
  source: 'client' | 'derived';
}

/** A UUIDv7 (RFC 9562): 48-bit Unix ms time, version 7, 74 random bits. Node's crypto only makes v4. */
export function uuidV7(now = Date.now()): string {
  const b = idBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The same digest as an id when Redis cannot be reached: stable, uuid-shaped (version 7 bits set). */
function idFromDigest(digest: string): string {
  const b = Buffer.from(digest.slice(0, 32), 'hex');
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The items that open a conversation: everything up to and including the first user message. */
function openingItems(input: unknown): unknown[] {
  if (!Array.isArray(input)) return [input];
  const out: unknown[] = [];
  for (const item of input) {
    out.push(item);
    if (item && typeof item === 'object' && (item as { role?: unknown }).role === 'user') break;
  }
  return out;
}

export function conversationDigest(
  auth: Pick<RequestAuth, 'userId' | 'keyId'>,
  body: Record<string, unknown>,
): {
  digest: string;
  source: Conversation['source'];
} {
  const clientKey =
    typeof body.prompt_cache_key === 'string' && body.prompt_cache_key ? body.prompt_cache_key : null;
  const h = createHash('sha256').update(auth.userId).update('\0');
  if (clientKey) h.update('client\0').update(clientKey);
  else
    h.update('derived\0')
      .update(auth.keyId ?? 'session')
      .update('\0')
      .update(JSON.stringify(openingItems(body.input)));
  return { digest: h.digest('hex'), source: clientKey ? 'client' : 'derived' };
}

@Injectable()
export class ConversationIds {
  private readonly logger = new Logger('conversation');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisService,
  ) {}

  /** The conversation of a normalized Responses body (created on first sight; TTL slides with each turn). */
  async resolve(auth: RequestAuth, body: Record<string, unknown>): Promise<Conversation> {
    const { digest, source } = conversationDigest(auth, body);
    const key = this.redis.key('conv', digest);
    const fresh = uuidV7();
    const ttl = Math.max(60, this.config.POOL_STICKY_TTL_SECONDS);
    try {
      // Two plain commands, not a MULTI: issued in the same tick they leave in one auto-pipelined write (a
      // MULTI is never auto-pipelined), and the refreshed TTL needs no atomicity with the read.
      const r = this.redis.client;
      const [prev] = await Promise.all([r.set(key, fresh, 'EX', ttl, 'NX', 'GET'), r.expire(key, ttl)]);
      return { id: typeof prev === 'string' && prev ? prev : fresh, source };
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'conversation store unavailable, using a derived id');
      return { id: idFromDigest(digest), source };
    }
  }
}
