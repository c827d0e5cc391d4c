import { Global, Module } from '@nestjs/common';
import { AuditRepository } from './audit.repository.js';

/** The audit log's writer, used by users, keys, settings and setup. Global like the features that use it. */
@Global()
@Module({ providers: [AuditRepository], exports: [AuditRepository] })
export class AuditModule {}
