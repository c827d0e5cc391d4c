import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { ApiError } from '../../common/errors.js';
import { limitsOf, type KeyLimits, type RequestAuth } from '../../common/auth-context.js';
import { LimitsService } from '../../limits/limits.service.js';
import { period } from '../../limits/limit-math.js';
import { UsageService } from '../../usage/usage.service.js';
import { UsersService } from '../users.service.js';
import { CornerRepository } from './corner.repository.js';

export const cornerQuery = z
  .object({
    userId: z.string().uuid().optional(),
    days: z.coerce.number().int().min(1).max(93).default(30),
  })
  .strict();
export type CornerQuery = z.infer<typeof cornerQuery>;

const DAY = 86400_000;
const left = (quota: number | null, used: number) => (quota === null ? null : Math.max(0, quota - used));

/** What an admin-scoped caller is: a signed-in admin, or an admin's admin-scoped key. */
const isAdmin = (a: RequestAuth) => a.role === 'admin' && (a.kind === 'session' || a.scope === 'admin');

/**
 * A member's own corner: their usage by key, model and day, their limits and what is left of them today and this
 * month, and their keys. The user is the caller, whatever the query says, unless the caller is an admin (who may
 * open anyone's): a member naming someone else gets 403 `not_your_usage`.
 */
@Injectable()
export class CornerService {
  constructor(
    private readonly corner: CornerRepository,
    private readonly users: UsersService,
    private readonly limits: LimitsService,
    private readonly usage: UsageService,
  ) {}

  async usageOf(actor: RequestAuth, q: CornerQuery) {
    const userId = q.userId ?? actor.userId;
    if (userId !== actor.userId && !isAdmin(actor))
      throw ApiError.forbidden('You can see only your own usage.', 'not_your_usage');
    const user = await this.users.find(userId);
    await this.usage.flush();
    const now = Date.now();
    const to = new Date(now + 1000);
    const from = new Date(period('day', now).endsAt - q.days * DAY);
    const dayStart = new Date(period('day', now).endsAt - DAY);
    const d = new Date(now);
    const monthStart = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
    const [byDay, byModel, byKey, keys, usedToday, usedThisMonth, counters] = await Promise.all([
      this.corner.byDay(userId, from, to),
      this.corner.byModel(userId, from, to),
      this.corner.byKey(userId, from, to),
      this.corner.activeKeys(userId),
      this.corner.tokensSince(userId, dayStart),
      this.corner.tokensSince(userId, monthStart),
      this.limits.userUsage(userId),
    ]);
    const limits = limitsOf(user);
    const totals = byDay.reduce(
      (t, r) => ({
        requests: t.requests + r.requests,
        errors: t.errors + r.errors,
        tokens: t.tokens + r.tokens,
      }),
      { requests: 0, errors: 0, tokens: 0 },
    );
    return {
      user: { id: user.id, email: user.email, name: user.name, role: user.role },
      from: from.toISOString(),
      to: to.toISOString(),
      days: q.days,
      limits,
      today: this.budget(limits.dailyTokenQuota, usedToday, counters.tokensToday),
      thisMonth: this.budget(limits.monthlyTokenQuota, usedThisMonth, counters.tokensThisMonth),
      totals,
      byDay,
      byModel,
      byKey,
      keys: await Promise.all(
        keys.map(async (k) => {
          const keyLimits: KeyLimits = limitsOf(k);
          const u = await this.limits.usage(k.id);
          return {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scope: k.scope,
            allowedModels: k.allowedModels,
            expiresAt: k.expiresAt?.toISOString() ?? null,
            lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
            limits: keyLimits,
            usage: u,
            leftToday: left(keyLimits.dailyTokenQuota, u.tokensToday),
            leftThisMonth: left(keyLimits.monthlyTokenQuota, u.tokensThisMonth),
          };
        }),
      ),
    };
  }

  /** Used tokens (recorded) and what the user's quota leaves (from the counter the gateway enforces). */
  private budget(quota: number | null, used: number, counted: number) {
    return { quota, usedTokens: used, leftTokens: left(quota, counted) };
  }
}
