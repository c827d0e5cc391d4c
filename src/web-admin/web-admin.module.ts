import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { InsightsController } from './insights.controller.js';
import { InsightsRepository } from './insights.repository.js';
import { InsightsService } from './insights.service.js';
import { ModelsModule } from '../models/models.module.js';
import { SetupController } from './setup.controller.js';
import { SetupService } from './setup.service.js';
import { registerWebAdmin } from './static-site.js';

@Injectable()
class WebAdminSite implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost) {}
  onModuleInit(): void {
    registerWebAdmin(this.host.httpAdapter.getInstance<FastifyInstance>());
  }
}

/**
 * The web admin: the single-page app at /admin (web/dist), the first-run setup API, and the read APIs its pages
 * need beyond the resource APIs of the other modules (overview, usage series, latest requests, audit log).
 */
@Module({
  imports: [ModelsModule],
  controllers: [SetupController, InsightsController],
  providers: [SetupService, InsightsRepository, InsightsService, WebAdminSite],
})
export class WebAdminModule {}
