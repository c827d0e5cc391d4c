import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { EgressDispatchers, ProxyUnreachableError, type ProxyDown } from '../upstream/egress-dispatchers.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { usageHeaders } from '../upstream/headers.js';
import { AccountsRepository } from './accounts.repository.js';
import { AccountsService } from './accounts.service.js';
import { TokenRefreshService } from './token-refresh.service.js';

/** A probe gets at most this long (through a live proxy the usage endpoint answers well within it). */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * `proxy_unreachable` both ways (issue 25 item 1; docs/reliability.md "Egress proxies"):
 * - down: any call of an account (inference, usage poll, refresh, revocation) whose own proxy refused or did not
 *   answer (EgressDispatchers.diagnose) takes the account out of the pool with that cause and the proxy endpoint;
 *   the request itself fails over to another account (the gateway sees a network error of this account).
 * - back: every PROXY_PROBE_SECONDS each such account is probed through its proxy with the call the CLI makes
 *   anyway (GET wham/usage with its token); any HTTP answer proves the path and puts it back to `active`.
 * Only from / to these states: a sign-in or plan problem is never hidden behind a proxy cause, nor cleared by it.
 */
@Injectable()
export class ProxyHealth implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('egress');
  private timer: NodeJS.Timeout | null = null;
  private probing = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly egress: EgressDispatchers,
    private readonly repo: AccountsRepository,
    private readonly accounts: AccountsService,
    private readonly refresher: TokenRefreshService,
    private readonly upstream: UpstreamClient,
  ) {
    egress.onProxyDown((id, down) => void this.down(id, down));
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.probeAll(), this.config.PROXY_PROBE_SECONDS * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async down(accountId: string, down: ProxyDown): Promise<void> {
    try {
      const row = await this.repo.findById(accountId);
      if (!row || row.status !== 'active' || row.proxyEndpoint !== down.endpoint) return;
      await this.repo.update(accountId, {
        lastError: `egress proxy: ${down.reason}`,
        lastErrorAt: new Date(),
      });
      await this.accounts.markStatus(accountId, 'proxy_unreachable', down.reason);
      this.logger.warn({ accountId, proxy: down.endpoint, reason: down.reason }, 'egress proxy unreachable');
    } catch (err) {
      this.logger.warn({ accountId, err: (err as Error).message }, 'could not mark the proxy unreachable');
    }
  }

  /** One round over the accounts out for their proxy (exported for tests); returns the ids put back. */
  async probeAll(): Promise<string[]> {
    if (this.probing) return [];
    this.probing = true;
    const back: string[] = [];
    try {
      for (const row of await this.repo.findProxyUnreachable()) {
        if (await this.probe(row.id)) back.push(row.id);
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'proxy probe round failed');
    } finally {
      this.probing = false;
    }
    return back;
  }

  private async probe(accountId: string): Promise<boolean> {
    try {
      const { row, tokens } = await this.refresher.load(accountId);
      if (row.status !== 'proxy_unreachable') return false;
      const proxyUrl = this.refresher.proxyUrlOf(row);
      // No account id: a failed probe must not count as a new "down" (the state is already that).
      const res = await this.upstream.getAbsolute(
        this.upstream.usagePath,
        usageHeaders(this.config, tokens.access_token, row.chatgptAccountId),
        PROBE_TIMEOUT_MS,
        { accountId: null, proxyUrl },
      );
      await this.accounts.markStatus(accountId, 'active', `egress proxy answers again (HTTP ${res.status})`);
      this.logger.log({ accountId, proxy: row.proxyEndpoint }, 'egress proxy answers again');
      return true;
    } catch (err) {
      if (!(err instanceof ProxyUnreachableError))
        this.logger.warn({ accountId, err: (err as Error).message }, 'proxy probe failed');
      return false;
    }
  }
}
