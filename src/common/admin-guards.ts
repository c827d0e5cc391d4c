import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { RequestAuth } from './auth-context.js';
import { ApiError } from './errors.js';

/**
 * Who is calling the admin API: a session cookie or a bearer key, without checking the role (null without
 * credentials). The contract between the guards below, which every feature's admin routes use, and its one
 * implementation, `AdminAuthenticator` in auth/ (which needs sessions and keys). Provided by the global AuthModule.
 */
export abstract class AdminAuthentication {
  abstract viaPassport(ctx: ExecutionContext): Promise<RequestAuth | null>;
  /** Whether the headers name a usable key or a live session, before any body is read (common/body-gate.ts). */
  abstract credentialsValid(req: FastifyRequest): Promise<boolean>;
}

/** Any signed-in user (session) or key holder; members reach only the routes that allow them (own keys). */
@Injectable()
export class UserGuard implements CanActivate {
  constructor(@Inject(AdminAuthentication) private readonly authn: AdminAuthentication) {}
  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const auth = await this.authn.viaPassport(ctx);
    if (!auth) throw ApiError.unauthorized('Sign in or provide an admin API key.', 'unauthenticated');
    req.auth = auth;
    return true;
  }
}

/**
 * `/admin/api/*` guard: a session cookie of an admin, or `Authorization: Bearer` with an `admin`-scoped key of
 * an admin user. 401 without (valid) credentials, 403 for members and for `api`-scoped keys.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(AdminAuthentication) private readonly authn: AdminAuthentication) {}
  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const auth = await this.authn.viaPassport(ctx);
    if (!auth) throw ApiError.unauthorized('Sign in or provide an admin API key.', 'unauthenticated');
    if (auth.role !== 'admin') throw ApiError.forbidden('This needs an admin.', 'admin_required');
    if (auth.kind === 'key' && auth.scope !== 'admin') {
      throw ApiError.forbidden('This needs a key with the admin scope.', 'admin_scope_required');
    }
    req.auth = auth;
    return true;
  }
}
