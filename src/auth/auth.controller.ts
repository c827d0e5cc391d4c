import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCookieAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { parseOrThrow } from '../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { readCookie, SESSION_COOKIE, sessionCookie, setSessionCookie } from './cookies.js';
import { isSameOrigin } from './csrf.js';
import { loginSchema } from './dto/users.dto.js';
import { UserGuard } from '../common/admin-guards.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { UsersRepository } from './users.repository.js';
import { SignInService } from './sign-in.service.js';
import { SessionsService } from './sessions.service.js';
import { presentUser } from './users.service.js';
import { LoggedOutDto, LoginBodyDto, SignedInDto, WhoAmIDto } from './dto/users.response.js';

@ApiTags('auth')
@Controller('admin/api/auth')
export class AuthController {
  constructor(
    private readonly login: SignInService,
    private readonly sessions: SessionsService,
    private readonly repo: UsersRepository,
    private readonly auditLog: AuditRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get secure(): boolean {
    return this.config.PUBLIC_URL.startsWith('https:');
  }

  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with email and password; sets the session cookie' })
  @ApiBody({ type: LoginBodyDto })
  @ApiOkResponse({ type: SignedInDto })
  async signIn(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ) {
    // Login CSRF: a browser that sends an Origin must send ours.
    if (req.headers.origin && !this.sameOrigin(req)) {
      throw ApiError.forbidden(
        'Cross-origin request refused (Origin does not match).',
        'csrf_origin_mismatch',
      );
    }
    const { email, password } = parseOrThrow(loginSchema, body);
    const { sid, user } = await this.login.login(email, password, req.ip);
    setSessionCookie(reply, sid, this.config);
    return { user };
  }

  @Post('logout')
  @HttpCode(200)
  @ApiCookieAuth('cg_session')
  @ApiOperation({ summary: 'End the session' })
  @ApiOkResponse({ type: LoggedOutDto })
  async signOut(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const sid = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (sid) {
      if (!this.sameOrigin(req)) {
        throw ApiError.forbidden(
          'Cross-origin request refused (Origin does not match).',
          'csrf_origin_mismatch',
        );
      }
      const s = await this.sessions.get(sid);
      await this.sessions.destroy(sid);
      if (s)
        await this.auditLog.audit({
          actorType: 'user',
          actorId: s.userId,
          action: 'auth.logout',
          targetType: 'user',
          targetId: s.userId,
        });
    }
    reply.header('set-cookie', sessionCookie('', { secure: this.secure, maxAgeSeconds: 0 }));
    return { ok: true };
  }

  @Get('me')
  @UseGuards(UserGuard)
  @ApiBearerAuth()
  @ApiCookieAuth('cg_session')
  @ApiOperation({ summary: 'Who is signed in' })
  @ApiOkResponse({ type: WhoAmIDto })
  async me(@CurrentAuth() auth: RequestAuth) {
    const user = await this.repo.findUser(auth.userId);
    if (!user) throw ApiError.unauthorized('Your session expired. Sign in again.', 'session_expired');
    return { user: presentUser(user), via: auth.kind, scope: auth.scope };
  }

  private sameOrigin(req: FastifyRequest): boolean {
    return isSameOrigin(
      { origin: req.headers.origin, referer: req.headers.referer, host: req.headers.host },
      this.config.PUBLIC_URL,
      req.protocol === 'https' ? 'https' : 'http',
    );
  }
}
