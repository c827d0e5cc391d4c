import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ApiKeyGuard } from './api-key.guard.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { LimitsService } from '../limits/limits.service.js';

/** GET /v1/me: the calling key's own limits and current usage (why a 429 happened). Not counted against RPM. */
@ApiExcludeController()
@Controller('v1/me')
@UseGuards(ApiKeyGuard)
export class MeController {
  constructor(private readonly limits: LimitsService) {}

  @Get()
  async me(@CurrentAuth() auth: RequestAuth) {
    return {
      object: 'key_usage',
      key_id: auth.keyId,
      user_id: auth.userId,
      scope: auth.scope,
      allowed_models: auth.allowedModels,
      limits: auth.limits,
      usage: auth.keyId ? await this.limits.usage(auth.keyId) : null,
    };
  }
}
