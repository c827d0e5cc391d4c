import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';

/** The Prisma door for the users table (keys: keys/keys.repository.ts; audit log: audit/). */
@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  findUser(id: string) {
    return this.prisma.user.findUnique({ where: { id } });
  }
  findUserByEmail(email: string) {
    return this.prisma.user.findUnique({ where: { email } });
  }
  listUsers() {
    return this.prisma.user.findMany({ orderBy: { createdAt: 'asc' } });
  }
  /** Active (not disabled) admins other than `exceptId`. */
  countOtherActiveAdmins(exceptId: string) {
    return this.prisma.user.count({ where: { role: 'admin', disabled: false, id: { not: exceptId } } });
  }
  createUser(data: Prisma.UserCreateInput) {
    return this.prisma.user.create({ data });
  }
  updateUser(id: string, data: Prisma.UserUpdateInput) {
    return this.prisma.user.update({ where: { id }, data });
  }
  deleteUser(id: string) {
    return this.prisma.user.delete({ where: { id } });
  }
}

export type UserRow = NonNullable<Awaited<ReturnType<UsersRepository['findUser']>>>;
