import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';

/** The Prisma door for the settings table (key → JSON value). */
@Injectable()
export class SettingsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async getSetting(key: string): Promise<unknown> {
    const s = await this.prisma.setting.findUnique({ where: { key } });
    return s?.value;
  }
  setSetting(key: string, value: Prisma.InputJsonValue) {
    return this.prisma.setting.upsert({ where: { key }, create: { key, value }, update: { value } });
  }
}
