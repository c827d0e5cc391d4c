import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { stringifySetCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { ApiError } from '../../common/errors.js';
import { readCookie, sessionCookie } from '../cookies.js';
import { OidcService, SsoRefused } from './oidc.service.js';

/** Binds a started SSO flow to the browser that started it. Lax: the IdP's redirect back is cross-site. */
const FLOW_COOKIE = 'cg_oidc';
const FLOW_PATH = '/admin/api/auth/oidc';

/** The `cg_oidc` cookie that binds a started flow to this browser (also set by an invite's SSO start). */
export function flowCookie(value: string, maxAge: number, secure: boolean): string {
  return stringifySetCookie({
    name: FLOW_COOKIE,
    value,
    path: FLOW_PATH,
    httpOnly: true,
    sameSite: 'lax',
    maxAge,
    secure,
  });
}

/** A web admin path to come back to: one leading `/`, no scheme or host (no open redirect). */
export function safeReturnPath(p: unknown): string | undefined {
  return typeof p === 'string' && /^\/(?![/\\])[A-Za-z0-9/_?=&.-]{0,200}$/.test(p) ? p : undefined;
}

class SsoMethodDto {
  @ApiProperty() label!: string;
  @ApiProperty({ description: 'Navigate the browser here to sign in' }) startUrl!: string;
}

export class SignInMethodsDto {
  @ApiProperty({ enum: ['all', 'admins', 'off'], description: 'Who may sign in with email and password' })
  local!: 'all' | 'admins' | 'off';
  @ApiProperty({ type: SsoMethodDto, nullable: true }) sso!: SsoMethodDto | null;
}

@ApiTags('auth')
@Controller('admin/api/auth')
export class OidcController {
  constructor(
    private readonly oidc: OidcService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get secure(): boolean {
    return this.config.PUBLIC_URL.startsWith('https:');
  }

  private flowCookie(value: string, maxAge: number): string {
    return flowCookie(value, maxAge, this.secure);
  }

  @Get('methods')
  @ApiOperation({ summary: 'How people sign in here (for the sign-in page; no credentials needed)' })
  @ApiOkResponse({ type: SignInMethodsDto })
  methods(): SignInMethodsDto {
    return {
      local: this.config.LOCAL_SIGNIN,
      sso: this.oidc.enabled ? { label: this.config.OIDC_LABEL, startUrl: `${FLOW_PATH}/start` } : null,
    };
  }

  @Get('oidc/start')
  @ApiOperation({ summary: 'Start single sign-on: redirects the browser to the identity provider' })
  @ApiQuery({
    name: 'reauth',
    required: false,
    description: '`1`: sign in again at the IdP (prompt=login, max_age) to confirm an admin action',
  })
  @ApiQuery({ name: 'return', required: false, description: 'web admin path to come back to, e.g. `/users`' })
  @ApiResponse({ status: 302, description: 'To the identity provider' })
  async start(
    @Res() reply: FastifyReply,
    @Query('reauth') reauth?: string,
    @Query('return') returnTo?: string,
  ) {
    this.requireEnabled();
    const { url, flowId } = await this.oidc.start({
      reauth: reauth === '1',
      returnTo: safeReturnPath(returnTo),
    });
    reply
      .header('set-cookie', this.flowCookie(flowId, this.config.OIDC_FLOW_TTL_SECONDS))
      .header('cache-control', 'no-store')
      .redirect(url, 302);
  }

  @Get('oidc/callback')
  @ApiOperation({
    summary: 'Where the identity provider sends the browser back; signs in, then redirects to the web admin',
  })
  @ApiResponse({ status: 302, description: 'To /admin/ (signed in) or /admin/?sso_error=<code>' })
  async callback(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    this.requireEnabled();
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const cookies = [this.flowCookie('', 0)];
    let target = `${this.config.PUBLIC_URL}/admin/`;
    try {
      const done = await this.oidc.finish(readCookie(req.headers.cookie, FLOW_COOKIE), query, req.ip);
      cookies.push(
        sessionCookie(done.sid, {
          secure: this.secure,
          maxAgeSeconds: this.config.SESSION_ABSOLUTE_SECONDS,
        }),
      );
      if (done.returnTo) target = `${this.config.PUBLIC_URL}/admin${done.returnTo}`;
    } catch (err) {
      if (!(err instanceof SsoRefused)) throw err;
      target += `${err.invite ? 'invite' : ''}?sso_error=${err.code}`;
    }
    reply.header('set-cookie', cookies).header('cache-control', 'no-store').redirect(target, 302);
  }

  private requireEnabled(): void {
    if (!this.oidc.enabled)
      throw ApiError.notFound(
        'Single sign-on is not configured on this gateway.',
        null,
        'sso_not_configured',
      );
  }
}
