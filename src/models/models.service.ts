import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { RedisService } from '../redis/redis.service.js';
import { AccountSource } from '../accounts/account-source.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { modelsHeaders } from '../upstream/headers.js';
import { FALLBACK_CATALOG, parseCatalog, resolveAlias, type CatalogModel } from './models.catalog.js';

/** The upstream model catalog, cached in Redis (shared by replicas) for MODELS_CACHE_SECONDS. */
@Injectable()
export class ModelsService {
  private readonly logger = new Logger('models');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly accounts: AccountSource,
    private readonly upstream: UpstreamClient,
  ) {}

  async catalog(): Promise<CatalogModel[]> {
    const key = this.redis.key('models', 'catalog');
    const cached = await this.redis.client.get(key).catch(() => null);
    if (cached) return JSON.parse(cached) as CatalogModel[];
    const fresh = await this.fetch();
    if (!fresh) return FALLBACK_CATALOG;
    if (this.config.MODELS_CACHE_SECONDS > 0) {
      await this.redis.client
        .set(key, JSON.stringify(fresh), 'EX', this.config.MODELS_CACHE_SECONDS)
        .catch(() => {});
    }
    return fresh;
  }

  private async fetch(): Promise<CatalogModel[] | null> {
    try {
      const [account] = await this.accounts.listRoutable();
      if (!account) return null;
      const creds = await this.accounts.getCredentials(account.id);
      const res = await this.upstream.request(
        'GET',
        `/models?client_version=${encodeURIComponent(this.config.CODEX_CLIENT_VERSION)}`,
        modelsHeaders(this.config, creds.accessToken, creds.chatgptAccountId),
        null,
      );
      if (res.statusCode !== 200) {
        await res.body.dump();
        this.logger.warn({ status: res.statusCode }, 'model listing failed; using the built-in list');
        return null;
      }
      const list = parseCatalog(await res.body.json());
      return list.length ? list : null;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'model listing failed; using the built-in list');
      return null;
    }
  }

  /** Rewrites a reasoning-effort alias into model + reasoning.effort (an explicit effort in the body wins). */
  async resolveAlias(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (typeof body.model !== 'string' || !/-(none|minimal|low|medium|high|xhigh)$/.test(body.model))
      return body;
    const alias = resolveAlias(await this.catalog(), body.model);
    if (!alias) return body;
    const reasoning = (typeof body.reasoning === 'object' && body.reasoning) || {};
    return { ...body, model: alias.model, reasoning: { effort: alias.effort, ...reasoning } };
  }
}
