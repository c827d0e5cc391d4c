import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { shippedPrices, planMonthlyPrice, type ListedPrice } from './catalog.js';
import { costOf, priceKey, type ModelPrice, type TokenCounts } from './price-math.js';
import { PricingRepository, type Actor } from './pricing.repository.js';

/** How often a replica re-reads the overrides another replica may have changed. */
export const OVERRIDES_REFRESH_MS = 30_000;

export interface EffectivePrice extends ModelPrice {
  model: string;
  /** 'override' (an admin's) or 'file' (the shipped prices.json). */
  origin: 'override' | 'file';
  source: string;
  verified: boolean;
  checked: string | null;
}

/**
 * Prices a usage row when it is written (synchronously, from memory): the admin's override for the model, else
 * the shipped price file, else no price (null). Overrides are re-read on change and every 30 s, so a change
 * prices new rows only; rows already written keep their cost.
 */
@Injectable()
export class PricingService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('pricing');
  private readonly shipped = shippedPrices();
  private overrides = new Map<string, ModelPrice & { updatedAt: Date; updatedBy: string | null }>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly repo: PricingRepository) {}

  async onModuleInit(): Promise<void> {
    await this.reload().catch((err) =>
      this.logger.warn({ err: (err as Error).message }, 'price overrides not loaded; shipped prices only'),
    );
    this.timer = setInterval(() => void this.reload().catch(() => {}), OVERRIDES_REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async reload(): Promise<void> {
    this.overrides = await this.repo.overrides();
  }

  priceOf(model: string): EffectivePrice | null {
    const key = priceKey(model, (m) => this.overrides.has(m) || this.shipped.has(m));
    if (!key) return null;
    const o = this.overrides.get(key);
    if (o)
      return {
        model: key,
        input: o.input,
        cachedInput: o.cachedInput,
        output: o.output,
        origin: 'override',
        source: `admin override (${o.updatedAt.toISOString()})`,
        verified: true,
        checked: o.updatedAt.toISOString().slice(0, 10),
      };
    const s = this.shipped.get(key) as ListedPrice;
    return { model: key, ...s, origin: 'file' };
  }

  /** Equivalent cost as a decimal string, or null (no price for this model). */
  costOf(model: string, tokens: TokenCounts): string | null {
    return costOf(this.priceOf(model), tokens);
  }

  list(): EffectivePrice[] {
    const names = new Set([...this.shipped.keys(), ...this.overrides.keys()]);
    return [...names].sort().map((m) => this.priceOf(m)!);
  }

  async setOverride(actor: Actor, model: string, p: ModelPrice): Promise<EffectivePrice> {
    const before = this.priceOf(model);
    await this.repo.setOverride(
      actor,
      model,
      p,
      before && before.model === model
        ? { input: before.input, cachedInput: before.cachedInput, output: before.output }
        : null,
    );
    await this.reload();
    return this.priceOf(model)!;
  }

  async removeOverride(actor: Actor, model: string): Promise<boolean> {
    const gone = await this.repo.removeOverride(actor, model);
    await this.reload();
    return gone;
  }

  /** Each account's monthly price: the admin's, else its plan's default, else null (unknown). */
  async accountPrices() {
    const rows = await this.repo.accounts();
    return rows.map((a) => {
      const own = a.monthlyPriceUsd === null ? null : Number(a.monthlyPriceUsd);
      const plan = planMonthlyPrice(a.planType);
      return {
        id: a.id,
        label: a.label,
        plan: a.planType,
        enabled: a.enabled,
        monthly_usd: own ?? plan,
        monthly_origin: own !== null ? ('account' as const) : plan !== null ? ('plan' as const) : null,
      };
    });
  }

  setAccountPrice(actor: Actor, id: string, monthly: number | null): Promise<boolean> {
    return this.repo.setAccountPrice(actor, id, monthly);
  }
}
