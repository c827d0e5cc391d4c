import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ApiKeyGuard } from './api-key.guard.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { LimitsService } from '../limits/limits.service.js';
import { UsageService } from '../usage/usage.service.js';

/** GET /v1/me: the calling key's own limits and current usage (why a 429 happened). Not counted against RPM. */
@ApiExcludeController()
@Controller('v1/me')
@UseGuards(ApiKeyGuard)
export class MeController {
  constructor(
    private readonly limits: LimitsService,
    private readonly usage: UsageService,
  ) {}

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
      /** Equivalent metered-API cost of this key's requests this month (docs/cost.md). */
      equivalent_spend: auth.keyId ? await this.usage.monthSpend(auth.keyId) : null,
      /** Monthly budgets in equivalent USD as the admission counts them: the key's, and its user's when set. */
      budget: auth.keyId
        ? {
            key: await this.limits.budget('key', auth.keyId, auth.limits.monthlyBudgetUsd),
            user:
              auth.userLimits?.monthlyBudgetUsd != null
                ? await this.limits.budget('user', auth.userId, auth.userLimits.monthlyBudgetUsd)
                : null,
          }
        : null,
    };
  }
}
