import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { RedisService } from '../redis/redis.service.js';
import { AccountSource } from '../accounts/account-source.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { modelsHeaders } from '../upstream/headers.js';
import {
  FALLBACK_CATALOG,
  fallbackEntry,
  parseCatalog,
  rawEntries,
  resolveAlias,
  toModelObjects,
  nearestEffort,
  wireEffort,
  type CatalogModel,
} from './models.catalog.js';

/** What the gateway knows of the upstream catalog at one time. */
export interface CatalogState {
  /** Upstream ETag, or a hash of the body when it sent none; 'fallback' for the built-in list. */
  version: string;
  /** The upstream's own ETag (compared with `x-models-etag` on /responses answers). */
  upstreamEtag: string | null;
  models: CatalogModel[];
  /** ModelInfo entries for the Codex CLI, as the upstream sent them (or built for the fallback list). */
  entries: Record<string, any>[];
  fallback: boolean;
}

/** How long a replica trusts its in-memory copy before reading Redis again (other replicas may have re-fetched). */
const MEMORY_MS = 10_000;

/**
 * The upstream model catalog, cached in Redis (shared by replicas): MODELS_CACHE_SECONDS after a good fetch,
 * MODELS_FAILURE_CACHE_SECONDS after a failed one (the fallback list is served meanwhile, so a broken upstream
 * listing is asked once per window, not once per request). One fetch at a time per replica. A /responses answer
 * whose `x-models-etag` differs from the cached catalog's ETag triggers a re-fetch, as the Codex CLI does.
 */
@Injectable()
export class ModelsService {
  private readonly logger = new Logger('models');
  private memory: { state: CatalogState; until: number } | null = null;
  private fetching: Promise<CatalogState> | null = null;
  private lastEtagSeen: string | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly accounts: AccountSource,
    private readonly upstream: UpstreamClient,
  ) {}

  private get redisKey() {
    return this.redis.key('models', 'state');
  }

  /** Model ids of the catalog last seen here (metric labels use only these; anything else is `other`). */
  private known = new Set<string>();
  isKnown(model: string): boolean {
    return this.known.has(model);
  }

  async catalog(): Promise<CatalogModel[]> {
    return (await this.state()).models;
  }

  async state(): Promise<CatalogState> {
    const now = Date.now();
    if (this.memory && this.memory.until > now) return this.memory.state;
    const cached = await this.redis.client.get(this.redisKey).catch(() => null);
    if (cached) {
      const state = JSON.parse(cached) as CatalogState;
      this.remember(state, MEMORY_MS);
      return state;
    }
    return this.refresh();
  }

  /** Fetches now (single flight per replica) and caches the outcome, the fallback included. */
  refresh(): Promise<CatalogState> {
    this.fetching ??= this.fetchState().finally(() => {
      this.fetching = null;
    });
    return this.fetching;
  }

  /**
   * Called with the `x-models-etag` of a /responses answer: a value other than the cached catalog's ETag means
   * the upstream catalog changed, so the cache is dropped and fetched again (in the background).
   */
  noteUpstreamEtag(etag: string | undefined | null): void {
    if (!etag || etag === this.lastEtagSeen) return;
    const current = this.memory?.state;
    if (current && (current.fallback || current.upstreamEtag === etag)) {
      this.lastEtagSeen = etag;
      return;
    }
    this.lastEtagSeen = etag;
    void (async () => {
      const st = await this.state();
      if (st.fallback || st.upstreamEtag === etag) return;
      this.logger.log({ etag }, 'upstream model catalog changed; fetching it again');
      this.memory = null;
      await this.redis.client.del(this.redisKey).catch(() => {});
      await this.refresh();
    })().catch(() => {});
  }

  private remember(state: CatalogState, ms: number) {
    this.memory = { state, until: Date.now() + Math.min(ms, MEMORY_MS) };
    this.known = new Set([
      ...state.models.map((m) => m.slug),
      ...toModelObjects(state.models).map((m) => m.id),
    ]);
  }

  private async fetchState(): Promise<CatalogState> {
    const fetched = await this.fetch();
    const state: CatalogState = fetched ?? {
      version: 'fallback',
      upstreamEtag: null,
      models: FALLBACK_CATALOG,
      entries: FALLBACK_CATALOG.map((m, i) => fallbackEntry(m, i + 1)),
      fallback: true,
    };
    const ttl = fetched ? this.config.MODELS_CACHE_SECONDS : this.config.MODELS_FAILURE_CACHE_SECONDS;
    if (ttl > 0) {
      await this.redis.client.set(this.redisKey, JSON.stringify(state), 'EX', ttl).catch(() => {});
      this.remember(state, ttl * 1000);
    } else this.memory = null;
    return state;
  }

  private async fetch(): Promise<CatalogState | null> {
    try {
      const [account] = await this.accounts.listRoutable();
      if (!account) return null;
      const creds = await this.accounts.getCredentials(account.id);
      const res = await this.upstream.request(
        'GET',
        `/models?client_version=${encodeURIComponent(this.config.CODEX_CLIENT_VERSION)}`,
        modelsHeaders(this.config, creds.accessToken, creds.chatgptAccountId),
        null,
        undefined,
        { accountId: account.id, proxyUrl: creds.proxyUrl },
      );
      if (res.statusCode !== 200) {
        await res.body.dump();
        this.logger.warn({ status: res.statusCode }, 'model listing failed; using the built-in list');
        return null;
      }
      const text = await res.body.text();
      const json = JSON.parse(text);
      const models = parseCatalog(json);
      if (!models.length) return null;
      const etag = typeof res.headers.etag === 'string' ? res.headers.etag : null;
      return {
        version: etag ?? createHash('sha256').update(text).digest('base64url').slice(0, 16),
        upstreamEtag: etag,
        models,
        entries: rawEntries(json),
        fallback: false,
      };
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'model listing failed; using the built-in list');
      return null;
    }
  }

  /**
   * Rewrites a reasoning-effort alias into model + reasoning.effort (an explicit effort in the body wins), then
   * checks the effort against the model's `supported_reasoning_levels`: an effort the model does not list is a
   * 400 naming the supported ones. `ultra` goes upstream as `max`, as the Codex CLI sends it.
   */
  async resolveAlias(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (typeof body.model !== 'string') return body;
    const st = await this.state();
    let out = body;
    const alias = resolveAlias(st.models, body.model);
    if (alias) {
      const reasoning = (typeof body.reasoning === 'object' && body.reasoning) || {};
      // The alias's effort wins over the body's: an allow-list naming `gpt-5.5-low` must not buy xhigh (issue 22,
      // item 8); other reasoning fields (summary) stay the client's.
      out = { ...body, model: alias.model, reasoning: { ...reasoning, effort: alias.effort } };
    }
    const reasoning = out.reasoning as Record<string, unknown> | undefined;
    const effort = reasoning && typeof reasoning === 'object' ? reasoning.effort : undefined;
    if (typeof effort !== 'string') return out;
    const model = st.models.find((m) => m.slug === out.model);
    let served = effort;
    if (model && model.efforts.length && !st.fallback && !model.efforts.includes(effort)) {
      const nearest = nearestEffort(model.efforts, effort);
      if (!nearest)
        throw ApiError.badRequest(
          `The model '${model.slug}' does not support reasoning effort '${effort}'. Supported values: ${model.efforts.join(', ')}.`,
          'reasoning.effort',
          'unsupported_value',
        );
      this.logger.debug(
        { model: model.slug, requested: effort, served: nearest },
        'reasoning effort mapped to the nearest the model supports (docs/parameters.md)',
      );
      served = nearest;
    }
    const wire = wireEffort(served);
    return wire === effort ? out : { ...out, reasoning: { ...reasoning, effort: wire } };
  }
}
