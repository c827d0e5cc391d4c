import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';
import { AccountsService } from './accounts.service.js';

/** `cg_accounts{status,enabled}`: how many accounts are in each state, counted from the database at scrape time. */
@Injectable()
export class AccountsMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly accounts: AccountsService,
  ) {}

  onModuleInit(): void {
    const accounts = this.accounts;
    new Gauge({
      name: 'cg_accounts',
      help: 'Subscription accounts by status and enabled flag',
      labelNames: ['status', 'enabled'],
      registers: [this.metrics.registry],
      async collect() {
        this.reset();
        const list = await accounts.list().catch(() => []);
        for (const a of list) this.inc({ status: a.status, enabled: String(a.enabled) });
      },
    });
  }
}
