import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Dispatcher } from 'undici';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { ApiError } from '../common/errors.js';
import { unavailableDependency } from '../common/dependency-errors.js';
import { AccountSource, type AccountCredentials, type PoolAccount } from '../accounts/account-source.js';
import { AccountRefreshError, AccountUnavailableError } from '../accounts/account-errors.js';
import { PoolService } from '../accounts/pool/pool.service.js';
import { AccountHealth } from '../accounts/pool/health.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { responsesHeaders } from '../upstream/headers.js';
import { withDeviceIdentity } from '../upstream/device-identity.js';
import { classifyUpstream, toApiError, usageSnapshotFromHeaders } from '../upstream/classify.js';
import { reportFromHeaders } from '../accounts/pool/usage-store.js';
import { ModelsService } from '../models/models.service.js';
import { Failover, type AttemptFailure } from './failover.js';
import { policyRefusal } from './policy-signals.js';

/** What goes upstream for one request, the same for every account it tries. */
export interface UpstreamRequest {
  model: string;
  threadId: string;
  payload: string;
  path?: string;
  accept?: string;
  turnState?: string | null;
  betaFeatures?: string | null;
}

export type AttemptResult = { res: Dispatcher.ResponseData } | AttemptFailure;

export function headerValue(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s ? s : null;
}

/** One account's try at a request: credentials, the upstream call, and the 401 recovery. */
@Injectable()
export class AccountAttempt {
  private readonly logger = new Logger('responses');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: AccountSource,
    private readonly pool: PoolService,
    private readonly upstream: UpstreamClient,
    private readonly models: ModelsService,
    private readonly health: AccountHealth,
    private readonly failover: Failover,
  ) {}

  /** One account: send, and on a 401 re-read the credentials, then refresh, and send again. */
  async send(account: PoolAccount, req: UpstreamRequest, signal: AbortSignal): Promise<AttemptResult> {
    let creds: AccountCredentials;
    try {
      creds = await this.accounts.getCredentials(account.id);
    } catch (err) {
      if (err instanceof AccountRefreshError || err instanceof AccountUnavailableError)
        return { error: err, final: false };
      const down = unavailableDependency(err);
      if (down)
        return {
          error: ApiError.unavailable(`The gateway's ${down} is unavailable.`, `${down}_unavailable`),
          final: false,
        };
      throw err;
    }
    // 401 recovery as the Codex CLI does it (docs/upstream-protocol.md §6): after the first 401 re-read the
    // stored credentials (another replica may have refreshed) and retry; after the second, refresh (single flight
    // across replicas, keyed on the stale token) and retry; a third 401 moves on to another account.
    for (let unauthorized = 0; ;) {
      let res: Dispatcher.ResponseData;
      try {
        res = await this.upstream.request(
          'POST',
          req.path ?? '/responses',
          responsesHeaders(this.config, {
            accessToken: creds.accessToken,
            chatgptAccountId: creds.chatgptAccountId,
            threadId: req.threadId,
            model: req.model,
            turnState: req.turnState,
            betaFeatures: req.betaFeatures,
            accept: req.accept,
          }),
          // The account's own device identity on model requests (upstream/device-identity.ts), never a client's.
          (req.path ?? '/responses') === '/responses'
            ? withDeviceIdentity(req.payload, {
                installationId: creds.installationId,
                threadId: req.threadId,
              })
            : req.payload,
          signal,
          // The account's own egress proxy, if it has one (upstream/egress-dispatchers.ts).
          { accountId: account.id, proxyUrl: creds.proxyUrl },
        );
      } catch (err) {
        if (signal.aborted) throw err;
        if (err instanceof ApiError) return { error: err, final: true }; // at capacity: no other account helps
        this.logger.warn({ account: account.label, err: (err as Error).message }, 'upstream network error');
        this.health.failure(account.id, account.label);
        return {
          error: ApiError.unavailable('The upstream could not be reached.', 'upstream_unreachable'),
          final: false,
        };
      }
      const snapshot = usageSnapshotFromHeaders(res.headers);
      if (snapshot) void this.accounts.recordUsageSnapshot(account.id, snapshot).catch(() => {});
      const report = reportFromHeaders(res.headers);
      if (report) void this.pool.recordUsage(account, report).catch(() => {});
      if (res.statusCode === 200) {
        this.models.noteUpstreamEtag(headerValue(res.headers['x-models-etag']));
        return { res };
      }
      const text = await res.body.text().catch(() => '');
      const c = classifyUpstream(res.statusCode, text, res.headers);
      this.logger.warn(
        { account: account.label, status: res.statusCode, errorClass: c.errorClass, code: c.code },
        'upstream refused',
      );
      // A content-policy verdict is about the prompt, not the account: as it is to the client, no cooldown, no
      // circuit, no other account (gateway/policy-signals.ts); the key's refusals are counted (policy-guard.ts).
      const refusal = policyRefusal(c, text);
      if (refusal) return { error: refusal, final: true };
      if (c.errorClass === 'auth' && unauthorized < 2) {
        unauthorized++;
        try {
          creds =
            unauthorized === 1
              ? await this.accounts.reloadCredentials(account.id)
              : await this.accounts.refreshAfterUnauthorized(account.id, creds.accessToken);
          continue;
        } catch (err) {
          return { error: err instanceof ApiError ? err : toApiError(c), final: false };
        }
      }
      return this.failover.afterFailure(account, c);
    }
  }
}
