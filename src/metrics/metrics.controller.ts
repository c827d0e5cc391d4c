import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { MetricsService } from './metrics.service.js';

/** GET /metrics (Prometheus text format); needs `Authorization: Bearer <METRICS_TOKEN>` when that is set. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() reply: FastifyReply) {
    const want = this.config.METRICS_TOKEN;
    if (want) {
      const got = Buffer.from(authorization?.replace(/^Bearer\s+/i, '') ?? '');
      const exp = Buffer.from(want);
      if (got.length !== exp.length || !timingSafeEqual(got, exp)) {
        throw ApiError.unauthorized('A valid metrics token is required.', 'invalid_metrics_token');
      }
    }
    reply
      .header('content-type', this.metrics.registry.contentType)
      .send(await this.metrics.registry.metrics());
  }
}
