import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';
import { Prisma } from '../generated/prisma/client.js';

const keyWithUser = {
  user: {
    select: {
      id: true,
      email: true,
      name: true,
      role: true,
      disabled: true,
      // The user's own limits, shared by all of their keys: cached with the key (no extra query per request).
      rpm: true,
      tpm: true,
      dailyTokenQuota: true,
      monthlyTokenQuota: true,
      monthlyBudgetUsd: true,
    },
  },
} as const;

/** The Prisma door for the api_keys table (each row with its owner's columns the key cache needs). */
@Injectable()
export class KeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  findKeyByHash(hash: string) {
    return this.prisma.apiKey.findUnique({ where: { hash }, include: keyWithUser });
  }
  findKey(id: string) {
    return this.prisma.apiKey.findUnique({ where: { id }, include: keyWithUser });
  }
  listKeys(where: { userId?: string; includeRevoked?: boolean }) {
    return this.prisma.apiKey.findMany({
      where: { userId: where.userId, ...(where.includeRevoked ? {} : { revokedAt: null }) },
      include: keyWithUser,
      orderBy: { createdAt: 'desc' },
    });
  }
  createKey(data: Prisma.ApiKeyUncheckedCreateInput) {
    return this.prisma.apiKey.create({ data, include: keyWithUser });
  }
  updateKey(id: string, data: Prisma.ApiKeyUncheckedUpdateInput) {
    return this.prisma.apiKey.update({ where: { id }, data, include: keyWithUser });
  }
  /** Replaces a key by a new one with the same settings in one transaction. */
  rotateKey(oldId: string, data: Prisma.ApiKeyUncheckedCreateInput) {
    return this.prisma.$transaction(async (tx) => {
      await tx.apiKey.update({ where: { id: oldId }, data: { revokedAt: new Date() } });
      return tx.apiKey.create({ data, include: keyWithUser });
    });
  }
  async revokeUserKeys(userId: string): Promise<string[]> {
    const keys = await this.prisma.apiKey.findMany({
      where: { userId, revokedAt: null },
      select: { hash: true },
    });
    await this.prisma.apiKey.updateMany({
      where: { userId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return keys.map((k) => k.hash);
  }
  /** Sets the policy suspension unless it is set already (or the key is revoked): true when this call set it. */
  async suspendKey(id: string, reason: string): Promise<boolean> {
    const { count } = await this.prisma.apiKey.updateMany({
      where: { id, suspendedAt: null, revokedAt: null },
      data: { suspendedAt: new Date(), suspendedReason: reason },
    });
    return count > 0;
  }
  async touchKeys(ids: string[], at: Date): Promise<void> {
    if (ids.length)
      await this.prisma.apiKey.updateMany({ where: { id: { in: ids } }, data: { lastUsedAt: at } });
  }

  /** The user a new key would belong to, as the key rows see it (read only; users are written by auth/). */
  findOwner(userId: string) {
    return this.prisma.user.findUnique({ where: { id: userId }, select: keyWithUser.user.select });
  }
  countActiveKeys(userId: string) {
    return this.prisma.apiKey.count({ where: { userId, revokedAt: null } });
  }
}

export type KeyRow = NonNullable<Awaited<ReturnType<KeysRepository['findKeyByHash']>>>;
