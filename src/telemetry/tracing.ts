import { createRequire } from 'node:module';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { TracerProvider, SpanExporter } from '@opentelemetry/sdk-trace';
import type { AppConfig } from '../config/config.schema.js';

/**
 * The SDK, the exporters and the context manager are loaded only when tracing is on (docs/bench.md, issue 26: ~15
 * MiB of RSS and 0.8 MB of module code a gateway without OTEL_* settings never runs). `require` keeps the
 * constructor synchronous (these packages ship CommonJS builds).
 */
const load = createRequire(import.meta.url);

/** Stable HTTP/service semantic-convention names (the values of @opentelemetry/semantic-conventions' ATTR_*). */
const ATTR_ERROR_TYPE = 'error.type';
const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
const ATTR_HTTP_ROUTE = 'http.route';
const ATTR_SERVICE_NAME = 'service.name';
const ATTR_SERVER_ADDRESS = 'server.address';
const ATTR_URL_PATH = 'url.path';

/**
 * GenAI semantic-convention names (still "incubating" upstream, which advises copying the strings rather than
 * importing the unstable entry point).
 */
export const GENAI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  /** The older name of gen_ai.provider.name; still read by many backends. */
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cachedInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning.output_tokens',
} as const;

export type TracesProtocol = 'http/protobuf' | 'http/json';

export interface TracingSettings {
  /** Full URL spans are POSTed to (…/v1/traces). */
  url: string;
  protocol: TracesProtocol;
  serviceName: string;
}

/**
 * Whether and where to export, from the SDK's standard variables. Off unless OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
 * is set or OTEL_TRACES_EXPORTER=otlp (then the SDK default endpoint); OTEL_TRACES_EXPORTER=none and
 * OTEL_SDK_DISABLED=true win over everything.
 */
export function tracingSettings(c: AppConfig): TracingSettings | null {
  if (c.OTEL_SDK_DISABLED || c.OTEL_TRACES_EXPORTER === 'none') return null;
  const signal = c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = c.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!signal && !base && c.OTEL_TRACES_EXPORTER !== 'otlp') return null;
  // Spec: the signal-specific URL is used as is; the generic one gets /v1/traces appended.
  const url = signal ?? `${(base ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
  return {
    url,
    protocol: c.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? c.OTEL_EXPORTER_OTLP_PROTOCOL,
    serviceName: c.OTEL_SERVICE_NAME,
  };
}

/** What the server span is told when the response is done. */
export interface ServerSpanEnd {
  route: string;
  status: number;
}

/** One upstream attempt (one account tried for one request). */
export interface AttemptStart {
  /** 1 for the first account, 2 for the first failover, … */
  attempt: number;
  accountId: string;
  /** The account's admin-given label (non-secret); never its e-mail, tokens or ChatGPT ids. */
  accountLabel: string;
  model: string;
  endpoint: string;
  /** Upstream host (server.address). */
  host?: string;
}

export interface AttemptEnd {
  /** Set when the attempt failed (the pipeline moves on to the next account or gives up). */
  errorClass?: string | null;
  status?: number | null;
  responseModel?: string | null;
  usage?: {
    input_tokens?: number;
    input_tokens_details?: { cached_tokens?: number };
    output_tokens?: number;
    output_tokens_details?: { reasoning_tokens?: number };
  } | null;
}

/** Handle for one attempt span; `end` is idempotent. */
export interface AttemptSpan {
  end(result?: AttemptEnd): void;
  /** W3C traceparent of this span (for logs; never sent upstream). */
  readonly traceId: string | null;
}

const NOOP_ATTEMPT: AttemptSpan = { end: () => {}, traceId: null };

/** Carries the open server span through the request's async work (hooks, handler, pipeline). */
interface Carried {
  span: Span;
  ctx: Context;
  method: string;
}

/**
 * Traces of one app instance: its own provider, context manager and propagator (nothing registered globally,
 * so several apps in one test process never share spans). Disabled = every method is a cheap no-op and no
 * Fastify hook is added.
 *
 * What goes into spans: method, route, path (never the query string), status, request id, model names, token
 * counts, the account's id and label, error classes. Never headers, keys, tokens or request/response bodies.
 */
export class Tracing {
  readonly enabled: boolean;
  private readonly provider?: TracerProvider;
  private readonly tracer?: Tracer;
  private readonly contexts?: AsyncLocalStorageContextManager;
  private readonly propagator?: W3CTraceContextPropagator;
  private readonly byRequest = new WeakMap<object, Carried>();

  constructor(
    readonly settings: TracingSettings | null,
    exporter?: SpanExporter,
  ) {
    this.enabled = !!settings;
    if (!settings) return;
    const { AsyncLocalStorageContextManager } = load('@opentelemetry/context-async-hooks');
    const { W3CTraceContextPropagator } = load('@opentelemetry/core');
    const { resourceFromAttributes } = load('@opentelemetry/resources');
    const { BatchSpanProcessor, TracerProvider } = load('@opentelemetry/sdk-trace');
    this.contexts = new AsyncLocalStorageContextManager() as AsyncLocalStorageContextManager;
    this.propagator = new W3CTraceContextPropagator() as W3CTraceContextPropagator;
    const out: SpanExporter =
      exporter ??
      new (settings.protocol === 'http/json'
        ? load('@opentelemetry/exporter-trace-otlp-http')
        : load('@opentelemetry/exporter-trace-otlp-proto')
      ).OTLPTraceExporter({ url: settings.url });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
      spanProcessors: [new BatchSpanProcessor({ exporter: out, scheduledDelayMillis: 1000 })],
    });
    this.tracer = this.provider!.getTracer('codex-gateway');
    this.contexts.enable();
  }

  static fromConfig(config: AppConfig): Tracing {
    return new Tracing(tracingSettings(config));
  }

  /**
   * Opens the server span of a request (honouring an incoming W3C traceparent) and runs `next` inside its
   * context, so every later hook, the handler and the pipeline see it as the active span.
   */
  runInServerSpan(
    req: { raw: object; method: string; url: string; id: string; headers: Record<string, unknown> },
    next: () => void,
  ): void {
    if (!this.tracer) return next();
    const parent = this.propagator!.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const path = req.url.split('?', 1)[0];
    const span = this.tracer.startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: req.method,
          [ATTR_URL_PATH]: path,
          'cg.request_id': req.id,
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    this.byRequest.set(req.raw, { span, ctx, method: req.method });
    this.contexts!.with(ctx, next);
  }

  /** Closes the server span of a request (named `METHOD route`, error status for 5xx). */
  endServerSpan(raw: object, end: ServerSpanEnd): void {
    const carried = this.byRequest.get(raw);
    if (!carried) return;
    this.byRequest.delete(raw);
    const { span } = carried;
    span.updateName(`${carried.method} ${end.route}`);
    span.setAttribute(ATTR_HTTP_ROUTE, end.route);
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, end.status);
    if (end.status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(end.status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }

  /** Trace id of a request's server span (for its log line), or null when tracing is off. */
  traceIdOf(raw: object): string | null {
    return this.byRequest.get(raw)?.span.spanContext().traceId ?? null;
  }

  /** Attributes on the active request's server span (e.g. the model, the usage once known). */
  annotate(attributes: Record<string, string | number | boolean>): void {
    if (!this.tracer) return;
    trace.getSpan(this.contexts!.active())?.setAttributes(attributes);
  }

  /**
   * A client span for one upstream attempt, child of the active request's server span. Each failover is its own
   * span (`cg.attempt` 1, 2, …); a failed attempt ends with error status and `error.type` = its error class.
   */
  startAttempt(a: AttemptStart): AttemptSpan {
    if (!this.tracer) return NOOP_ATTEMPT;
    const parent = this.contexts!.active();
    const span = this.tracer.startSpan(
      `chat ${a.model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [GENAI.operation]: 'chat',
          [GENAI.provider]: 'openai',
          [GENAI.system]: 'openai',
          [GENAI.requestModel]: a.model,
          'cg.attempt': a.attempt,
          'cg.account.id': a.accountId,
          'cg.account.label': a.accountLabel,
          'cg.endpoint': a.endpoint,
          ...(a.host ? { [ATTR_SERVER_ADDRESS]: a.host } : {}),
        },
      },
      parent,
    );
    let open = true;
    return {
      traceId: span.spanContext().traceId,
      end(r: AttemptEnd = {}) {
        if (!open) return;
        open = false;
        if (r.responseModel) span.setAttribute(GENAI.responseModel, r.responseModel);
        if (r.status) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, r.status);
        const u = r.usage;
        if (u) {
          const set = (k: string, v: unknown) => {
            if (typeof v === 'number' && Number.isFinite(v)) span.setAttribute(k, v);
          };
          set(GENAI.inputTokens, u.input_tokens);
          set(GENAI.outputTokens, u.output_tokens);
          set(GENAI.cachedInputTokens, u.input_tokens_details?.cached_tokens);
          set(GENAI.reasoningTokens, u.output_tokens_details?.reasoning_tokens);
        }
        if (r.errorClass) {
          span.setAttribute(ATTR_ERROR_TYPE, r.errorClass);
          span.setStatus({ code: SpanStatusCode.ERROR, message: r.errorClass });
        }
        span.end();
      },
    };
  }

  /** Sends what is buffered (tests; shutdown). */
  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
    this.contexts?.disable();
  }
}
