import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { AccountStatus } from '../generated/prisma/enums.js';
import type { Account } from '../generated/prisma/client.js';

/** The only door of the accounts module to the database (accounts and their audit rows). No decisions here. */
export type AccountRow = Account;

export interface ClaimColumns {
  email: string | null;
  planType: string | null;
  accessTokenExpiresAt: Date | null;
}

export interface AuditEntry {
  actorType: 'user' | 'key' | 'cli' | 'system';
  actorId?: string | null;
  action: string;
  targetId?: string | null;
  details?: Record<string, unknown>;
}

@Injectable()
export class AccountsRepository {
  constructor(private readonly prisma: PrismaService) {}

  findById(id: string): Promise<AccountRow | null> {
    return this.prisma.account.findUnique({ where: { id } });
  }

  findByIdentity(chatgptAccountId: string, chatgptUserId: string): Promise<AccountRow | null> {
    return this.prisma.account.findUnique({
      where: { chatgptAccountId_chatgptUserId: { chatgptAccountId, chatgptUserId } },
    });
  }

  findAll(): Promise<AccountRow[]> {
    return this.prisma.account.findMany({ orderBy: [{ priority: 'desc' }, { createdAt: 'asc' }] });
  }

  /** Accounts leaving through one proxy endpoint (to flag those that share it). */
  findByProxyEndpoint(endpoint: string) {
    return this.prisma.account.findMany({
      where: { proxyEndpoint: endpoint },
      select: { id: true, proxyEndpoint: true },
    });
  }

  /** Enabled accounts out of the pool for their proxy: what the proxy probe retries. */
  findProxyUnreachable() {
    return this.prisma.account.findMany({ where: { enabled: true, status: 'proxy_unreachable' } });
  }

  findRoutable() {
    return this.prisma.account.findMany({
      where: { enabled: true, status: 'active' },
      select: {
        id: true,
        label: true,
        priority: true,
        weight: true,
        planType: true,
        chatgptAccountId: true,
        reservePercent: true,
        maxConcurrent: true,
      },
      orderBy: [{ priority: 'desc' }, { createdAt: 'asc' }],
    });
  }

  findForSweep() {
    return this.prisma.account.findMany({
      where: { enabled: true, status: 'active' },
      select: { id: true, accessTokenExpiresAt: true, lastRefreshAt: true },
    });
  }

  findNotSealedWith(keyId: string) {
    return this.prisma.account.findMany({
      where: { credentialsKeyId: { not: keyId } },
      select: { id: true, credentials: true, credentialsKeyId: true },
    });
  }

  /** Accounts whose proxy URL was sealed with another key than `keyId` (re-encryption). */
  findProxyNotSealedWith(keyId: string) {
    return this.prisma.account.findMany({
      where: { proxyKeyId: { not: null }, NOT: { proxyKeyId: keyId } },
      select: { id: true, proxyUrlSealed: true, proxyKeyId: true },
    });
  }

  create(data: Prisma.AccountUncheckedCreateInput): Promise<AccountRow> {
    return this.prisma.account.create({ data });
  }

  update(id: string, data: Prisma.AccountUncheckedUpdateInput): Promise<AccountRow> {
    return this.prisma.account.update({ where: { id }, data });
  }

  /**
   * Writes refreshed tokens only if the row's last refresh is older than `refreshedAt`: a process that read a
   * pending token set just before a newer refresh stored its own can never put the older (spent) refresh token
   * back. Returns the row when written, null when the row already had these or newer tokens.
   */
  async updateIfRefreshedBefore(
    id: string,
    refreshedAt: Date,
    data: Prisma.AccountUncheckedUpdateInput,
  ): Promise<AccountRow | null> {
    const { count } = await this.prisma.account.updateMany({
      where: { id, OR: [{ lastRefreshAt: null }, { lastRefreshAt: { lt: refreshedAt } }] },
      data,
    });
    return count ? this.findById(id) : null;
  }

  /** Replaces the credentials only if the row still holds `expected` (optimistic concurrency); true if written. */
  async replaceCredentialsIf(
    id: string,
    expected: { keyId: string; data: Uint8Array<ArrayBuffer> },
    next: { keyId: string; data: Uint8Array<ArrayBuffer> },
  ): Promise<boolean> {
    const r = await this.prisma.account.updateMany({
      where: { id, credentialsKeyId: expected.keyId, credentials: { equals: expected.data } },
      data: { credentials: next.data, credentialsKeyId: next.keyId },
    });
    return r.count === 1;
  }

  async setStatus(id: string, status: AccountStatus, reason: string | null): Promise<AccountRow | null> {
    const r = await this.prisma.account.updateMany({
      where: { id },
      data: { status, statusReason: reason, statusSince: new Date() },
    });
    return r.count ? this.findById(id) : null;
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.prisma.account.deleteMany({ where: { id } });
    return r.count === 1;
  }

  /** Requests and tokens per account since `since` (for the admin list). */
  async usageSince(since: Date): Promise<Map<string, { requests: number; tokens: number }>> {
    const rows = await this.prisma.usageRecord.groupBy({
      by: ['accountId'],
      where: { createdAt: { gte: since }, accountId: { not: null } },
      _count: { _all: true },
      _sum: { totalTokens: true },
    });
    const out = new Map<string, { requests: number; tokens: number }>();
    for (const r of rows)
      if (r.accountId) out.set(r.accountId, { requests: r._count._all, tokens: r._sum.totalTokens ?? 0 });
    return out;
  }

  async audit(e: AuditEntry): Promise<void> {
    await this.prisma.auditLog.create({
      data: {
        actorType: e.actorType,
        actorId: e.actorId ?? null,
        action: e.action,
        targetType: 'account',
        targetId: e.targetId ?? null,
        details: (e.details ?? undefined) as Prisma.InputJsonValue | undefined,
      },
    });
  }
}
