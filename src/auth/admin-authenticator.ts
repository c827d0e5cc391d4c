import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import type { RequestAuth } from '../common/auth-context.js';
import { KeyCacheService } from '../keys/key-cache.service.js';
import { extractKey } from '../keys/key-format.js';
import { readCookie, SESSION_COOKIE } from './cookies.js';
import { isSameOrigin, SAFE_METHODS } from './csrf.js';
import { SessionsService } from './sessions.service.js';
import { UsersRepository } from './users.repository.js';
import { authenticateKey } from '../keys/api-key.guard.js';
import { PassportRunner } from '../common/passport-runner.js';
import type { AdminAuthentication } from '../common/admin-guards.js';

/**
 * Authenticates an admin API caller by session cookie or by a bearer key, without checking the role.
 * Cookie calls that change state must pass the Origin/Referer check (CSRF). Returns null without credentials.
 */
@Injectable()
export class AdminAuthenticator implements AdminAuthentication {
  private readonly passport = new PassportRunner('cg-admin', (req) => this.authenticate(req));

  constructor(
    private readonly cache: KeyCacheService,
    private readonly sessions: SessionsService,
    private readonly repo: UsersRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Runs `authenticate` as a passport strategy (what the guards call). */
  viaPassport(ctx: ExecutionContext): Promise<RequestAuth | null> {
    const http = ctx.switchToHttp();
    return this.passport.authenticate(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }

  async credentialsValid(req: FastifyRequest): Promise<boolean> {
    const key = extractKey(req.headers);
    if (key) return (await authenticateKey(this.cache, key)) !== null;
    const sid = readCookie(req.headers.cookie, SESSION_COOKIE);
    return !!sid && (await this.sessions.get(sid)) !== null;
  }

  async authenticate(req: FastifyRequest): Promise<RequestAuth | null> {
    const key = extractKey(req.headers);
    if (key) {
      const auth = await authenticateKey(this.cache, key);
      if (!auth)
        throw ApiError.unauthorized('Incorrect API key provided, or the key was revoked or expired.');
      // Inference (`api`) keys never reach /admin/api: a leaked one must not mint keys that outlive it.
      if (auth.scope !== 'admin')
        throw ApiError.forbidden('This needs a key with the admin scope.', 'admin_scope_required');
      return auth;
    }
    const sid = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (!sid) return null;
    const session = await this.sessions.get(sid);
    if (!session) throw ApiError.unauthorized('Your session expired. Sign in again.', 'session_expired');
    const user = await this.repo.findUser(session.userId);
    if (!user || user.disabled) {
      await this.sessions.destroy(sid);
      throw ApiError.unauthorized('Your session expired. Sign in again.', 'session_expired');
    }
    if (!SAFE_METHODS.has(req.method)) {
      const ok = isSameOrigin(
        { origin: req.headers.origin, referer: req.headers.referer, host: req.headers.host },
        this.config.PUBLIC_URL,
        req.protocol === 'https' ? 'https' : 'http',
      );
      if (!ok)
        throw ApiError.forbidden(
          'Cross-origin request refused (Origin does not match).',
          'csrf_origin_mismatch',
        );
    }
    return {
      kind: 'session',
      userId: user.id,
      email: user.email,
      role: user.role,
      keyId: null,
      scope: null,
      allowedModels: [],
      limits: { rpm: null, tpm: null, dailyTokenQuota: null, monthlyTokenQuota: null },
      sessionId: sid,
    };
  }
}
