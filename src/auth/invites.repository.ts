import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';

/** The Prisma door for the invites table (only the SHA-256 of a token is stored, like keys). */
@Injectable()
export class InvitesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** A new invite for the user; any open one is revoked in the same transaction (one open invite per user). */
  async issue(data: { userId: string; hash: string; createdBy: string | null; expiresAt: Date }) {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.invite.updateMany({
        where: { userId: data.userId, usedAt: null, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      const invite = await tx.invite.create({ data });
      return { invite, replaced: count };
    });
  }

  findByHash(hash: string) {
    return this.prisma.invite.findUnique({ where: { hash }, include: { user: true } });
  }

  latestFor(userId: string) {
    return this.prisma.invite.findFirst({ where: { userId }, orderBy: { createdAt: 'desc' } });
  }

  /** Marks an invite used, once: false when it was used, revoked or expired meanwhile (a race is lost, not doubled). */
  async markUsed(id: string, via: 'password' | 'oidc'): Promise<boolean> {
    const now = new Date();
    const { count } = await this.prisma.invite.updateMany({
      where: { id, usedAt: null, revokedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now, usedVia: via },
    });
    return count === 1;
  }

  async revokeOpen(userId: string): Promise<number> {
    const { count } = await this.prisma.invite.updateMany({
      where: { userId, usedAt: null, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count;
  }
}

export type InviteRow = NonNullable<Awaited<ReturnType<InvitesRepository['latestFor']>>>;
