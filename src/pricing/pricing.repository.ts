import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';
import type { ModelPrice } from './price-math.js';

/** A price as the audit row shows it (a plain object literal: Prisma's JSON type wants no interface). */
const json = (p: ModelPrice) => ({ input: p.input, cached_input: p.cachedInput, output: p.output });

export interface Actor {
  type: 'key' | 'user';
  id: string | null;
}

/** The only Prisma door for price overrides and account prices (each change written with its audit row). */
@Injectable()
export class PricingRepository {
  constructor(private readonly prisma: PrismaService) {}

  async overrides(): Promise<Map<string, ModelPrice & { updatedAt: Date; updatedBy: string | null }>> {
    const rows = await this.prisma.modelPrice.findMany();
    return new Map(
      rows.map((r) => [
        r.model,
        {
          input: Number(r.input),
          cachedInput: Number(r.cachedInput),
          output: Number(r.output),
          updatedAt: r.updatedAt,
          updatedBy: r.updatedBy,
        },
      ]),
    );
  }

  async setOverride(actor: Actor, model: string, p: ModelPrice, before: ModelPrice | null): Promise<void> {
    const data = { input: p.input, cachedInput: p.cachedInput, output: p.output, updatedBy: actor.id };
    await this.prisma.$transaction([
      this.prisma.modelPrice.upsert({ where: { model }, create: { model, ...data }, update: data }),
      this.prisma.auditLog.create({
        data: {
          actorType: actor.type,
          actorId: actor.id,
          action: 'pricing.override',
          targetType: 'model',
          targetId: model,
          details: { before: before && json(before), after: json(p) },
        },
      }),
    ]);
  }

  /** False when there was no override. */
  async removeOverride(actor: Actor, model: string): Promise<boolean> {
    const [gone] = await this.prisma.$transaction([
      this.prisma.modelPrice.deleteMany({ where: { model } }),
      this.prisma.auditLog.create({
        data: {
          actorType: actor.type,
          actorId: actor.id,
          action: 'pricing.override_removed',
          targetType: 'model',
          targetId: model,
        },
      }),
    ]);
    return gone.count > 0;
  }

  accounts() {
    return this.prisma.account.findMany({
      select: { id: true, label: true, planType: true, enabled: true, monthlyPriceUsd: true },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** False when no such account. */
  async setAccountPrice(actor: Actor, id: string, monthly: number | null): Promise<boolean> {
    const found = await this.prisma.account.findUnique({ where: { id }, select: { monthlyPriceUsd: true } });
    if (!found) return false;
    await this.prisma.$transaction([
      this.prisma.account.update({ where: { id }, data: { monthlyPriceUsd: monthly } }),
      this.prisma.auditLog.create({
        data: {
          actorType: actor.type,
          actorId: actor.id,
          action: 'account.monthly_price',
          targetType: 'account',
          targetId: id,
          details: {
            before: found.monthlyPriceUsd === null ? null : Number(found.monthlyPriceUsd),
            after: monthly,
          },
        },
      }),
    ]);
    return true;
  }
}
