import { Body, Controller, Delete, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCookieAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { AdminGuard } from '../common/admin-guards.js';
import { PRICE_FILE } from './catalog.js';
import type { Actor } from './pricing.repository.js';
import { AccountPriceBodyDto, AccountPriceDto } from './pricing.dto.js';
import { PricingService, type EffectivePrice } from './pricing.service.js';

/** USD per 1M tokens: ≥ 0, at most 6 decimals (the arithmetic is exact to a micro-dollar per 1M tokens). */
const usd = z
  .number()
  .finite()
  .min(0)
  .max(1_000_000)
  .refine((v) => Math.abs(Math.round(v * 1e6) - v * 1e6) < 1e-6, 'at most 6 decimals');
const priceBody = z.object({ input: usd, cached_input: usd, output: usd }).strict();
const accountPriceBody = z
  .object({
    monthly_usd: z
      .number()
      .finite()
      .min(0)
      .max(1_000_000)
      .refine((v) => Math.abs(Math.round(v * 100) - v * 100) < 1e-9, 'at most 2 decimals')
      .nullable(),
  })
  .strict();
const modelName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const uuid = z.string().uuid();

const actorOf = (a: RequestAuth): Actor =>
  a.kind === 'key' ? { type: 'key', id: a.keyId } : { type: 'user', id: a.userId };

const present = (p: EffectivePrice) => ({
  model: p.model,
  input: p.input,
  cached_input: p.cachedInput,
  output: p.output,
  origin: p.origin,
  source: p.source,
  verified: p.verified,
  checked: p.checked,
});

/**
 * Prices behind the equivalent API cost (docs/cost.md): the effective per-model prices (admin overrides over the
 * shipped file), overrides (audited; they price new usage rows only) and each account's monthly price.
 */
@ApiTags('pricing')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@Controller('admin/api/pricing')
@UseGuards(AdminGuard)
export class PricingController {
  constructor(private readonly pricing: PricingService) {}

  @Get()
  @ApiOperation({ summary: 'Effective model prices (USD per 1M tokens), plan prices and account prices' })
  async get() {
    return {
      object: 'pricing',
      currency: 'USD',
      unit: 'per 1M tokens',
      file_checked: PRICE_FILE.checked,
      models: this.pricing.list().map(present),
      plans: Object.entries(PRICE_FILE.plans).map(([plan, p]) => ({
        plan,
        monthly_usd: p.monthly,
        source: p.source,
        verified: p.verified,
      })),
      accounts: await this.pricing.accountPrices(),
    };
  }

  @Put('models/:model')
  @ApiOperation({ summary: 'Override the price of a model (audited; prices new usage rows only)' })
  async setModel(@CurrentAuth() auth: RequestAuth, @Param('model') model: string, @Body() body: unknown) {
    const name = parseOrThrow(modelName, model, 'model');
    const b = parseOrThrow(priceBody, body);
    if (b.cached_input > b.input)
      throw ApiError.badRequest('cached_input cannot be above input.', 'cached_input', 'invalid_value');
    const p = await this.pricing.setOverride(actorOf(auth), name, {
      input: b.input,
      cachedInput: b.cached_input,
      output: b.output,
    });
    return present(p);
  }

  @Delete('models/:model')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove an override (back to the shipped price, or no price); audited' })
  async removeModel(@CurrentAuth() auth: RequestAuth, @Param('model') model: string) {
    const name = parseOrThrow(modelName, model, 'model');
    if (!(await this.pricing.removeOverride(actorOf(auth), name)))
      throw ApiError.notFound(`No price override for model '${name}'.`, 'model', 'not_found');
  }

  @Put('accounts/:id')
  @ApiOperation({
    summary: "Set an account's monthly subscription price (null = its plan's default); audited",
  })
  @ApiBody({ type: AccountPriceBodyDto })
  @ApiOkResponse({ type: AccountPriceDto })
  async setAccount(@CurrentAuth() auth: RequestAuth, @Param('id') id: string, @Body() body: unknown) {
    const accountId = parseOrThrow(uuid, id, 'id');
    const b = parseOrThrow(accountPriceBody, body);
    if (!(await this.pricing.setAccountPrice(actorOf(auth), accountId, b.monthly_usd)))
      throw ApiError.notFound('No such account.', 'id', 'not_found');
    return (await this.pricing.accountPrices()).find((a) => a.id === accountId);
  }
}
