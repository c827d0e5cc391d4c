import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import type { RequestAuth } from '../common/auth-context.js';
import { ApiError } from '../common/errors.js';
import { KeyRing } from '../common/crypto.js';
import { RedisService } from '../redis/redis.service.js';
import { EVENT, isEvent, type UpstreamEvent } from '../upstream/events.js';

/**
 * Gateway-side response state for a stateless upstream (issue 24 item 2; docs/parameters.md "Stored responses").
 * The backend runs with `store: false`, so clients written for the Responses API's server-side state
 * (`previous_response_id`, `item_reference` items, e.g. the Vercel AI SDK) would lose their context. The gateway
 * keeps, per API key, the input and output items of each response it relayed: sealed with the deployment's
 * encryption key (AES-256-GCM, bound to key + response id), for the sticky TTL, at most MAX_RESPONSE_BYTES each
 * and MAX_RESPONSES_PER_SCOPE per key (the oldest go first). Ids of another key, unknown or expired ids are a 400.
 */
export const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;
export const MAX_RESPONSES_PER_SCOPE = 200;

type Item = Record<string, unknown>;

/**
 * SAVE — one round trip for a relayed response (was a MULTI of 5 + one per item, and a DEL after it: a MULTI is
 * never auto-pipelined, so it was its own socket write, ~5 % of the gateway's CPU; docs/bench.md, 2026-12-04).
 * KEYS[1] the sealed response, KEYS[2] the key's list of response ids, KEYS[3…] the output items' id → response.
 * ARGV: the sealed value, TTL (s), the response id, the list's cap, the prefix of a response's key (the evicted
 * ones are deleted). Only plain Redis (no cluster): the evicted keys are built here.
 */
const SAVE = `
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
for i = 3, #KEYS do redis.call('SET', KEYS[i], ARGV[3], 'EX', ttl) end
redis.call('LPUSH', KEYS[2], ARGV[3])
local cap = tonumber(ARGV[4])
local evicted = redis.call('LRANGE', KEYS[2], cap, -1)
redis.call('LTRIM', KEYS[2], 0, cap - 1)
redis.call('EXPIRE', KEYS[2], ttl)
for _, id in ipairs(evicted) do redis.call('DEL', ARGV[5] .. id) end
return #evicted`;

type StoreRedis = RedisService['client'] & {
  cgSaveResponse(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

interface StoredResponse {
  input: unknown[];
  output: unknown[];
  accountId: string;
}

/** What a request needs to be recorded once its response completes. */
export interface StoreTicket {
  scope: string;
  input: unknown[];
}

const isObj = (v: unknown): v is Item => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The client's input as items (a string is one user message). */
function asItems(input: unknown): unknown[] {
  if (typeof input === 'string')
    return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  return Array.isArray(input) ? input : [];
}

/**
 * Passes the events on; at `response.completed` hands the output items (as streamed) and the response id on. The
 * backend often leaves `response.completed.response.output` empty (docs/upstream-protocol.md §5): it is filled
 * with the streamed items, so clients that read the final response from it (the openai SDK's stream helpers'
 * `finalResponse()`) see the answer.
 */
export async function* captureCompleted(
  events: AsyncIterable<UpstreamEvent>,
  done: (responseId: string, output: unknown[]) => void,
): AsyncGenerator<UpstreamEvent> {
  const output: unknown[] = [];
  for await (const ev of events) {
    if (isEvent(ev, EVENT.outputItemDone) && ev.data?.item) output.push(ev.data.item);
    if (isEvent(ev, EVENT.completed)) {
      const r = ev.data?.response as
        ({ id?: unknown; output?: unknown[] } & Record<string, unknown>) | undefined;
      if (typeof r?.id === 'string') done(r.id, output.length ? output : (r.output ?? []));
      if (r && (!Array.isArray(r.output) || !r.output.length) && output.length) {
        const data = { ...(ev.data as object), response: { ...r, output } };
        yield {
          type: ev.type,
          data,
          raw: `event: ${ev.type}\ndata: ${JSON.stringify(data)}\n\n`,
        } as UpstreamEvent;
        continue;
      }
    }
    yield ev;
  }
}

@Injectable()
export class ResponseStore {
  private readonly logger = new Logger('response-store');
  private readonly ring: KeyRing;
  private readonly r: StoreRedis;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisService,
  ) {
    this.ring = new KeyRing(config.encryptionKeys);
    const client = redis.client as StoreRedis;
    if (typeof client.cgSaveResponse !== 'function') client.defineCommand('cgSaveResponse', { lua: SAVE });
    this.r = client;
  }

  private ttl(): number {
    return Math.max(60, this.config.POOL_STICKY_TTL_SECONDS);
  }

  /** One key's responses; a session (no key) is scoped to its user. */
  scopeOf(auth: Pick<RequestAuth, 'keyId' | 'userId'>): string {
    return auth.keyId ? `k:${auth.keyId}` : `u:${auth.userId}`;
  }

  /**
   * Resolves `previous_response_id` (input = that response's input + output + this input) and `item_reference`
   * items (each replaced by the item it names) against this key's stored responses. Returns the body without
   * either, the account that produced the previous response (to prefer it), and the ticket to record the answer.
   */
  async expand(
    auth: Pick<RequestAuth, 'keyId' | 'userId'>,
    body: Record<string, unknown>,
  ): Promise<{ body: Record<string, unknown>; preferAccountId: string | null; ticket: StoreTicket }> {
    const scope = this.scopeOf(auth);
    const { previous_response_id: previousId, ...rest } = body;
    let input = asItems(rest.input);
    const refs = input.some((i) => isObj(i) && i.type === 'item_reference');
    if ((previousId === undefined || previousId === null) && !refs)
      return { body, preferAccountId: null, ticket: { scope, input } }; // untouched: same bytes upstream
    let preferAccountId: string | null = null;
    if (previousId !== undefined && previousId !== null) {
      if (typeof previousId !== 'string' || !previousId)
        throw ApiError.badRequest("'previous_response_id' must be a string.", 'previous_response_id');
      const prev = await this.load(scope, previousId);
      if (!prev)
        throw ApiError.badRequest(
          `Previous response with id '${previousId}' not found. The upstream stores nothing; the gateway keeps the responses it relayed for this key for ${this.ttl()} seconds.`,
          'previous_response_id',
          'previous_response_not_found',
        );
      input = [...prev.input, ...prev.output, ...input];
      preferAccountId = prev.accountId;
    }
    if (refs) input = await this.expandReferences(scope, input, body.input);
    return { body: { ...rest, input }, preferAccountId, ticket: { scope, input } };
  }

  private async expandReferences(scope: string, input: unknown[], original: unknown): Promise<unknown[]> {
    const cache = new Map<string, StoredResponse | null>();
    const out: unknown[] = [];
    const offset = Array.isArray(original) ? input.length - original.length : 0;
    for (let i = 0; i < input.length; i++) {
      const item = input[i];
      if (!isObj(item) || item.type !== 'item_reference') {
        out.push(item);
        continue;
      }
      const id = typeof item.id === 'string' ? item.id : '';
      const responseId = id ? await this.redis.client.get(this.redis.key('ritem', scope, id)) : null;
      if (responseId && !cache.has(responseId)) cache.set(responseId, await this.load(scope, responseId));
      const found = responseId
        ? cache.get(responseId)?.output.find((o) => isObj(o) && o.id === id)
        : undefined;
      if (!found)
        throw ApiError.badRequest(
          `Item with id '${id}' not found. The upstream stores nothing; the gateway keeps the items of responses it relayed for this key for ${this.ttl()} seconds.`,
          `input[${i - offset}]`,
          'item_not_found',
        );
      out.push(found);
    }
    return out;
  }

  private async load(scope: string, responseId: string): Promise<StoredResponse | null> {
    const raw = await this.redis.client.get(this.redis.key('resp', scope, responseId));
    if (!raw) return null;
    const dot = raw.indexOf('.');
    try {
      const plain = this.ring.open(
        Buffer.from(raw.slice(dot + 1), 'base64'),
        raw.slice(0, dot),
        `${scope}\0${responseId}`,
      );
      return JSON.parse(plain.toString('utf8')) as StoredResponse;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'a stored response could not be opened');
      return null;
    }
  }

  /** Stores one relayed response (best effort; too large ones are skipped with a debug line). */
  save(ticket: StoreTicket, responseId: string, output: unknown[], accountId: string): void {
    const plain = JSON.stringify({ input: ticket.input, output, accountId } satisfies StoredResponse);
    if (plain.length > MAX_RESPONSE_BYTES) {
      this.logger.debug(
        { bytes: plain.length },
        'response too large to keep; previous_response_id will not find it',
      );
      return;
    }
    const sealed = this.ring.seal(plain, `${ticket.scope}\0${responseId}`);
    const keys = [this.redis.key('resp', ticket.scope, responseId), this.redis.key('resps', ticket.scope)];
    for (const o of output)
      if (isObj(o) && typeof o.id === 'string') keys.push(this.redis.key('ritem', ticket.scope, o.id));
    this.r
      .cgSaveResponse(
        keys.length,
        ...keys,
        `${sealed.keyId}.${sealed.data.toString('base64')}`,
        this.ttl(),
        responseId,
        MAX_RESPONSES_PER_SCOPE,
        this.redis.key('resp', ticket.scope, ''),
      )
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'could not store a response'));
  }
}
