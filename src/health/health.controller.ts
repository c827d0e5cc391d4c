import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { PrismaService } from '../prisma/prisma.service.js';
import { RedisService } from '../redis/redis.service.js';
import { DrainState } from './drain-state.js';

const CHECK_TIMEOUT_MS = 1500;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly drain: DrainState,
  ) {}

  /** Liveness: the process is up and its event loop answers. */
  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: Postgres and Redis answer, and the process is not draining; 503 naming what is not ready. */
  @Get('readyz')
  async readyz(@Res() reply: FastifyReply) {
    if (this.drain.draining) {
      return reply.status(503).send({ status: 'draining', message: 'not ready: shutting down (draining)' });
    }
    const check = (name: 'postgres' | 'redis', fn: () => Promise<unknown>) => async () => {
      const s = this.indicators.check(name);
      try {
        await withTimeout(fn(), CHECK_TIMEOUT_MS);
        return s.up();
      } catch (err) {
        return s.down({ message: (err as Error).message || 'unreachable' });
      }
    };
    try {
      const result = await this.health.check([
        check('postgres', () => this.prisma.ping()),
        check('redis', () => this.redis.ping(CHECK_TIMEOUT_MS)),
      ]);
      return reply.status(200).send(result);
    } catch (err) {
      if (err instanceof ServiceUnavailableException) {
        const body = err.getResponse() as { error?: Record<string, unknown> };
        const down = Object.keys(body.error ?? {});
        return reply.status(503).send({ ...body, message: `not ready: ${down.join(', ')} down` });
      }
      throw err;
    }
  }
}
