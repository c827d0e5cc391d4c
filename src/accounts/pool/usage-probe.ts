import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/config.schema.js';
import { UpstreamClient } from '../../upstream/upstream.client.js';
import { usageHeaders } from '../../upstream/headers.js';
import { AccountSource, type PoolAccount } from '../account-source.js';
import { reportFromWham, type UsageReport } from './usage-store.js';

/** A read gets at most this long (or the upstream first-byte timeout, when shorter). */
export const USAGE_READ_TIMEOUT_MS = 10_000;

export interface UsageRead {
  status: number;
  report: UsageReport | null;
  /** Epoch ms just before the GET went out. */
  readAt: number;
}

/**
 * One `GET {chatgpt base}/wham/usage` of one account (no request spent): used by the poller's schedule and by
 * routing, which asks it when its estimate of an account is unsure (pool.service.ts, `probe`). The stored token as
 * it is: a read never refreshes (refresh tokens are single-use; only the refresh job and a 401 recovery spend them).
 */
@Injectable()
export class UsageProbe {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: AccountSource,
    private readonly upstream: UpstreamClient,
  ) {}

  async read(a: PoolAccount, timeoutMs = USAGE_READ_TIMEOUT_MS): Promise<UsageRead> {
    const creds = await this.accounts.reloadCredentials(a.id);
    const readAt = Date.now();
    const res = await this.upstream.getAbsolute(
      this.upstream.usagePath,
      usageHeaders(this.config, creds.accessToken, creds.chatgptAccountId),
      Math.min(timeoutMs, this.config.UPSTREAM_FIRST_BYTE_TIMEOUT_MS),
      // Through the account's own egress proxy; a dead one marks the account (accounts/proxy-health.ts).
      { accountId: a.id, proxyUrl: creds.proxyUrl },
    );
    return { status: res.status, report: res.status === 200 ? reportFromWham(res.body) : null, readAt };
  }
}
