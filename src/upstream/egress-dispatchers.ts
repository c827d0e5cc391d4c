import { connect } from 'node:net';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from 'undici';
import { socksDispatcher } from 'fetch-socks';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.schema.js';
import { parseProxyUrl, type ProxyTarget } from './egress.js';

/** A proxy that refused or did not answer: its endpoint (never the credential) and why, in words. */
export interface ProxyDown {
  endpoint: string;
  reason: string;
}

/** Thrown by upstream calls that failed because the account's own proxy is dead or refusing. */
export class ProxyUnreachableError extends Error {
  constructor(readonly down: ProxyDown) {
    super(`egress proxy ${down.endpoint} refuses or does not answer (${down.reason})`);
  }
}

/** How long the liveness check of a proxy (a plain TCP connect to it) waits, after a failed call. */
const PROBE_CONNECT_MS = 3_000;
/** Environment variables undici's EnvHttpProxyAgent reads (the default for accounts without their own proxy). */
const ENV_PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

export function envProxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return ENV_PROXY_VARS.some((k) => !!env[k]);
}

interface Entry {
  target: ProxyTarget;
  dispatcher: Dispatcher;
  accounts: Set<string>;
}

/**
 * The one place that decides how an account's upstream calls leave the process (issue 25 item 1): inference,
 * usage polls, token refresh, code exchange, revocation all ask here for the account's dispatcher.
 * - own proxy: an undici ProxyAgent (http/https proxies; always a CONNECT tunnel, so a proxy never sees a request
 *   or its bearer token in clear) or a fetch-socks Agent (socks5, credentials as RFC 1929 user/password);
 * - no own proxy: undici's EnvHttpProxyAgent when HTTPS_PROXY/HTTP_PROXY are set (NO_PROXY honoured), else null:
 *   the caller's direct path.
 * Dispatchers are cached per proxy URL and shared by the accounts that use it; when the last account moves away
 * from a URL (changed, cleared, deleted) its dispatcher is closed.
 */
@Injectable()
export class EgressDispatchers implements OnModuleDestroy {
  private readonly logger = new Logger('egress');
  private readonly byUrl = new Map<string, Entry>();
  private readonly urlOf = new Map<string, string | null>();
  private readonly env: Dispatcher | null;
  private readonly listeners: ((accountId: string, down: ProxyDown) => void)[] = [];

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.env = envProxyConfigured()
      ? new EnvHttpProxyAgent({ ...this.agentOptions(), proxyTunnel: true })
      : null;
  }

  private agentOptions() {
    return {
      keepAliveTimeout: 30_000,
      connect: { timeout: this.config.UPSTREAM_CONNECT_TIMEOUT_MS },
      headersTimeout: this.config.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      bodyTimeout: this.config.UPSTREAM_IDLE_TIMEOUT_MS,
    };
  }

  private build(t: ProxyTarget): Dispatcher {
    if (t.scheme === 'socks5')
      return socksDispatcher(
        {
          type: 5,
          host: t.host,
          port: t.port,
          ...(t.username ? { userId: t.username, password: t.password ?? '' } : {}),
        },
        this.agentOptions(),
      );
    return new ProxyAgent({ uri: t.url, proxyTunnel: true, ...this.agentOptions() });
  }

  /** True when calls without an own proxy go through the environment's proxy. */
  get usesEnvDefault(): boolean {
    return this.env !== null;
  }

  /**
   * The dispatcher for one account's calls, or null for the caller's direct path. `accountId` null: a call for no
   * stored account yet (a login's code exchange with the proxy given at login time). A URL that does not parse
   * (it was checked when stored) is refused rather than silently sent direct.
   */
  forAccount(accountId: string | null, proxyUrl: string | null): Dispatcher | null {
    if (accountId !== null) this.track(accountId, proxyUrl);
    if (!proxyUrl) return this.env;
    return this.entry(proxyUrl).dispatcher;
  }

  private entry(proxyUrl: string): Entry {
    let e = this.byUrl.get(proxyUrl);
    if (!e) {
      const target = parseProxyUrl(proxyUrl);
      e = { target, dispatcher: this.build(target), accounts: new Set() };
      this.byUrl.set(proxyUrl, e);
    }
    return e;
  }

  private track(accountId: string, proxyUrl: string | null): void {
    const before = this.urlOf.get(accountId);
    if (before === proxyUrl) return;
    this.urlOf.set(accountId, proxyUrl);
    if (proxyUrl) this.entry(proxyUrl).accounts.add(accountId);
    if (before) this.drop(accountId, before);
  }

  /** The account is gone or its proxy changed (any process learns it through the accounts change event). */
  forget(accountId: string): void {
    const before = this.urlOf.get(accountId);
    this.urlOf.delete(accountId);
    if (before) this.drop(accountId, before);
  }

  private drop(accountId: string, url: string): void {
    const e = this.byUrl.get(url);
    if (!e) return;
    e.accounts.delete(accountId);
    if (e.accounts.size > 0) return;
    this.byUrl.delete(url);
    // In-flight streams finish; the pool refuses new work and closes when they are done.
    e.dispatcher.close().catch(() => e.dispatcher.destroy().catch(() => {}));
    this.logger.log({ proxy: e.target.endpoint }, 'egress proxy no longer used; its connections close');
  }

  /** Number of cached proxy dispatchers (tests, metrics-free on purpose: no endpoint goes into a label). */
  get cachedCount(): number {
    return this.byUrl.size;
  }

  onProxyDown(listener: (accountId: string, down: ProxyDown) => void): void {
    this.listeners.push(listener);
  }

  /**
   * After a failed call of an account with its own proxy: whether the proxy is to blame. A proxy that answered
   * the tunnel with a 4xx (407 bad credentials, 403 refused) or a SOCKS refusal is refusing; any other network
   * error is checked with a plain TCP connect to the proxy: no answer there = unreachable. A 5xx on CONNECT and
   * errors behind a live proxy are the upstream's trouble (transient: circuit only). Listeners (the accounts
   * store) get the account and the cause; returns it, or null when the proxy is not to blame.
   */
  async diagnose(accountId: string | null, proxyUrl: string | null, err: unknown): Promise<ProxyDown | null> {
    if (!proxyUrl) return null;
    let target: ProxyTarget;
    try {
      target = parseProxyUrl(proxyUrl);
    } catch {
      return null;
    }
    const reason = refusal(err) ?? (await unreachable(target));
    if (!reason) return null;
    const down = { endpoint: target.endpoint, reason };
    if (accountId) for (const l of this.listeners) l(accountId, down);
    return down;
  }

  async onModuleDestroy(): Promise<void> {
    const all = [...this.byUrl.values()].map((e) => e.dispatcher);
    if (this.env) all.push(this.env);
    this.byUrl.clear();
    await Promise.all(all.map((d) => d.close().catch(() => d.destroy().catch(() => {}))));
  }
}

function messagesOf(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; i++) {
    if (typeof e.message === 'string') parts.push(e.message);
    e = e.cause as typeof e;
  }
  return parts.join(' | ');
}

/** A proxy that answered and said no; null when the error is not such an answer. */
export function refusal(err: unknown): string | null {
  const m = messagesOf(err);
  const http = /Proxy response \((\d{3})\)/.exec(m);
  if (http) {
    const status = Number(http[1]);
    if (status >= 400 && status < 500)
      return status === 407 ? 'HTTP 407, credentials refused' : `HTTP ${status} to CONNECT`;
    return null;
  }
  if (/Socks5 Authentication failed|no accepted authentication type/i.test(m))
    return 'SOCKS5 authentication refused';
  if (/Socks5 proxy rejected connection/i.test(m)) return 'SOCKS5 connection refused';
  return null;
}

/** A plain TCP connect to the proxy: null when it answers, else what went wrong (a code, never the URL). */
export function unreachable(t: Pick<ProxyTarget, 'host' | 'port'>): Promise<string | null> {
  return new Promise((resolve) => {
    const s = connect({ host: t.host, port: t.port });
    const done = (r: string | null) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(PROBE_CONNECT_MS, () => done('connect timeout'));
    s.once('connect', () => done(null));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'connect error'));
  });
}
