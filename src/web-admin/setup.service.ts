import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { PrismaService } from '../prisma/prisma.service.js';
import { RedisService } from '../redis/redis.service.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { hashPassword } from '../auth/password.js';
import { presentUser } from '../auth/users.service.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** Arbitrary constant for pg_advisory_xact_lock: serialises first-admin creation across replicas. */
const SETUP_LOCK = 0x63675f73;

/**
 * First run without ADMIN_EMAIL/ADMIN_PASSWORD: while no admin exists, every starting replica makes a random
 * one-time setup token, stores only its SHA-256 in Redis (a hash shared by all replicas, so the link works
 * whichever replica answers) and logs the link `${PUBLIC_URL}/admin/setup?token=…`. The tokens stay valid until
 * the first admin is created, then all are deleted. Creating the admin is serialised by a Postgres advisory lock
 * and refused once any admin exists.
 */
@Injectable()
export class SetupService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('setup');

  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly repo: AuditRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get tokensKey(): string {
    return this.redis.key('setup-tokens');
  }

  private retry: NodeJS.Timeout | null = null;

  /** Start-up never fails because of this: with the database or Redis down it retries in the background. */
  async onApplicationBootstrap(): Promise<void> {
    // The ADMIN_EMAIL/ADMIN_PASSWORD bootstrap (UsersService) creates the admin itself: no link needed then.
    if (this.config.ADMIN_EMAIL && this.config.ADMIN_PASSWORD) return;
    await this.announce();
  }

  onModuleDestroy(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
  }

  private async announce(): Promise<void> {
    try {
      if (!(await this.needed())) return;
      const token = randomBytes(32).toString('base64url');
      await this.redis.client.hset(this.tokensKey, sha256(token), new Date().toISOString());
      const link = `${this.config.PUBLIC_URL.replace(/\/+$/, '')}/admin/setup?token=${token}`;
      this.logger.warn(
        { setupUrl: link },
        `No admin exists yet. Open this one-time link to create the first admin: ${link}`,
      );
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message },
        'could not check whether a first admin is needed; retrying in 10 s',
      );
      this.retry = setTimeout(() => void this.announce(), 10_000);
      this.retry.unref();
    }
  }

  async needed(): Promise<boolean> {
    return (await this.prisma.user.count({ where: { role: 'admin' } })) === 0;
  }

  private async tokenValid(token: string): Promise<boolean> {
    if (!token) return false;
    const hashes = await this.redis.client.hkeys(this.tokensKey);
    const mine = Buffer.from(sha256(token));
    // Compare against every stored hash in constant time per entry.
    return hashes.some((h) => h.length === mine.length && timingSafeEqual(Buffer.from(h), mine));
  }

  async createFirstAdmin(input: { token: string; email: string; password: string; name: string }) {
    if (!(await this.needed()))
      throw new ApiError(
        409,
        'An admin already exists; sign in instead.',
        'invalid_request_error',
        null,
        'setup_done',
      );
    if (!(await this.tokenValid(input.token)))
      throw ApiError.forbidden(
        'This setup link is not valid. Use the link the gateway logged at start (the newest one works).',
        'invalid_setup_token',
      );
    const email = input.email.toLowerCase();
    const passwordHash = await hashPassword(input.password);
    const user = await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SETUP_LOCK}::bigint)`;
      if ((await tx.user.count({ where: { role: 'admin' } })) > 0) return null;
      const existing = await tx.user.findUnique({ where: { email } });
      if (existing)
        return tx.user.update({
          where: { id: existing.id },
          data: { role: 'admin', passwordHash, disabled: false },
        });
      return tx.user.create({ data: { email, name: input.name, role: 'admin', passwordHash } });
    });
    if (!user)
      throw new ApiError(
        409,
        'An admin already exists; sign in instead.',
        'invalid_request_error',
        null,
        'setup_done',
      );
    await this.redis.client.del(this.tokensKey);
    await this.repo.audit({
      actorType: 'system',
      action: 'user.setup_admin',
      targetType: 'user',
      targetId: user.id,
    });
    this.logger.log({ userId: user.id }, 'first admin created through the setup link');
    return presentUser(user);
  }
}
