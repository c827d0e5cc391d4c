import { Body, Controller, Delete, Get, Param, Patch, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { parseOrThrow } from '../common/validation.js';
import { CurrentAuth, type RequestAuth } from '../common/auth-context.js';
import { createUserSchema, deleteUserSchema, updateUserSchema } from './dto/users.dto.js';
import {
  CreateUserBodyDto,
  DeletedUserDto,
  DeleteUserBodyDto,
  UpdatedUserDto,
  UpdateUserBodyDto,
  UserDto,
  UserListDto,
} from './dto/users.response.js';
import { AdminGuard } from '../common/admin-guards.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@ApiBearerAuth()
@ApiCookieAuth('cg_session')
@UseGuards(AdminGuard)
@Controller('admin/api/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'List users' })
  @ApiOkResponse({ type: UserListDto })
  async list() {
    return { object: 'list', data: await this.users.list() };
  }

  @Post()
  @ApiOperation({
    summary: 'Create a user (admin or member)',
    description:
      'Creating an admin needs a signed-in session and your own password in `currentPassword` (403 `session_required` with an API key).',
  })
  @ApiBody({ type: CreateUserBodyDto })
  @ApiCreatedResponse({ type: UserDto })
  create(@CurrentAuth() auth: RequestAuth, @Body() body: unknown) {
    return this.users.create(auth, parseOrThrow(createUserSchema, body));
  }

  @Patch(':id')
  @ApiOperation({
    summary: "Update name, role, disabled, limits shared by the user's keys, or set a password",
    description:
      "Limits: `rpm`, `tpm`, `dailyTokenQuota`, `monthlyTokenQuota` (positive integers; null clears), shared by all of the user's keys. " +
      "`password` ends the user's sessions (yours except this one when it is your own); add `revokeKeys: true` to revoke all of their keys too. " +
      "Promoting to admin or setting an admin's password needs a signed-in session and your own password in `currentPassword`.",
  })
  @ApiBody({ type: UpdateUserBodyDto })
  @ApiOkResponse({ type: UpdatedUserDto })
  update(@CurrentAuth() auth: RequestAuth, @Param('id') id: string, @Body() body: unknown) {
    return this.users.update(auth, id, parseOrThrow(updateUserSchema, body));
  }

  @Delete(':id')
  @ApiOperation({
    summary:
      "Delete a user; revokes the user's keys. Deleting an admin needs a session and `currentPassword`",
  })
  @ApiBody({ type: DeleteUserBodyDto, required: false })
  @ApiOkResponse({ type: DeletedUserDto })
  remove(@CurrentAuth() auth: RequestAuth, @Param('id') id: string, @Body() body: unknown) {
    const { currentPassword } = parseOrThrow(deleteUserSchema, body ?? {});
    return this.users.remove(auth, id, currentPassword);
  }
}
