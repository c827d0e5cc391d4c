import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/**
 * Who is calling, attached to the request by the guards (`request.auth`). The contract between the keys module
 * (which fills it) and every other module (which reads it). Never holds the key itself.
 */
export interface KeyLimits {
  rpm: number | null;
  tpm: number | null;
  dailyTokenQuota: number | null;
  monthlyTokenQuota: number | null;
  /** Monthly budget in equivalent metered-API USD (docs/cost.md); null/absent = none. */
  monthlyBudgetUsd?: number | null;
}

export interface RequestAuth {
  /** 'key' for `Authorization: Bearer sk-cg-…` / `api-key`; 'session' for the admin cookie. */
  kind: 'key' | 'session';
  userId: string;
  email: string;
  role: 'admin' | 'member';
  /** Set when kind === 'key'. */
  keyId: string | null;
  scope: 'api' | 'admin' | null;
  /** Empty = every model. Exact ids or `gpt-5*`-style patterns. */
  allowedModels: string[];
  limits: KeyLimits;
  /** Limits the admin set on the key's user, shared by all the user's keys (null/absent = none). */
  userLimits?: KeyLimits | null;
  /** Set when kind === 'session': the session's cookie id (in memory only; never logged or returned). */
  sessionId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: RequestAuth;
  }
}

/** `@CurrentAuth() auth: RequestAuth` in a controller behind a guard. */
export const CurrentAuth = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): RequestAuth | undefined => {
    return ctx.switchToHttp().getRequest().auth;
  },
);

/** Limit columns (keys and users share the names) as numbers; null when none is set. */
export function limitsOf(r: {
  rpm: number | null;
  tpm: number | null;
  dailyTokenQuota: bigint | null;
  monthlyTokenQuota: bigint | null;
  monthlyBudgetUsd?: { toString(): string } | null;
}): Required<KeyLimits> {
  return {
    rpm: r.rpm,
    tpm: r.tpm,
    dailyTokenQuota: r.dailyTokenQuota === null ? null : Number(r.dailyTokenQuota),
    monthlyTokenQuota: r.monthlyTokenQuota === null ? null : Number(r.monthlyTokenQuota),
    monthlyBudgetUsd:
      r.monthlyBudgetUsd === null || r.monthlyBudgetUsd === undefined
        ? null
        : Number(r.monthlyBudgetUsd.toString()),
  };
}
