import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../common/admin-guards.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { parseOrThrow } from '../common/validation.js';
import { ApiError } from '../common/errors.js';
import { AccountRefreshError } from './account-errors.js';
import { AccountsService } from './accounts.service.js';
import type { AccountView } from './account-view.js';
import { PoolService } from './pool/pool.service.js';
import { usageView } from './pool/usage-view.js';
import { DowngradeStore } from './pool/downgrades.js';
import { actorOf } from './actor.js';
import { AccountDto, AccountListDto, PatchAccountDto, patchAccountSchema } from './dto/accounts.dto.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkId(id: string): string {
  if (!UUID.test(id))
    throw ApiError.notFound(`No account with id '${id.slice(0, 64)}'.`, 'id', 'account_not_found');
  return id;
}

/** Admin account API (thin: parse, call, shape). Never returns a token. */
@ApiTags('accounts')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('admin/api/accounts')
export class AccountsController {
  constructor(
    private readonly accounts: AccountsService,
    private readonly pool: PoolService,
    private readonly downgrades: DowngradeStore,
  ) {}

  /** Adds each account's usage state (windows, resets, as of) and served-model downgrades from the shared store. */
  private async withUsage<T extends AccountView>(views: T[]): Promise<T[]> {
    const ids = views.map((v) => v.id);
    const [states, downgrades] = await Promise.all([
      this.pool.usage.getMany(ids).catch(() => new Map()),
      this.downgrades.getMany(ids).catch(() => new Map()),
    ]);
    const now = Date.now();
    return views.map((v) => ({
      ...v,
      usage: usageView(states.get(v.id) ?? null, now, v.reservePercent),
      downgrades: downgrades.get(v.id) ?? [],
    }));
  }

  @Get()
  @ApiOperation({
    summary:
      'List subscription accounts with status, expiry, errors, cooldown, usage snapshot and today’s traffic',
  })
  @ApiOkResponse({ type: AccountListDto })
  async list() {
    return { object: 'list', data: await this.withUsage(await this.accounts.list()) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One account' })
  @ApiOkResponse({ type: AccountDto })
  async get(@Param('id') id: string) {
    return (await this.withUsage([await this.accounts.get(checkId(id))]))[0];
  }

  @Patch(':id')
  @ApiOperation({
    summary:
      'Change label, enabled, priority, weight, reservePercent, maxConcurrent, proxyUrl (audited; the proxy ' +
      'URL is stored sealed and shown as scheme://host:port only)',
  })
  @ApiOkResponse({ type: AccountDto })
  async patch(@Param('id') id: string, @Body() body: PatchAccountDto, @CurrentAuth() auth?: RequestAuth) {
    const patch = parseOrThrow(patchAccountSchema, body);
    return (await this.withUsage([await this.accounts.patch(checkId(id), patch, actorOf(auth))]))[0];
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Delete an account (its refresh token is revoked upstream, best effort)',
  })
  @ApiQuery({
    name: 'revoke',
    required: false,
    description: 'false skips the upstream revocation',
  })
  delete(@Param('id') id: string, @Query('revoke') revoke?: string, @CurrentAuth() auth?: RequestAuth) {
    return this.accounts.remove(checkId(id), actorOf(auth), revoke !== 'false');
  }

  @Post(':id/refresh')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Refresh the access token now (same lock and single flight as the worker)',
  })
  @ApiOkResponse({ type: AccountDto })
  async refresh(@Param('id') id: string, @CurrentAuth() auth?: RequestAuth) {
    try {
      return await this.accounts.refreshNow(checkId(id), actorOf(auth));
    } catch (err) {
      if (err instanceof AccountRefreshError) {
        throw err.permanent
          ? ApiError.conflict(err.message, null, 'account_needs_reauth')
          : ApiError.badGateway(err.message, 'account_refresh_failed');
      }
      throw err;
    }
  }
}
