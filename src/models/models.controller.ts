import { Controller, Get, Param, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiExcludeController } from '@nestjs/swagger';
import { ApiError } from '../common/errors.js';
import { ApiKeyGuard } from '../keys/api-key.guard.js';
import { CurrentAuth, type RequestAuth } from '../auth/auth-context.js';
import { isModelAllowed } from '../keys/model-access.js';
import { LimitsService } from '../limits/limits.service.js';
import { ModelsService } from './models.service.js';
import { toModelObjects } from './models.catalog.js';

/** GET /v1/models and /v1/models/{id}: the catalog filtered by the key's allowed models. */
@ApiExcludeController()
@Controller('v1/models')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly limits: LimitsService,
  ) {}

  private async visible(auth: RequestAuth, reply: FastifyReply) {
    const admission = await this.limits.admit(auth, 0);
    await admission.settle(0);
    reply.headers(admission.headers);
    return toModelObjects(await this.models.catalog()).filter((m) =>
      isModelAllowed(auth.allowedModels, m.id),
    );
  }

  @Get()
  async list(@CurrentAuth() auth: RequestAuth, @Res({ passthrough: true }) reply: FastifyReply) {
    return { object: 'list', data: await this.visible(auth, reply) };
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
