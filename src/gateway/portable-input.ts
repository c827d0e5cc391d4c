import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { RedisService } from '../redis/redis.service.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EVENT, isEvent, type UpstreamEvent } from '../upstream/events.js';
import type { UpstreamRequest } from './account-attempt.js';

/**
 * Account-bound items made portable (issue 24, docs/upstream-protocol.md §10). Encrypted reasoning and compaction
 * items (`encrypted_content`) can only be read by the account that minted them; another account answers
 * `invalid_encrypted_content`. The gateway records digest → minting account for every such item it relays (no
 * content, sticky TTL) and, when a request goes to another account, rewrites its input so that account can serve
 * it: reasoning becomes its readable summary (an assistant message) or nothing, compaction items are dropped (the
 * compacted context is lost; never an error). The pure part is here; the Redis part is OpaqueItems.
 */
type Item = Record<string, unknown>;

export type RewriteReason = 'reasoning_summarised' | 'reasoning_dropped' | 'compaction_dropped';

const isObj = (v: unknown): v is Item => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An item the upstream can only read on the account that minted it. */
export function isOpaque(item: unknown): item is Item & { encrypted_content: string } {
  return isObj(item) && typeof item.encrypted_content === 'string' && item.encrypted_content.length > 0;
}

/** 128 bits of SHA-256 of the opaque blob: enough to name it, nothing of its content. */
export function opaqueDigest(encrypted: string): string {
  return createHash('sha256').update(encrypted).digest('hex').slice(0, 32);
}

export function opaqueDigests(items: unknown[]): string[] {
  return items.filter(isOpaque).map((i) => opaqueDigest(i.encrypted_content));
}

function summaryText(item: Item): string {
  if (!Array.isArray(item.summary)) return '';
  return item.summary
    .map((p) => (isObj(p) && typeof p.text === 'string' ? p.text : ''))
    .filter(Boolean)
    .join('\n\n');
}

/**
 * The input with every opaque item that `unreadable` says the serving account cannot read replaced: reasoning
 * with a readable summary → an assistant message holding it, other reasoning and compaction items → removed.
 * Returns the input unchanged (same array) when nothing had to go.
 */
export function portableInput(
  input: unknown[],
  unreadable: (item: Item & { encrypted_content: string }) => boolean,
): { input: unknown[]; rewrites: RewriteReason[] } {
  const rewrites: RewriteReason[] = [];
  const out: unknown[] = [];
  for (const item of input) {
    if (!isOpaque(item) || !unreadable(item)) {
      out.push(item);
      continue;
    }
    if (item.type === 'reasoning') {
      const text = summaryText(item);
      if (text) {
        out.push({
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: `(summary of earlier reasoning) ${text}` }],
        });
        rewrites.push('reasoning_summarised');
      } else rewrites.push('reasoning_dropped');
    } else rewrites.push('compaction_dropped');
  }
  return { input: rewrites.length ? out : input, rewrites };
}

/** A request input holding account-bound items, with the way to serialise the body around another input. */
export interface PortableInput {
  input: unknown[];
  rebuild(input: unknown[]): string;
  /** Looked up once per request, on the first attempt. */
  minters?: Promise<Map<string, string>>;
}

/** Passes the events on and hands every account-bound output item to `mint` as it completes. */
export async function* recordMinted(
  events: AsyncIterable<UpstreamEvent>,
  mint: (items: unknown[]) => void,
): AsyncGenerator<UpstreamEvent> {
  for await (const ev of events) {
    if (isEvent(ev, EVENT.outputItemDone) && isOpaque(ev.data?.item)) mint([ev.data.item]);
    yield ev;
  }
}

/** digest → minting account in Redis, for the sticky TTL; the per-attempt rewrite of a request. */
@Injectable()
export class OpaqueItems {
  private readonly logger = new Logger('portable');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  /** null when the input holds no account-bound item (the common case: nothing to look up, nothing to rewrite). */
  portable(input: unknown, rebuild: (input: unknown[]) => string): PortableInput | null {
    return Array.isArray(input) && input.some(isOpaque) ? { input, rebuild } : null;
  }

  /**
   * The request as `accountId` can serve it: unchanged when every account-bound item of its input was minted
   * there (or is unknown to the gateway), else with the foreign ones rewritten (counted by reason).
   */
  async requestFor(
    req: UpstreamRequest,
    portable: PortableInput | null,
    accountId: string,
  ): Promise<UpstreamRequest> {
    if (!portable) return req;
    portable.minters ??= this.minters(portable.input);
    const minters = await portable.minters;
    const { input, rewrites } = portableInput(portable.input, (item) => {
      const owner = minters.get(opaqueDigest(item.encrypted_content));
      return owner !== undefined && owner !== accountId;
    });
    if (!rewrites.length) return req;
    this.count(rewrites, 'moved');
    this.logger.debug({ rewrites: rewrites.length }, 'account-bound items rewritten for another account');
    return { ...req, payload: portable.rebuild(input) };
  }

  /** The request without any account-bound item: the retry after an `invalid_encrypted_content` refusal. */
  stripped(req: UpstreamRequest, portable: PortableInput): UpstreamRequest {
    const { input, rewrites } = portableInput(portable.input, () => true);
    this.count(rewrites, 'refused');
    this.logger.warn(
      { rewrites: rewrites.length },
      'upstream refused account-bound items; retrying without them',
    );
    return { ...req, payload: portable.rebuild(input) };
  }

  private count(rewrites: RewriteReason[], move: 'moved' | 'refused'): void {
    this.metrics.conversationMoves.inc({ reason: move });
    for (const r of rewrites) this.metrics.portableRewrites.inc({ reason: r });
  }

  /** Remembers that `accountId` minted these items (best effort: a lost record only costs a retry). */
  record(accountId: string, items: unknown[]): void {
    const digests = opaqueDigests(items);
    if (!digests.length) return;
    const ttl = Math.max(60, this.config.POOL_STICKY_TTL_SECONDS);
    const p = this.redis.client.pipeline();
    for (const d of digests) p.set(this.redis.key('opaque', d), accountId, 'EX', ttl);
    p.exec().catch((err: Error) => this.logger.warn({ err: err.message }, 'could not record opaque items'));
  }

  /** The minting account of each opaque item of `input` the gateway knows (digest → account id). */
  async minters(input: unknown[]): Promise<Map<string, string>> {
    const digests = [...new Set(opaqueDigests(input))];
    const out = new Map<string, string>();
    if (!digests.length) return out;
    try {
      const accounts = await this.redis.client.mget(...digests.map((d) => this.redis.key('opaque', d)));
      digests.forEach((d, i) => {
        if (accounts[i]) out.set(d, accounts[i]);
      });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'opaque item store unavailable');
    }
    return out;
  }
}
