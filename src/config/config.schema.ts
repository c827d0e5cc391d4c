import { z } from 'zod';

/**
 * Every setting of the gateway, read from the environment and validated once at start.
 * Add new settings here (one place), with a default that works on a developer machine when that is safe.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const url = (def: string) =>
  z
    .string()
    .url()
    .default(def)
    .transform((u) => u.replace(/\/+$/, ''));

const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: int(8080, 0).pipe(z.number().max(65535)),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.string().url().optional(),
  /** Behind a load balancer: `true`, a hop count, or comma-separated proxy addresses/CIDRs (Fastify trustProxy). */
  TRUST_PROXY: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/codex_gateway'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /**
   * Redis in production (docs/scaling.md): Sentinel (`host:port,…` of the sentinels and the master name they
   * monitor), TLS files for `rediss://`, ACL users in REDIS_URL. Checked at start (src/config/redis-connection.ts).
   */
  REDIS_SENTINELS: z.string().optional(),
  REDIS_SENTINEL_NAME: z.string().optional(),
  REDIS_SENTINEL_USERNAME: z.string().optional(),
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  REDIS_TLS_CA_FILE: z.string().optional(),
  REDIS_TLS_CERT_FILE: z.string().optional(),
  REDIS_TLS_KEY_FILE: z.string().optional(),
  /**
   * Postgres for `migrate` only, when DATABASE_URL goes through a transaction-pooling PgBouncer. Optional: the
   * migrator works through PgBouncer too (transaction-scoped advisory lock); set it to bypass the pooler.
   */
  DATABASE_DIRECT_URL: z.string().url().optional(),
  /** Prefix of every Redis key the gateway and BullMQ write (lets several deployments or tests share a Redis). */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]*$/)
    .default('cg:'),

  /** 32 bytes, base64. Required in production. */
  ENCRYPTION_KEY: z.string().optional(),
  /** Comma-separated older keys (base64) that can still decrypt, for rotation. */
  ENCRYPTION_KEYS_OLD: z.string().default(''),

  CODEX_BASE_URL: url('https://chatgpt.com/backend-api/codex'),
  OPENAI_AUTH_ISSUER: url('https://auth.openai.com'),
  OAUTH_CLIENT_ID: z.string().default('app_EMoamEEZ73f0CkXaXp7hrann'),

  /** Client profile sent upstream (docs/upstream-protocol.md §4): keep in one place, default to the newest captured one. */
  CODEX_CLIENT_VERSION: z.string().default('0.169.0'),
  CODEX_ORIGINATOR: z.string().default('codex_exec'),
  CODEX_USER_AGENT: z.string().optional(),
  /**
   * The machine part of the built user agent `<originator>/<version> (<OS> <version>; <arch>) <terminal>`: a
   * stable, plausible value chosen by the operator (never this host's kernel). Defaults are the captured CLI's.
   */
  CODEX_UA_OS: z
    .string()
    .regex(/^[\x20-\x7e]{1,64}$/)
    .default('Debian 12.0.0'),
  CODEX_UA_ARCH: z
    .string()
    .regex(/^[\x21-\x7e]{1,32}$/)
    .default('x86_64'),
  CODEX_UA_TERMINAL: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/)
    .default('xterm'),

  ADMIN_EMAIL: z.string().email().optional(),
  ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),

  /** Largest accepted request body in bytes (image inputs are big): 20 MiB. */
  BODY_LIMIT_BYTES: int(20 * 1024 * 1024, 1024),
  /** A request's head and body must arrive within this (not its answer: streams are not cut); 0 = no limit. */
  REQUEST_TIMEOUT_MS: int(60_000, 0),
  /** A request's headers must arrive within this (at most REQUEST_TIMEOUT_MS when that is set). */
  HEADERS_TIMEOUT_MS: int(20_000, 100),
  /** Open connections one client address may hold (trusted proxies exempt); 0 = no cap. */
  MAX_CONNECTIONS_PER_ADDRESS: int(256, 0),
  /** Active (not revoked) keys one user may hold; creating more is refused (409 key_limit_reached). */
  MAX_KEYS_PER_USER: int(25, 1),
  /** How long SIGTERM waits for in-flight requests and streams before forcing exit. */
  SHUTDOWN_GRACE_MS: int(15000, 0),
  /**
   * On SIGTERM, how long `/readyz` answers 503 while the listener still accepts, before the drain starts: long
   * enough for a load balancer's health check to take the process out (e.g. 2 × its check interval). 0 = none
   * (Kubernetes: the chart's preStop sleep does this job).
   */
  SHUTDOWN_DRAIN_DELAY_MS: int(0, 0),

  /** Refresh an access token this long before it expires. */
  REFRESH_LEAD_SECONDS: int(300, 0),

  /** Subscription accounts: refresh jobs, logins. */
  /** Upper bound of one OAuth HTTP call (refresh, code exchange, device polling). */
  OAUTH_TIMEOUT_MS: int(20000, 100),
  /** Transient refresh failures: BullMQ attempts and the first backoff delay (exponential, jittered). */
  REFRESH_RETRY_ATTEMPTS: int(8, 1),
  REFRESH_RETRY_BASE_MS: int(5000, 1),
  /** How often the worker re-creates missing refresh jobs (after a Redis flush). */
  ACCOUNT_SWEEP_SECONDS: int(300, 1),
  /** How long a browser (PKCE) login may take before its state expires. */
  LOGIN_TTL_SECONDS: int(600, 1),
  /** redirect_uri of the PKCE flow: the Codex CLI's registered loopback address (docs/upstream-protocol.md §1). */
  OAUTH_REDIRECT_URI: z.string().url().default('http://127.0.0.1:1455/auth/callback'),

  /** Account pool. */
  /** `score` (docs/pool.md): headroom × capacity, reset time, prompt cache, load, health; the others stay selectable. */
  POOL_STRATEGY: z.enum(['score', 'least-used', 'round-robin', 'priority']).default('score'),
  POOL_STICKY_TTL_SECONDS: int(3600, 0),
  POOL_MAX_ATTEMPTS: int(3, 1),
  POOL_DEFAULT_COOLDOWN_SECONDS: int(300, 1),
  /** An account answered 403 (block/challenge page or another refusal that is not about the token): rest it this long. */
  UPSTREAM_FORBIDDEN_COOLDOWN_SECONDS: int(900, 1),
  /**
   * Hold the client's status line and headers until the upstream's first output event (or its failure), so a
   * usage/rate-limit `response.failed` before any output still fails over invisibly. Costs the time from the
   * upstream's headers to its first output item (see docs/parameters.md, "Failover inside a 200 stream").
   */
  HOLD_HEADERS_UNTIL_OUTPUT: bool.default(true),
  /**
   * Policy isolation (docs/security.md): a key whose content-policy refusals, or its user's across keys, reach this
   * many within POLICY_SUSPEND_WINDOW_SECONDS is suspended (403 key_suspended_policy) until an admin lifts it.
   * 0 = count and alert only, never suspend.
   */
  POLICY_SUSPEND_THRESHOLD: int(5, 0),
  POLICY_SUSPEND_WINDOW_SECONDS: int(3600, 1),
  /** Circuit breaking: an account failing 3 times in a row is skipped this long (doubling, max 5 min). */
  POOL_CIRCUIT_OPEN_SECONDS: int(15, 1),
  /** An account out for its egress proxy (`proxy_unreachable`) is probed through that proxy this often. */
  PROXY_PROBE_SECONDS: int(30, 1),

  /** Upstream timeouts (ms). */
  UPSTREAM_CONNECT_TIMEOUT_MS: int(10000, 1),
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: int(120000, 1),
  UPSTREAM_IDLE_TIMEOUT_MS: int(300000, 1),
  /**
   * Upstream capacity of one process: concurrent upstream requests (streams) beyond this get a 503 at once
   * (`upstream_capacity`, Retry-After: 1) instead of waiting. Each held stream costs well under 50 KiB of RSS.
   */
  UPSTREAM_MAX_INFLIGHT: int(10000, 1),
  /** Cap on keep-alive connections to the upstream; 0 = one per concurrent request (no cap, no queue). */
  UPSTREAM_MAX_CONNECTIONS: int(0, 0),

  MODELS_CACHE_SECONDS: int(300, 0),
  /** After a failed upstream catalog fetch, serve the built-in list this long before asking again. */
  MODELS_FAILURE_CACHE_SECONDS: int(30, 0),

  /** Responses over WebSocket (GET /v1/responses upgrade, the Codex CLI's default transport). false = 426. */
  RESPONSES_WEBSOCKET: bool.default(true),
  /** Largest client frame (bytes); bigger ones close the socket with 1009. */
  RESPONSES_WS_MAX_FRAME_BYTES: int(16 * 1024 * 1024, 1024),
  /** A socket with no frame and no response in flight for this long is closed (1000, "idle timeout"). */
  RESPONSES_WS_IDLE_SECONDS: int(300, 1),
  /** Open sockets per virtual key and replica; one more is closed with 1013 (try again later). */
  RESPONSES_WS_MAX_PER_KEY: int(16, 1),
  /** Longest a socket lives, frames or not (1000, "maximum lifetime reached" once no response is running). */
  RESPONSES_WS_MAX_LIFETIME_SECONDS: int(3600, 1),
  /** Bytes the remembered histories (for previous_response_id) of one socket may hold together. */
  RESPONSES_WS_HISTORY_BYTES_PER_SOCKET: int(40 * 1024 * 1024, 1024),
  /** A socket whose client reads nothing of its unsent backlog (over 1 MiB) for this long is closed (1008). */
  RESPONSES_WS_SEND_STALL_SECONDS: int(30, 1),
  /** Bytes the remembered histories of all sockets of one key (on one replica) may hold together. */
  RESPONSES_WS_HISTORY_BYTES_PER_KEY: int(80 * 1024 * 1024, 1024),

  /** Usage rows held in memory while Postgres is unreachable; beyond this the oldest are dropped (counted). */
  USAGE_BUFFER_MAX_ROWS: int(50000, 100),

  /** When set, /metrics requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().optional(),
  /** Add key/user labels to request metrics (beware of cardinality). */
  METRICS_PER_KEY_LABELS: bool.default(false),

  /**
   * OpenTelemetry traces (src/telemetry, docs/observability.md): off unless an OTLP endpoint is given or
   * OTEL_TRACES_EXPORTER=otlp. The SDK's standard variable names; only traces, only OTLP over HTTP.
   */
  OTEL_SDK_DISABLED: bool.default(false),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'http/json']).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('codex-gateway'),

  /** Admin sign-in. Admin session: idle and absolute expiry. */
  SESSION_IDLE_SECONDS: int(8 * 3600, 60),
  SESSION_ABSOLUTE_SECONDS: int(7 * 24 * 3600, 60),
  /** Failed sign-ins allowed per account and per IP within the window before 429. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: int(5, 1),
  LOGIN_MAX_FAILURES_PER_IP: int(30, 1),
  LOGIN_THROTTLE_WINDOW_SECONDS: int(900, 1),

  /**
   * Team sign-in with OpenID Connect (docs/security.md, README "Single sign-on"). Set OIDC_ISSUER and
   * OIDC_CLIENT_ID to turn it on; the redirect URI to register at the IdP is `${PUBLIC_URL}/admin/api/auth/oidc/callback`.
   */
  OIDC_ISSUER: z.string().url().optional(),
  OIDC_CLIENT_ID: z.string().optional(),
  /** Confidential client secret; without it the gateway is a public client (PKCE only). */
  OIDC_CLIENT_SECRET: z.string().optional(),
  OIDC_SCOPES: z.string().default('openid email profile'),
  /** The claim (ID token or userinfo) that lists the user's groups. */
  OIDC_GROUPS_CLAIM: z.string().default('groups'),
  /** Comma list: membership in any of these groups makes the user an admin (role follows at every sign-in). */
  OIDC_ADMIN_GROUPS: list,
  /** Comma list of email domains allowed to sign in with SSO; empty allows any verified email. */
  OIDC_ALLOWED_DOMAINS: list,
  /** The sign-in button's text. */
  OIDC_LABEL: z.string().min(1).max(64).default('Sign in with SSO'),
  /** How long a started SSO sign-in may take at the IdP. */
  OIDC_FLOW_TTL_SECONDS: int(600, 1),
  /** Who may sign in with email and password: `all` (default), `admins` (break-glass; members use SSO), `off`. */
  LOCAL_SIGNIN: z.enum(['all', 'admins', 'off']).default('all'),
  /** How long a one-time invite link stays valid (default 7 days). */
  INVITE_TTL_SECONDS: int(7 * 24 * 3600, 60),
  /**
   * An SSO sign-in this recent stands in for `currentPassword` when an admin removes or promotes an admin;
   * older sessions are sent through the IdP again (`prompt=login`, `max_age`).
   */
  SSO_REAUTH_MAX_AGE_SECONDS: int(300, 10),

  /** Chat completions: expose the reasoning summary as `reasoning_content`. */
  CHAT_REASONING_CONTENT: bool.default(true),
});

export type Env = z.infer<typeof configSchema>;

export interface AppConfig extends Omit<Env, 'PUBLIC_URL'> {
  PUBLIC_URL: string;
  /** Primary key first, then old keys: [{id, key}] */
  encryptionKeys: { id: string; key: Buffer }[];
  /** Set by the start-up check: false when Redis refuses INFO (then no connection sends it). */
  redisInfoAllowed?: boolean;
}

export class ConfigError extends Error {}
