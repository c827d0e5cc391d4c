import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../common/errors.js';
import type { RequestAuth } from '../common/auth-context.js';
import { KeyCacheService, type CachedKey } from './key-cache.service.js';
import { extractKey, hashKey, isWellFormedKey } from './key-format.js';
import { PassportRunner } from '../common/passport-runner.js';

/**
 * Resolves a virtual key to RequestAuth, or null when it is unusable (unknown, revoked, expired, user disabled).
 * A key suspended for content-policy refusals (gateway/policy-guard.ts) throws 403 `key_suspended_policy`.
 */
export async function authenticateKey(
  cache: KeyCacheService,
  key: string | null,
): Promise<RequestAuth | null> {
  if (!key || !isWellFormedKey(key)) return null;
  const k = await cache.lookup(hashKey(key));
  if (!k || !usable(k, Date.now())) return null;
  if (k.suspendedAt !== null) throw suspendedError();
  cache.touch(k.keyId);
  return {
    kind: 'key',
    userId: k.userId,
    email: k.email,
    role: k.role,
    keyId: k.keyId,
    scope: k.scope,
    allowedModels: k.allowedModels,
    limits: k.limits,
    userLimits: k.userLimits,
  };
}

/** The answer to every request of a key suspended for content-policy refusals, until an admin lifts it. */
export function suspendedError(): ApiError {
  return ApiError.forbidden(
    'This key is suspended: too many of its requests were refused by the upstream on content-policy grounds. ' +
      'An administrator can lift the suspension.',
    'key_suspended_policy',
  );
}

export function usable(k: CachedKey, now: number): boolean {
  return !k.revoked && !k.userDisabled && (k.expiresAt === null || k.expiresAt > now);
}

/**
 * `/v1/*` guard: `Authorization: Bearer sk-cg-…` or `api-key: sk-cg-…`. Both `api` and `admin` keys pass.
 * Sets `request.auth`; anything else is 401 `invalid_api_key` (same message for every cause).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly passport: PassportRunner;

  constructor(cache: KeyCacheService) {
    this.passport = new PassportRunner('cg-api-key', async (req) => {
      const key = extractKey(req.headers);
      if (!key) {
        throw ApiError.unauthorized(
          "You didn't provide an API key. Provide it as 'Authorization: Bearer YOUR_KEY' or in the 'api-key' header.",
        );
      }
      const auth = await authenticateKey(cache, key);
      if (!auth)
        throw ApiError.unauthorized('Incorrect API key provided, or the key was revoked or expired.');
      return auth;
    });
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const http = ctx.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const auth = await this.passport.authenticate(req, http.getResponse<FastifyReply>());
    if (!auth) throw ApiError.unauthorized();
    req.auth = auth;
    return true;
  }
}
