import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signAccessToken, signIdToken, type TokenClaims } from './jwt.ts';
import { buildEvents, encodeEvent, type ResponseSpec, type SseEvent } from './sse.ts';
import { WindowsModel, windowsTurn, type WindowsOptions, type WindowsTurn } from './windows.ts';

export type { ResponseSpec } from './sse.ts';

/**
 * A fake of the OpenAI OAuth server and the Codex backend that behaves as docs/upstream-protocol.md describes: PKCE S256,
 * rotating single-use refresh tokens with reuse detection, device-code login, /models, /responses over SSE
 * with the headers and body fields the real backend requires, scripted faults per account, and a record of
 * every request for assertions. Independent of src/ on purpose: it checks the gateway from outside.
 * Run alone: `npm run fake-upstream`.
 */
export type Fault =
  | { kind: 'unauthorized' }
  /** A 200 stream that fails before any output: response.created, in_progress, then response.failed with `code`. */
  | { kind: 'failed_in_stream'; code: string; message?: string; resetsInSeconds?: number }
  /**
   * 403 variants: `usage_not_included` (plan without Codex, JSON), `cloudflare_block` (Cloudflare's HTML block
   * page, as the CLI's api_bridge recognises it), `challenge` (a bot challenge: `cf-mitigated: challenge`, HTML),
   * `account_deactivated` and `token_invalidated` (JSON error codes; the shape is our assumption), `other`
   * (`{"detail":"Forbidden"}`).
   */
  | {
      kind: 'forbidden';
      variant:
        | 'usage_not_included'
        | 'cloudflare_block'
        | 'challenge'
        | 'account_deactivated'
        | 'token_invalidated'
        | 'other';
    }
  /**
   * A content-policy refusal as an HTTP error before any stream: 400 with `error.code` (default `cyber_policy`, as
   * the Codex CLI's api_bridge reads it; the rest of the envelope is our assumption, like the other 400s).
   */
  | { kind: 'policy_refusal'; code?: string; status?: number }
  | { kind: 'usage_limit'; resetsInSeconds: number }
  | { kind: 'usage_not_included' }
  | { kind: 'rate_limited'; retryAfterSeconds?: number }
  | { kind: 'server_error'; status?: 500 | 502 | 503 }
  /** An HTML 404 from the edge, as during an outage (codex-lb#2058): not a verdict on the account. */
  | { kind: 'not_found' }
  /** The connection is reset before any answer (TCP RST). */
  | { kind: 'reset' }
  | { kind: 'slow_first_byte'; delayMs: number }
  | { kind: 'cut_stream'; afterEvents: number }
  /** Sends the first `afterEvents` events, then nothing (the socket stays open) until the client gives up. */
  | { kind: 'stall'; afterEvents: number }
  /** Accepts the request and never answers (no status line): a half-open peer. */
  | { kind: 'half_open' }
  /** Garbage in the middle of the stream (not SSE, broken JSON), then the normal events. */
  | { kind: 'malformed' }
  /** One event of `bytes` size (an output_text delta) before the normal events. */
  | { kind: 'huge_event'; bytes: number }
  /** Sends every event but the terminal one at once, then waits `ms` before the terminal event. */
  | { kind: 'stall_before_terminal'; ms: number };

/** A /responses/compact answer: its `usage` (none by default) and a delay before it is written. */
export interface CompactSpec {
  usage?: { input_tokens: number; output_tokens: number; total_tokens: number };
  delayMs?: number;
}

export type TokenFault =
  | { kind: 'server_error' }
  /** An HTML 404 from the issuer's edge during an outage. */
  | { kind: 'not_found' }
  | {
      kind: 'permanent';
      code: 'refresh_token_expired' | 'refresh_token_reused' | 'refresh_token_invalidated';
    }
  | { kind: 'delay'; ms: number };

export interface FakeAccount {
  chatgptAccountId: string;
  chatgptUserId: string;
  email: string;
  planType: string;
  accessToken: string;
  refreshToken: string;
  idToken: string;
  accessExpiresAt: Date;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  rawHeaderNames: string[];
  body: any;
  /** The body exactly as it arrived (the prompt cache is per byte prefix). */
  rawBody: string;
  chatgptAccountId?: string;
  /** The peer address of the connection it came on (an egress proxy test binds its proxies to other loopbacks). */
  remoteAddress?: string;
  at: number;
}

/** How /responses streams are written (see FakeUpstream.configure). */
export interface StreamOptions {
  /** Pause between SSE events after the first three (ms); 0 = write them back to back. Default 2. */
  eventDelayMs: number;
  /** Hold the stream open this long before the terminal event (a long generation). Default 0. */
  holdMs: number;
  /** Per request, by its last user text: how long to hold before the terminal event (wins over holdMs). */
  holdFor?: (lastUserText: string) => number;
  /** Write the body in tiny pieces of 1–7 bytes, cut anywhere (inside UTF-8 characters too). Default false. */
  splitWrites: boolean;
  /** How each event is written as SSE (default `encodeEvent`): to send CRLF, odd spacing, extra fields. */
  encode?: (e: SseEvent) => string;
  /** Keep a record of every request in `requests` (off for long benchmarks). Default true. */
  record: boolean;
  /** The answer when no respondWith() spec is queued. */
  defaultSpec: ResponseSpec;
}

const DEFAULT_STREAM: StreamOptions = {
  eventDelayMs: 2,
  holdMs: 0,
  splitWrites: false,
  record: true,
  defaultSpec: {},
};

export interface UsageHeaders {
  primaryUsedPercent?: number;
  primaryWindowMinutes?: number;
  primaryResetAfterSeconds?: number;
  secondaryUsedPercent?: number;
  secondaryWindowMinutes?: number;
  secondaryResetAfterSeconds?: number;
}

interface AccountState {
  claims: TokenClaims;
  accessTtl: number;
  access: string;
  accessExp: number;
  refresh: string;
  /** Refresh tokens already rotated away: using one again is reuse. */
  spent: Set<string>;
  /** Tokens of a login ended by reuse detection: refused as invalidated. */
  revoked: Set<string>;
  invalidated: boolean;
  faults: Fault[];
  usage: UsageHeaders;
  /** Epoch ms until which a served usage-limit fault keeps the primary window at 100 % (headers and wham/usage). */
  limitedUntil: number;
  /** When set, this account's answers report this model in response.model (a silent downgrade). */
  servedModel: string | null;
}

const CLIENT_ID = 'app_EMoamEEZ73f0CkXaXp7hrann';
const REDIRECTS = ['http://127.0.0.1:1455/auth/callback', 'http://localhost:1455/auth/callback'];
const REQUIRED_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
/** Parameters the Codex backend refuses (docs/upstream-protocol.md §4, peers). */
const UNSUPPORTED = [
  'max_output_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'frequency_penalty',
  'presence_penalty',
  'user',
  'metadata',
  'stream_options',
  'safety_identifier',
  'prompt_cache_retention',
  'previous_response_id',
  'seed',
  'truncation',
  'top_logprobs',
  'conversation',
  'prompt',
  'background',
];

export const FAKE_MODELS = [
  { slug: 'gpt-5.5', display_name: 'gpt-5.5', levels: ['low', 'medium', 'high', 'xhigh'], priority: 1 },
  { slug: 'gpt-5.6-codex', display_name: 'gpt-5.6-codex', levels: ['low', 'medium', 'high'], priority: 2 },
  {
    slug: 'gpt-5.5-mini',
    display_name: 'gpt-5.5-mini',
    levels: ['minimal', 'low', 'medium', 'high'],
    priority: 3,
  },
];

const b64url = (b: Buffer) => b.toString('base64url');
const token = (p: string) => `${p}_${b64url(randomBytes(24))}`;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `buf` in pieces of 1–7 bytes, each its own socket write after a turn of the event loop. */
async function writeSplit(res: ServerResponse, buf: Buffer): Promise<void> {
  for (let at = 0; at < buf.length && !res.destroyed;) {
    const n = 1 + Math.floor(Math.random() * 7);
    res.write(buf.subarray(at, at + n));
    at += n;
    await new Promise((r) => setImmediate(r));
  }
}

export class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  openStreams = 0;
  /** ETag of GET /models, repeated as `x-models-etag` on /responses answers (change it to simulate a new catalog). */
  modelsEtag = '"fake-models-1"';
  /** When set, GET /models answers this status (a broken catalog endpoint). */
  modelsFailStatus: number | null = null;
  /** Turn states issued on /responses answers, in order (`x-codex-turn-state`). */
  readonly turnStates: string[] = [];
  /** Highest number of /responses streams open at once (since start or the last reset()). */
  maxOpenStreams = 0;
  private server!: Server;
  private port = 0;
  private readonly accounts = new Map<string, AccountState>();
  private readonly specs: ResponseSpec[] = [];
  private readonly compactSpecs: CompactSpec[] = [];
  /**
   * encrypted_content → the chatgpt account that minted it. Like the real backend, another account cannot read
   * it: a replayed item minted elsewhere is a 400 `invalid_encrypted_content` (docs/upstream-protocol.md §10).
   */
  private readonly minted = new Map<string, string>();
  /** Opaque items refused as another account's (since start or the last reset()). */
  refusedOpaque = 0;
  private readonly tokenFaults: { fault: TokenFault; accountId?: string }[] = [];
  private readonly codes = new Map<
    string,
    { challenge: string; redirectUri: string; accountId: string; exp: number; used: boolean }
  >();
  private readonly devices = new Map<
    string,
    { userCode: string; approvedFor?: string; verifier?: string; code?: string }
  >();
  /** Every refresh_token grant received, with how it was answered (`ok` or the error code), in order. */
  private refreshes: { accountId?: string; outcome?: string }[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly nextFaults: Fault[] = [];

  /** Connections open to the fake now (to check a client leaks none). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** A fault for the next /responses request(s), whichever account sends them. */
  faultNext(fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.nextFaults.push(fault);
  }
  private streamOpts: StreamOptions = { ...DEFAULT_STREAM };
  private whamOutage: number | 'hang' | null = null;
  /** Windows mode (windows.ts): null (off) unless enableWindows() was called; reset() turns it off. */
  windows: WindowsModel | null = null;

  /** Turns windows mode on: per-plan usage windows in scaled time, usage limits, and the prompt-cache model. */
  enableWindows(opts: Partial<WindowsOptions> = {}): WindowsModel {
    this.windows = new WindowsModel(opts);
    return this.windows;
  }

  /** host: the address to listen on (default 127.0.0.1; `0.0.0.0` for gateways in containers on a bridge). */
  static async start(opts: { port?: number; host?: string } = {}): Promise<FakeUpstream> {
    const f = new FakeUpstream();
    f.server = createServer((req, res) => {
      f.handle(req, res).catch((err) => {
        if (!res.headersSent) json(res, 500, { detail: `fake upstream error: ${(err as Error).message}` });
        else res.destroy();
      });
    });
    f.server.on('connection', (s) => {
      f.sockets.add(s);
      s.on('close', () => f.sockets.delete(s));
    });
    await new Promise<void>((resolve) => f.server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
    f.port = (f.server.address() as AddressInfo).port;
    return f;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get codexBaseUrl(): string {
    return `${this.url}/backend-api/codex`;
  }

  /** Creates an account with tokens valid now (the state after a successful login). */
  addAccount(
    o: Partial<Pick<FakeAccount, 'chatgptAccountId' | 'chatgptUserId' | 'email' | 'planType'>> & {
      accessTtlSeconds?: number;
    } = {},
  ): FakeAccount {
    const n = this.accounts.size + 1;
    const claims: TokenClaims = {
      chatgptAccountId: o.chatgptAccountId ?? `acct-${randomUUID().slice(0, 8)}`,
      chatgptUserId: o.chatgptUserId ?? `user-${n}`,
      email: o.email ?? `user${n}@example.test`,
      planType: o.planType ?? 'pro',
    };
    const st: AccountState = {
      claims,
      accessTtl: o.accessTtlSeconds ?? 3600,
      access: '',
      accessExp: 0,
      refresh: token('rt'),
      spent: new Set(),
      revoked: new Set(),
      invalidated: false,
      faults: [],
      usage: {},
      limitedUntil: 0,
      servedModel: null,
    };
    this.accounts.set(claims.chatgptAccountId, st);
    return this.issue(st);
  }

  private issue(st: AccountState): FakeAccount {
    st.access = signAccessToken(st.claims, st.accessTtl);
    st.accessExp = Date.now() + st.accessTtl * 1000;
    return {
      ...st.claims,
      accessToken: st.access,
      refreshToken: st.refresh,
      idToken: signIdToken(st.claims),
      accessExpiresAt: new Date(st.accessExp),
    };
  }

  /** Changes how /responses answers are written; `reset()` restores the defaults. */
  configure(o: Partial<StreamOptions>): void {
    this.streamOpts = { ...this.streamOpts, ...o };
  }

  respondWith(spec: ResponseSpec, times = 1): void {
    for (let i = 0; i < times; i++) this.specs.push(spec);
  }

  /** How the next /responses/compact answers are written (default: at once, without `usage`). */
  compactWith(spec: CompactSpec, times = 1): void {
    for (let i = 0; i < times; i++) this.compactSpecs.push(spec);
  }

  fault(chatgptAccountId: string, fault: Fault, times = 1): void {
    const st = this.mustAccount(chatgptAccountId);
    for (let i = 0; i < times; i++) st.faults.push(fault);
  }

  /** Faults on refresh_token grants; with `chatgptAccountId`, only that account's refreshes consume them. */
  tokenFault(fault: TokenFault, times = 1, chatgptAccountId?: string): void {
    for (let i = 0; i < times; i++) this.tokenFaults.push({ fault, accountId: chatgptAccountId });
  }

  revokeAccessToken(chatgptAccountId: string): void {
    this.mustAccount(chatgptAccountId).access = `revoked_${randomBytes(4).toString('hex')}`;
  }

  /**
   * `wham/usage` answers with `status` (404, 500, 503) or never answers ('hang') until set back to null: an
   * outage of the usage endpoint while /responses keeps working.
   */
  setWhamOutage(outage: number | 'hang' | null): void {
    this.whamOutage = outage;
  }

  /** The account's answers report `model` as the one that served them (null: the requested one). */
  serveModelAs(chatgptAccountId: string, model: string | null): void {
    this.mustAccount(chatgptAccountId).servedModel = model;
  }

  setUsageHeaders(chatgptAccountId: string, u: UsageHeaders): void {
    this.mustAccount(chatgptAccountId).usage = u;
  }

  requestsTo(pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix));
  }

  refreshCount(chatgptAccountId?: string): number {
    return this.refreshes.filter((r) => !chatgptAccountId || r.accountId === chatgptAccountId).length;
  }

  /** How the refresh grants were answered: `{ ok: 3, refresh_token_reused: 1 }` (in flight ones as `pending`). */
  refreshOutcomes(chatgptAccountId?: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.refreshes)
      if (!chatgptAccountId || r.accountId === chatgptAccountId)
        out[r.outcome ?? 'pending'] = (out[r.outcome ?? 'pending'] ?? 0) + 1;
    return out;
  }

  /** The refresh token the account's login holds now (the one a client must present next). */
  currentRefreshToken(chatgptAccountId: string): string {
    return this.mustAccount(chatgptAccountId).refresh;
  }

  /** False once reuse detection (or a revocation) ended the account's login. */
  loginValid(chatgptAccountId: string): boolean {
    return !this.mustAccount(chatgptAccountId).invalidated;
  }

  async waitForStreamsClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.openStreams === 0) return true;
      await sleep(10);
    }
    return this.openStreams === 0;
  }

  /** Plays the user's browser on the authorize page: returns the URL the browser ends on. */
  async authorize(authorizeUrl: string, account: Pick<FakeAccount, 'chatgptAccountId'>): Promise<string> {
    const u = new URL(authorizeUrl);
    const target = new URL(u.pathname + u.search, this.url);
    target.searchParams.set('__fake_account', account.chatgptAccountId);
    const r = await fetch(target, { redirect: 'manual' });
    const loc = r.headers.get('location');
    if (r.status !== 302 || !loc) throw new Error(`authorize refused (${r.status}): ${await r.text()}`);
    return loc;
  }

  approveDevice(userCode: string, account: Pick<FakeAccount, 'chatgptAccountId'>): void {
    for (const d of this.devices.values()) {
      if (d.userCode === userCode) {
        d.approvedFor = account.chatgptAccountId;
        return;
      }
    }
    throw new Error(`no device login with user code ${userCode}`);
  }

  reset(): void {
    this.requests.length = 0;
    this.specs.length = 0;
    this.compactSpecs.length = 0;
    this.tokenFaults.length = 0;
    this.refreshes = [];
    this.turnStates.length = 0;
    this.modelsEtag = '"fake-models-1"';
    this.modelsFailStatus = null;
    for (const st of this.accounts.values()) {
      st.faults = [];
      st.servedModel = null;
    }
    this.nextFaults.length = 0;
    this.streamOpts = { ...DEFAULT_STREAM };
    this.maxOpenStreams = this.openStreams;
    this.refusedOpaque = 0;
    this.windows = null;
  }

  /** The 400 the backend answers when an input item's encrypted content was minted by another account. */
  private foreignOpaque(input: any[], accountId: string): { error: Record<string, unknown> } | null {
    for (const item of input) {
      const enc = item?.encrypted_content;
      if (typeof enc !== 'string') continue;
      const owner = this.minted.get(enc);
      if (owner && owner !== accountId) {
        this.refusedOpaque++;
        return {
          error: {
            message: `The encrypted content ${enc.slice(0, 4)}...${enc.slice(-4)} could not be verified.`,
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_encrypted_content',
          },
        };
      }
    }
    return null;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private mustAccount(id: string): AccountState {
    const st = this.accounts.get(id);
    if (!st) throw new Error(`fake upstream: unknown account ${id}`);
    return st;
  }

  private byAccess(bearer: string | undefined): AccountState | undefined {
    const t = bearer?.replace(/^Bearer\s+/i, '');
    if (!t) return undefined;
    for (const st of this.accounts.values())
      if (st.access === t && !st.invalidated && st.accessExp > Date.now()) return st;
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    const raw = await readBody(req);
    const ct = req.headers['content-type'] ?? '';
    let body: any = raw;
    if (ct.includes('application/json') && raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return json(res, 400, { detail: 'Invalid JSON body' });
      }
    } else if (ct.includes('application/x-www-form-urlencoded'))
      body = Object.fromEntries(new URLSearchParams(raw));
    const headers: Record<string, string> = {};
    const rawHeaderNames: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      rawHeaderNames.push(req.rawHeaders[i]);
      headers[req.rawHeaders[i].toLowerCase()] = req.rawHeaders[i + 1];
    }
    const query = Object.fromEntries(u.searchParams);
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query,
      headers,
      rawHeaderNames,
      body,
      rawBody: raw,
      remoteAddress: req.socket.remoteAddress,
      at: Date.now(),
    };
    if (this.streamOpts.record && (u.pathname !== '/oauth/authorize' || !query.__fake_account))
      this.requests.push(rec);
    const route = `${req.method} ${u.pathname}`;
    switch (route) {
      case 'GET /oauth/authorize':
        return this.authorizeEndpoint(query, res);
      case 'POST /oauth/token':
        return this.tokenEndpoint(rec, res);
      case 'POST /__fake/configure':
        // For the fake running as its own process (bench): the same as configure().
        this.configure(body && typeof body === 'object' ? body : {});
        return json(res, 200, this.streamOpts);
      case 'GET /__fake/stats': {
        const stats = { openStreams: this.openStreams, maxOpenStreams: this.maxOpenStreams };
        if (query.reset) this.maxOpenStreams = this.openStreams;
        return json(res, 200, stats);
      }
      case 'POST /oauth/revoke':
        return this.revokeEndpoint(rec, res);
      case 'POST /api/accounts/deviceauth/usercode':
        return this.deviceUserCode(body, res);
      case 'POST /api/accounts/deviceauth/token':
        return this.deviceToken(body, res);
      case 'GET /backend-api/codex/models':
        return this.models(rec, res);
      case 'POST /backend-api/codex/responses':
        return this.responses(rec, req, res);
      case 'POST /backend-api/codex/responses/compact':
        return this.compact(rec, res);
      case 'GET /backend-api/wham/usage':
        return this.whamUsage(rec, res);
      default:
        return json(res, 404, { detail: 'Not Found' });
    }
  }

  private authorizeEndpoint(q: Record<string, string>, res: ServerResponse): void {
    const redirect = q.redirect_uri;
    if (q.client_id !== CLIENT_ID || !REDIRECTS.includes(redirect)) {
      return json(res, 400, {
        error: 'invalid_request',
        error_description: 'unknown client or redirect_uri',
      });
    }
    const back = (params: Record<string, string>) => {
      res.writeHead(302, { location: `${redirect}?${new URLSearchParams(params)}` });
      res.end();
    };
    const scopes = (q.scope ?? '').split(' ');
    if (q.response_type !== 'code') return back({ error: 'unsupported_response_type', state: q.state ?? '' });
    if (q.code_challenge_method !== 'S256' || !q.code_challenge) {
      return back({
        error: 'invalid_request',
        error_description: 'PKCE S256 required',
        state: q.state ?? '',
      });
    }
    if (!REQUIRED_SCOPES.every((s) => scopes.includes(s)))
      return back({ error: 'invalid_scope', state: q.state ?? '' });
    if (!q.state) return back({ error: 'invalid_request', error_description: 'state required' });
    const accountId = q.__fake_account;
    if (!accountId || !this.accounts.has(accountId)) return back({ error: 'access_denied', state: q.state });
    const code = token('ac');
    this.codes.set(code, {
      challenge: q.code_challenge,
      redirectUri: redirect,
      accountId,
      exp: Date.now() + 60_000,
      used: false,
    });
    back({ code, scope: scopes.join(' '), state: q.state });
  }

  private async tokenEndpoint(rec: RecordedRequest, res: ServerResponse): Promise<void> {
    const ct = rec.headers['content-type'] ?? '';
    const b = rec.body ?? {};
    if (b.grant_type === 'authorization_code') {
      if (!ct.includes('application/x-www-form-urlencoded'))
        return json(res, 400, { error: 'invalid_request' });
      const entry = this.codes.get(b.code);
      if (!entry || entry.used || entry.exp < Date.now() || b.client_id !== CLIENT_ID) {
        return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid authorization code' });
      }
      entry.used = true;
      rec.chatgptAccountId = entry.accountId;
      if (b.redirect_uri !== entry.redirectUri)
        return json(res, 400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
      const challenge = createHash('sha256')
        .update(String(b.code_verifier ?? ''))
        .digest('base64url');
      if (challenge !== entry.challenge)
        return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      const st = this.mustAccount(entry.accountId);
      st.refresh = token('rt');
      st.invalidated = false;
      const t = this.issue(st);
      return json(res, 200, {
        id_token: t.idToken,
        access_token: t.accessToken,
        refresh_token: t.refreshToken,
        expires_in: st.accessTtl,
        token_type: 'Bearer',
      });
    }
    if (b.grant_type === 'refresh_token') {
      if (!ct.includes('application/json')) return json(res, 400, { error: 'invalid_request' });
      const st = [...this.accounts.values()].find(
        (s) =>
          s.refresh === b.refresh_token || s.spent.has(b.refresh_token) || s.revoked.has(b.refresh_token),
      );
      const grant: { accountId?: string; outcome?: string } = { accountId: st?.claims.chatgptAccountId };
      rec.chatgptAccountId = st?.claims.chatgptAccountId;
      this.refreshes.push(grant);
      const fi = this.tokenFaults.findIndex(
        (f) => !f.accountId || f.accountId === st?.claims.chatgptAccountId,
      );
      const fault = fi >= 0 ? this.tokenFaults.splice(fi, 1)[0].fault : undefined;
      if (fault?.kind === 'delay') await sleep(fault.ms);
      if (fault?.kind === 'server_error') {
        grant.outcome = 'server_error';
        return json(res, 502, { detail: 'Bad Gateway' });
      }
      if (fault?.kind === 'not_found') {
        grant.outcome = 'not_found';
        res.writeHead(404, { 'content-type': 'text/html' });
        return void res.end('<html><body>404 Not Found</body></html>');
      }
      const fail = (code: string) => {
        grant.outcome = code;
        return json(res, 401, {
          error: {
            code,
            message: `Your refresh token ${code.replace(/_/g, ' ').replace('refresh token ', '')}.`,
            type: 'invalid_request_error',
          },
        });
      };
      if (fault?.kind === 'permanent') return fail(fault.code);
      if (b.client_id !== CLIENT_ID) {
        grant.outcome = 'invalid_client';
        return json(res, 400, { error: 'invalid_client' });
      }
      if (!st) return fail('refresh_token_invalidated');
      if (st.revoked.has(b.refresh_token) || st.invalidated) return fail('refresh_token_invalidated');
      if (st.spent.has(b.refresh_token)) {
        // Reuse of a rotated token: the real server treats it as theft and ends the whole login.
        st.invalidated = true;
        st.revoked.add(st.refresh);
        st.access = `revoked_${randomBytes(4).toString('hex')}`;
        return fail('refresh_token_reused');
      }
      st.spent.add(st.refresh);
      st.refresh = token('rt');
      grant.outcome = 'ok';
      const t = this.issue(st);
      return json(res, 200, {
        id_token: t.idToken,
        access_token: t.accessToken,
        refresh_token: t.refreshToken,
        expires_in: st.accessTtl,
      });
    }
    return json(res, 400, { error: 'unsupported_grant_type' });
  }

  /**
   * Token revocation as the CLI's logout sends it (docs/upstream-protocol.md §1): JSON `{token, token_type_hint, client_id}`.
   * A revoked refresh token can no longer be used (refused as invalidated). Other body shapes are refused: the
   * real endpoint's handling of them is unknown, so the fake holds the gateway to the captured shape.
   */
  private revokeEndpoint(rec: RecordedRequest, res: ServerResponse): void {
    if (!(rec.headers['content-type'] ?? '').includes('application/json'))
      return json(res, 415, { error: 'invalid_request', error_description: 'expected a JSON body' });
    const b = rec.body ?? {};
    if (typeof b.token !== 'string' || !b.token) return json(res, 400, { error: 'invalid_request' });
    if (b.token_type_hint === 'refresh_token' && b.client_id !== CLIENT_ID)
      return json(res, 400, { error: 'invalid_client' });
    for (const st of this.accounts.values()) {
      if (st.refresh === b.token) {
        rec.chatgptAccountId = st.claims.chatgptAccountId;
        st.revoked.add(b.token);
        st.invalidated = true;
      }
    }
    json(res, 200, {});
  }

  /** Whether a refresh token was revoked through /oauth/revoke (or ended by reuse detection). */
  isRevoked(refreshToken: string): boolean {
    return [...this.accounts.values()].some((st) => st.revoked.has(refreshToken));
  }

  private deviceUserCode(b: any, res: ServerResponse): void {
    if (b?.client_id !== CLIENT_ID)
      return json(res, 400, { error: { code: 'invalid_client', message: 'unknown client' } });
    const deviceAuthId = `deviceauth_${randomBytes(8).toString('hex')}`;
    const userCode = `${randomBytes(2).toString('hex')}-${randomBytes(2).toString('hex')}`.toUpperCase();
    this.devices.set(deviceAuthId, { userCode });
    json(res, 200, {
      device_auth_id: deviceAuthId,
      user_code: userCode,
      interval: '1',
      expires_at: new Date(Date.now() + 15 * 60_000).toISOString(),
    });
  }

  private deviceToken(b: any, res: ServerResponse): void {
    const d = this.devices.get(b?.device_auth_id);
    if (!d || d.userCode !== b?.user_code)
      return json(res, 404, { error: { code: 'deviceauth_not_found', message: 'unknown device login' } });
    if (!d.approvedFor)
      return json(res, 403, { error: { code: 'deviceauth_authorization_pending', message: 'pending' } });
    if (!d.code) {
      d.verifier = b64url(randomBytes(32));
      d.code = token('ac');
      this.codes.set(d.code, {
        challenge: createHash('sha256').update(d.verifier).digest('base64url'),
        redirectUri: `${this.url}/deviceauth/callback`,
        accountId: d.approvedFor,
        exp: Date.now() + 60_000,
        used: false,
      });
    }
    json(res, 200, {
      authorization_code: d.code,
      code_challenge: createHash('sha256').update(d.verifier!).digest('base64url'),
      code_verifier: d.verifier,
    });
  }

  private checkClientHeaders(h: Record<string, string>): string | null {
    for (const name of ['originator', 'user-agent', 'version'])
      if (!h[name]) return `Missing required header: ${name}`;
    if (/undici|node-fetch|node\b/i.test(h['user-agent'])) return 'Unsupported client';
    return null;
  }

  private models(rec: RecordedRequest, res: ServerResponse): void {
    const st = this.byAccess(rec.headers.authorization);
    if (!st) return json(res, 401, { detail: 'Unauthorized' });
    rec.chatgptAccountId = st.claims.chatgptAccountId;
    const bad = this.checkClientHeaders(rec.headers);
    if (bad) return json(res, 400, { detail: bad });
    if (!rec.query.client_version) return json(res, 400, { detail: 'client_version is required' });
    if (this.modelsFailStatus) return json(res, this.modelsFailStatus, { detail: 'models unavailable' });
    json(
      res,
      200,
      {
        // Every field Codex CLI 0.169 needs to decode an entry (docs/upstream-protocol.md §7), so the real CLI accepts the catalog.
        models: FAKE_MODELS.map((m) => ({
          slug: m.slug,
          display_name: m.display_name,
          description: `${m.display_name} (fake)`,
          default_reasoning_level: 'medium',
          supported_reasoning_levels: m.levels.map((effort) => ({ effort, description: effort })),
          shell_type: 'shell_command',
          visibility: 'list',
          supported_in_api: true,
          priority: m.priority,
          prefer_websockets: true,
          support_verbosity: true,
          default_verbosity: 'low',
          apply_patch_tool_type: 'freeform',
          truncation_policy: { mode: 'tokens', limit: 10000 },
          supports_parallel_tool_calls: true,
          experimental_supported_tools: [],
          context_window: 272000,
          max_context_window: 272000,
          availability_nux: null,
          upgrade: null,
          model_messages: { instructions_template: `You are ${m.display_name}, a fake coding model.` },
        })),
      },
      { etag: this.modelsEtag },
    );
  }

  /** POST /responses/compact: unary JSON in, `{"output": [items]}` out (docs/upstream-protocol.md §8). */
  private async compact(rec: RecordedRequest, res: ServerResponse): Promise<void> {
    const h = rec.headers;
    const st = this.byAccess(h.authorization);
    if (!st) return json(res, 401, { detail: 'Could not validate your credentials' });
    rec.chatgptAccountId = st.claims.chatgptAccountId;
    const bad = this.checkClientHeaders(h);
    if (bad) return json(res, 400, { detail: bad });
    const b = rec.body;
    if (!b || typeof b !== 'object' || typeof b.model !== 'string')
      return json(res, 400, { detail: 'Model is required' });
    if (!Array.isArray(b.input)) return json(res, 400, { detail: 'Input must be a list' });
    const foreign = this.foreignOpaque(b.input, st.claims.chatgptAccountId);
    if (foreign) return json(res, 400, foreign);
    const fault = st.faults.shift();
    if (fault?.kind === 'usage_limit')
      return json(res, 429, {
        error: {
          type: 'usage_limit_reached',
          message: 'The usage limit has been reached',
          resets_in_seconds: fault.resetsInSeconds,
        },
      });
    if (fault?.kind === 'server_error')
      return json(res, fault.status ?? 500, { detail: 'Internal Server Error' });
    const spec = this.compactSpecs.shift() ?? {};
    if (spec.delayMs) await sleep(spec.delayMs);
    if (res.destroyed) return;
    const turnState = h['x-codex-turn-state'] || `ts_${randomBytes(6).toString('hex')}`;
    json(
      res,
      200,
      {
        ...(spec.usage ? { usage: spec.usage } : {}),
        output: [
          {
            type: 'message',
            role: 'user',
            content: [{ type: 'input_text', text: `Summary of ${b.input.length} items (fake compaction).` }],
          },
        ],
      },
      { 'x-codex-turn-state': turnState, 'x-request-id': randomUUID() },
    );
  }

  private forbidden(variant: Extract<Fault, { kind: 'forbidden' }>['variant'], res: ServerResponse): void {
    const html = (headers: Record<string, string>, page: string) => {
      res.writeHead(403, {
        'content-type': 'text/html; charset=UTF-8',
        'cf-ray': '8f00fake0000-AMS',
        ...headers,
      });
      res.end(page);
    };
    switch (variant) {
      case 'usage_not_included':
        return json(res, 403, {
          error: { type: 'usage_not_included', message: 'Your plan does not include Codex.' },
        });
      case 'cloudflare_block':
        return html(
          {},
          '<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>' +
            '<h1>Sorry, you have been blocked</h1><p>You are unable to access chatgpt.com</p></body></html>',
        );
      case 'challenge':
        return html(
          { 'cf-mitigated': 'challenge' },
          '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body></body></html>',
        );
      case 'token_invalidated':
        return json(res, 403, {
          error: { code: 'token_invalidated', message: 'Your session has been invalidated.', type: null },
        });
      case 'account_deactivated':
        return json(res, 403, {
          error: { code: 'account_deactivated', message: 'This account has been deactivated.', type: null },
        });
      default:
        return json(res, 403, { detail: 'Forbidden' });
    }
  }

  /**
   * GET /backend-api/wham/usage (fact sheet §9.3): the account's windows as set by setUsageHeaders — the same
   * numbers the /responses headers carry — with `limit_window_seconds`, `reset_after_seconds` and `reset_at`.
   */
  private whamUsage(rec: RecordedRequest, res: ServerResponse): void {
    if (this.whamOutage === 'hang') return; // never answers: the caller's timeout
    if (this.whamOutage !== null) return json(res, this.whamOutage, { detail: 'Unavailable' });
    const st = this.byAccess(rec.headers.authorization);
    if (!st) return json(res, 401, { detail: 'Unauthorized' });
    if (rec.headers['chatgpt-account-id'] !== st.claims.chatgptAccountId)
      return json(res, 401, { detail: 'chatgpt-account-id does not match the token' });
    if (this.windows)
      return json(res, 200, {
        plan_type: st.claims.planType,
        rate_limit: this.windows.whamRateLimit(st.claims.chatgptAccountId, st.claims.planType),
        credits: { has_credits: false, unlimited: false, balance: '0' },
      });
    const u = this.usageNow(st);
    const now = Math.floor(Date.now() / 1000);
    const win = (used: number | undefined, minutes: number, after: number) => ({
      used_percent: used ?? 1,
      limit_window_seconds: minutes * 60,
      reset_after_seconds: after,
      reset_at: now + after,
    });
    const primary = win(
      u.primaryUsedPercent,
      u.primaryWindowMinutes ?? 300,
      u.primaryResetAfterSeconds ?? 9000,
    );
    const secondary = win(
      u.secondaryUsedPercent,
      u.secondaryWindowMinutes ?? 10080,
      u.secondaryResetAfterSeconds ?? 500000,
    );
    const limitReached = primary.used_percent >= 100 || secondary.used_percent >= 100;
    return json(res, 200, {
      plan_type: st.claims.planType,
      rate_limit: {
        allowed: !limitReached,
        limit_reached: limitReached,
        primary_window: primary,
        secondary_window: secondary,
      },
      credits: { has_credits: false, unlimited: false, balance: '0' },
    });
  }

  /** A usage limit was answered: the primary window stays full until its reset, as the real backend reports it. */
  private limitUntil(st: AccountState, resetsInSeconds: number): AccountState {
    st.limitedUntil = Date.now() + resetsInSeconds * 1000;
    return st;
  }

  /** The account's windows now: the configured ones, the primary at 100 % while a served usage limit lasts. */
  private usageNow(st: AccountState): UsageHeaders {
    const left = st.limitedUntil - Date.now();
    if (left <= 0) return st.usage;
    return { ...st.usage, primaryUsedPercent: 100, primaryResetAfterSeconds: Math.ceil(left / 1000) };
  }

  private usageHeaders(st: AccountState): Record<string, string> {
    const u = this.usageNow(st);
    return {
      'x-codex-primary-used-percent': String(u.primaryUsedPercent ?? 1),
      'x-codex-primary-window-minutes': String(u.primaryWindowMinutes ?? 300),
      'x-codex-primary-reset-after-seconds': String(u.primaryResetAfterSeconds ?? 9000),
      'x-codex-secondary-used-percent': String(u.secondaryUsedPercent ?? 1),
      'x-codex-secondary-window-minutes': String(u.secondaryWindowMinutes ?? 10080),
      'x-codex-secondary-reset-after-seconds': String(u.secondaryResetAfterSeconds ?? 500000),
    };
  }

  private async responses(rec: RecordedRequest, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const h = rec.headers;
    const claimed = h['chatgpt-account-id'];
    if (claimed) rec.chatgptAccountId = claimed;
    const st = this.byAccess(h.authorization);
    if (!st) return json(res, 401, { detail: 'Could not validate your credentials' });
    if (claimed !== st.claims.chatgptAccountId)
      return json(res, 401, { detail: 'chatgpt-account-id does not match the token' });
    const bad = this.checkClientHeaders(h);
    if (bad) return json(res, 400, { detail: bad });
    if (!h['session-id'] && !h['session_id'])
      return json(res, 400, { detail: 'Missing required header: session-id' });
    if (!(h.accept ?? '').includes('text/event-stream'))
      return json(res, 400, { detail: 'Accept must be text/event-stream' });
    const b = rec.body;
    if (!b || typeof b !== 'object') return json(res, 400, { detail: 'Invalid request body' });
    if (typeof b.model !== 'string' || !b.model) return json(res, 400, { detail: 'Model is required' });
    if (!FAKE_MODELS.some((m) => m.slug === b.model))
      return json(res, 400, { detail: `Unsupported model: ${b.model}` });
    if (b.stream !== true) return json(res, 400, { detail: 'Stream must be set to true' });
    if (b.store !== false) return json(res, 400, { detail: 'Store must be set to false' });
    if (typeof b.instructions !== 'string') return json(res, 400, { detail: 'Instructions are required' });
    if (!Array.isArray(b.input)) return json(res, 400, { detail: 'Input must be a list' });
    for (const p of UNSUPPORTED) if (p in b) return json(res, 400, { detail: `Unsupported parameter: ${p}` });
    const foreign = this.foreignOpaque(b.input, st.claims.chatgptAccountId);
    if (foreign) return json(res, 400, foreign);
    for (const item of b.input) {
      // Nothing is stored (store:false): a replayed reasoning item must carry its encrypted content.
      if (item?.type === 'reasoning' && typeof item.encrypted_content !== 'string') {
        return json(res, 404, {
          error: {
            message: `Item with id '${item.id}' not found. Items are not persisted when \`store\` is set to false.`,
            type: 'invalid_request_error',
            param: 'input',
            code: null,
          },
        });
      }
      if (item?.type === 'function_call' && typeof item.id === 'string' && !item.id.startsWith('fc')) {
        return json(res, 400, {
          detail: `Invalid 'input[].id': '${item.id}'. Expected an ID that begins with 'fc'.`,
        });
      }
    }
    const fault = this.nextFaults.shift() ?? st.faults.shift();
    const resetAt = (s: number) => Math.floor(Date.now() / 1000) + s;
    switch (fault?.kind) {
      case 'unauthorized':
        return json(res, 401, {
          detail: 'Your authentication token has expired. Please try signing in again.',
        });
      case 'forbidden':
        return this.forbidden(fault.variant, res);
      case 'policy_refusal':
        return json(res, fault.status ?? 400, {
          error: {
            message: 'This request has been flagged for potentially violating our usage policy.',
            type: 'invalid_request_error',
            param: null,
            code: fault.code ?? 'cyber_policy',
          },
        });
      case 'usage_limit':
        return json(
          res,
          429,
          {
            error: {
              type: 'usage_limit_reached',
              message: 'The usage limit has been reached',
              plan_type: st.claims.planType,
              resets_at: resetAt(fault.resetsInSeconds),
              resets_in_seconds: fault.resetsInSeconds,
            },
          },
          this.usageHeaders(this.limitUntil(st, fault.resetsInSeconds)),
        );
      case 'usage_not_included':
        return json(res, 429, {
          error: { type: 'usage_not_included', message: 'Your plan does not include Codex.' },
        });
      case 'rate_limited':
        return json(
          res,
          429,
          {
            error: {
              type: 'rate_limit_exceeded',
              message: `Rate limit reached. Please try again in ${fault.retryAfterSeconds ?? 1}s.`,
            },
          },
          { 'retry-after': String(fault.retryAfterSeconds ?? 1) },
        );
      case 'server_error':
        return json(res, fault.status ?? 500, { detail: 'Internal Server Error' });
      case 'not_found':
        res.writeHead(404, { 'content-type': 'text/html' });
        return void res.end('<html><body>404 Not Found</body></html>');
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'slow_first_byte':
        await sleep(fault.delayMs);
        break;
      case 'half_open':
        this.openStreams++;
        await new Promise<void>((r) => req.socket.once('close', () => r()));
        this.openStreams--;
        return;
    }
    const wt: WindowsTurn | null =
      this.windows && !fault
        ? windowsTurn(this.windows, st.claims.chatgptAccountId, st.claims.planType, b)
        : null;
    if (wt?.kind === 'http') return json(res, wt.status, wt.body, wt.headers);
    // Remote compaction v2 (CLI 0.169): the request ends with a `compaction_trigger` item and the answer must hold
    // exactly one `compaction` output item (the compacted history, opaque to the client).
    const trigger = b.input.at(-1)?.type === 'compaction_trigger';
    const picked: ResponseSpec = trigger
      ? {
          compaction: {
            encryptedContent: `cmp_fake_${b.input.length}_items_${randomBytes(6).toString('hex')}`,
          },
        }
      : fault?.kind === 'failed_in_stream'
        ? {
            failed: {
              code: fault.code,
              message: fault.message ?? `The request failed: ${fault.code}.`,
              ...(fault.resetsInSeconds !== undefined ? { resets_in_seconds: fault.resetsInSeconds } : {}),
            },
          }
        : wt?.failed
          ? { failed: wt.failed }
          : (this.specs.shift() ?? this.streamOpts.defaultSpec);
    const spec: ResponseSpec = wt?.usage ? { ...picked, usage: wt.usage } : picked;
    const lastUser = [...b.input].reverse().find((i: any) => i?.role === 'user');
    const lastText =
      typeof lastUser?.content === 'string'
        ? lastUser.content
        : (lastUser?.content ?? [])
            .filter((p: any) => p?.type === 'input_text')
            .map((p: any) => p.text)
            .join(' ');
    const events = buildEvents(spec, st.servedModel ?? b.model, lastText || 'nothing', {
      encryptedReasoning: Array.isArray(b.include) && b.include.includes('reasoning.encrypted_content'),
    });
    for (const e of events)
      if (e.type === 'response.output_item.done' && typeof e.data.item?.encrypted_content === 'string')
        this.minted.set(e.data.item.encrypted_content, st.claims.chatgptAccountId);
    const rl = events.find((e) => e.type === 'codex.rate_limits');
    if (rl && wt?.kind === 'stream') rl.data.rate_limits = wt.rateLimits;
    else if (rl) {
      // The stream's own usage event carries the same snapshot as the headers.
      rl.data.rate_limits = {
        primary: {
          used_percent: st.usage.primaryUsedPercent ?? 1,
          window_minutes: st.usage.primaryWindowMinutes ?? 300,
        },
        secondary: {
          used_percent: st.usage.secondaryUsedPercent ?? 1,
          window_minutes: st.usage.secondaryWindowMinutes ?? 10080,
        },
      };
    }
    const cutAfter = fault?.kind === 'cut_stream' ? fault.afterEvents : Infinity;
    const stallAfter = fault?.kind === 'stall' ? fault.afterEvents : Infinity;
    if (fault?.kind === 'huge_event') {
      const item = events.find((e) => e.type === 'response.output_text.delta');
      if (item)
        events.splice(events.indexOf(item), 0, {
          ...item,
          data: { ...item.data, delta: 'x'.repeat(fault.bytes) },
        });
    }
    this.openStreams++;
    this.maxOpenStreams = Math.max(this.maxOpenStreams, this.openStreams);
    let closed = false;
    const onClose = () => {
      if (!closed) {
        closed = true;
        this.openStreams--;
      }
    };
    res.on('close', onClose);
    req.on('close', () => {
      if (!res.writableEnded) onClose();
    });
    // Within a turn the client echoes the turn state back; a new turn gets a new one.
    const turnState = h['x-codex-turn-state'] || `ts_${randomBytes(6).toString('hex')}`;
    this.turnStates.push(turnState);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-request-id': randomUUID(),
      'x-models-etag': this.modelsEtag,
      'x-codex-turn-state': turnState,
      ...(wt ? wt.headers : this.usageHeaders(st)),
    });
    const o = this.streamOpts;
    for (let i = 0; i < events.length; i++) {
      if (closed) return;
      if (i >= cutAfter) {
        res.destroy(); // the connection drops mid-stream, without a terminal event
        onClose();
        return;
      }
      if (i >= stallAfter) {
        await new Promise<void>((r) => res.once('close', () => r()));
        onClose();
        return;
      }
      if (i === 3 && fault?.kind === 'malformed')
        res.write(
          'this is not sse\n\ndata: {"type":"response.output_text.delta", broken json\n\n: comment\n\n',
        );
      const hold = o.holdFor?.(lastText) ?? o.holdMs;
      if (hold > 0 && i === events.length - 1) await sleep(hold);
      if (fault?.kind === 'stall_before_terminal' && i === events.length - 1) await sleep(fault.ms);
      if (closed) return;
      const text = (o.encode ?? encodeEvent)(events[i]);
      if (o.splitWrites) await writeSplit(res, Buffer.from(text));
      else res.write(text);
      // The backend's pause between the prelude (created / in_progress) and the first output event.
      if (spec.firstOutputDelayMs && events[i].type === 'response.in_progress')
        await sleep(spec.firstOutputDelayMs);
      if (o.eventDelayMs > 0) await sleep(i < 3 ? 0 : o.eventDelayMs);
    }
    res.end();
    onClose();
    // Windows mode: the completed turn's cost lands in the windows, its input and output in the prompt cache.
    if (wt?.kind === 'stream')
      wt.commit?.(events.filter((e) => e.type === 'response.output_item.done').map((e) => e.data.item));
  }
}
