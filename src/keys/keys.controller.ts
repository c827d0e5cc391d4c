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
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { parseOrThrow } from '../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { createKeySchema, updateKeySchema, UUID } from './dto/keys.dto.js';
import { ApiError } from '../common/errors.js';
import { UserGuard } from '../common/admin-guards.js';
import { KeysService } from './keys.service.js';

/** Virtual keys. Admins manage every key; members only their own `api` keys when the setting allows it. */
@ApiTags('keys')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@UseGuards(UserGuard)
@Controller('admin/api/keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Get()
  @ApiOperation({ summary: 'List keys (prefix, owner, limits, last use, usage this period)' })
  @ApiQuery({ name: 'userId', required: false, type: String, description: 'Admins: only this user’s keys' })
  async list(@CurrentAuth() auth: RequestAuth, @Query('userId') userId?: unknown) {
    if (userId !== undefined && userId !== '' && (typeof userId !== 'string' || !UUID.test(userId)))
      throw ApiError.badRequest("Invalid 'userId': give one user id (a UUID).", 'userId', 'invalid_value');
    return { object: 'list', data: await this.keys.list(auth, (userId as string) || undefined) };
  }

  @Post()
  @ApiOperation({ summary: 'Create a key; the response holds the full key, shown this once' })
  create(@CurrentAuth() auth: RequestAuth, @Body() body: unknown) {
    return this.keys.create(auth, parseOrThrow(createKeySchema, body));
  }

  @Get(':id')
  @ApiOperation({ summary: 'One key' })
  get(@CurrentAuth() auth: RequestAuth, @Param('id') id: string) {
    return this.keys.get(auth, id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Update name, allowed models, limits, expiry' })
  update(@CurrentAuth() auth: RequestAuth, @Param('id') id: string, @Body() body: unknown) {
    return this.keys.update(auth, id, parseOrThrow(updateKeySchema, body));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke (every replica within 1 s)' })
  revoke(@CurrentAuth() auth: RequestAuth, @Param('id') id: string) {
    return this.keys.revoke(auth, id);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @ApiOperation({ summary: 'New secret with the same settings; the old key is revoked' })
  rotate(@CurrentAuth() auth: RequestAuth, @Param('id') id: string) {
    return this.keys.rotate(auth, id);
  }
}
