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
import {
  ApiBearerAuth,
  ApiBody,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { parseOrThrow } from '../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { UUID } from '../common/validation.js';
import { createKeySchema, updateKeySchema } from './dto/keys.dto.js';
import {
  CreateKeyBodyDto,
  CreatedKeyDto,
  KeyDto,
  KeyListDto,
  KeyWithUsageDto,
  UpdateKeyBodyDto,
} from './dto/keys.response.js';
import { ApiError } from '../common/errors.js';
import { UserGuard } from '../common/admin-guards.js';
import { LimitsService } from '../limits/limits.service.js';
import { KeysService } from './keys.service.js';
import { KeySuspensions } from './key-suspension.service.js';

/** Virtual keys. Admins manage every key; members only their own `api` keys when the setting allows it. */
@ApiTags('keys')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@UseGuards(UserGuard)
@Controller('admin/api/keys')
export class KeysController {
  constructor(
    private readonly keys: KeysService,
    private readonly limits: LimitsService,
    private readonly suspensions: KeySuspensions,
  ) {}

  /** A key with its usage this period (the key itself comes from KeysService, the counters from limits/). */
  private async withUsage<K extends { id: string }>(key: K) {
    return { ...key, usage: await this.limits.usage(key.id) };
  }

  @Get()
  @ApiOperation({ summary: 'List keys (prefix, owner, limits, last use, usage this period)' })
  @ApiOkResponse({ type: KeyListDto })
  @ApiQuery({ name: 'userId', required: false, type: String, description: 'Admins: only this user’s keys' })
  async list(@CurrentAuth() auth: RequestAuth, @Query('userId') userId?: unknown) {
    if (userId !== undefined && userId !== '' && (typeof userId !== 'string' || !UUID.test(userId)))
      throw ApiError.badRequest("Invalid 'userId': give one user id (a UUID).", 'userId', 'invalid_value');
    const keys = await this.keys.list(auth, (userId as string) || undefined);
    return { object: 'list', data: await Promise.all(keys.map((k) => this.withUsage(k))) };
  }

  @Post()
  @ApiOperation({ summary: 'Create a key; the response holds the full key, shown this once' })
  @ApiBody({ type: CreateKeyBodyDto })
  @ApiCreatedResponse({ type: CreatedKeyDto })
  create(@CurrentAuth() auth: RequestAuth, @Body() body: unknown) {
    return this.keys.create(auth, parseOrThrow(createKeySchema, body));
  }

  @Get(':id')
  @ApiOperation({ summary: 'One key' })
  @ApiOkResponse({ type: KeyWithUsageDto })
  async get(@CurrentAuth() auth: RequestAuth, @Param('id') id: string) {
    return this.withUsage(await this.keys.get(auth, id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Update name, allowed models, limits, expiry' })
  @ApiBody({ type: UpdateKeyBodyDto })
  @ApiOkResponse({ type: KeyDto })
  update(@CurrentAuth() auth: RequestAuth, @Param('id') id: string, @Body() body: unknown) {
    return this.keys.update(auth, id, parseOrThrow(updateKeySchema, body));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke (every replica within 1 s)' })
  @ApiOkResponse({ type: KeyDto })
  revoke(@CurrentAuth() auth: RequestAuth, @Param('id') id: string) {
    return this.keys.revoke(auth, id);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @ApiOperation({ summary: 'New secret with the same settings; the old key is revoked' })
  @ApiOkResponse({ type: CreatedKeyDto })
  rotate(@CurrentAuth() auth: RequestAuth, @Param('id') id: string) {
    return this.keys.rotate(auth, id);
  }

  @Post(':id/lift-suspension')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Admins: lift a content-policy suspension (the key works again; its refusal count restarts)',
  })
  @ApiOkResponse({ type: KeyDto })
  liftSuspension(@CurrentAuth() auth: RequestAuth, @Param('id') id: string) {
    return this.suspensions.lift(auth, id);
  }
}
