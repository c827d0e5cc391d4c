import { Controller, Get, Inject, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiExcludeController } from '@nestjs/swagger';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { ApiKeyGuard } from '../keys/api-key.guard.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { isModelAllowed } from '../keys/model-access.js';
import { LimitsService } from '../limits/limits.service.js';
import { ModelsService } from './models.service.js';
import { catalogEtag, cliCatalog, toModelObjects } from './models.catalog.js';

/**
 * GET /v1/models and /v1/models/{id}: the catalog filtered by the key's allowed models. With `client_version`
 * (the Codex CLI asks `{base}/models?client_version=…`) the answer is the backend's own catalog format, with an
 * `ETag` that `x-models-etag` on /v1/responses answers repeats; plain OpenAI clients get the list format.
 */
@ApiExcludeController()
@Controller('v1/models')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly models: ModelsService,
    private readonly limits: LimitsService,
  ) {}

  private async admit(auth: RequestAuth, reply: FastifyReply) {
    const admission = await this.limits.admit(auth, 0);
    await admission.settle(0);
    reply.headers(admission.headers);
  }

  private async visible(auth: RequestAuth, reply: FastifyReply) {
    await this.admit(auth, reply);
    return toModelObjects(await this.models.catalog()).filter((m) =>
      isModelAllowed(auth.allowedModels, m.id),
    );
  }

  @Get()
  async list(
    @CurrentAuth() auth: RequestAuth,
    @Query('client_version') clientVersion: string | undefined,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (clientVersion === undefined) return { object: 'list', data: await this.visible(auth, reply) };
    await this.admit(auth, reply);
    const st = await this.models.state();
    const ws = this.config.RESPONSES_WEBSOCKET;
    const etag = catalogEtag(st.version, auth.allowedModels, ws);
    reply.header('etag', etag).header('x-models-etag', etag).header('cache-control', 'private, no-cache');
    if (req.headers['if-none-match'] === etag) {
      reply.status(304);
      return '';
    }
    return cliCatalog(st.entries, (slug) => isModelAllowed(auth.allowedModels, slug), ws);
  }

  @Get(':id')
  async get(
    @CurrentAuth() auth: RequestAuth,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const m = (await this.visible(auth, reply)).find((x) => x.id === id);
    if (!m)
      throw ApiError.notFound(
        `The model '${id}' does not exist or you do not have access to it.`,
        'model',
        'model_not_found',
      );
    return m;
  }
}
