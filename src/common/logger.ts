import { LoggerService } from '@nestjs/common';
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';

/**
 * Paths pino censors wherever they appear. Secrets must never reach the logs: we never log bodies, and these
 * paths catch headers and any object that carries a token, key, password or cookie by name.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["api-key"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.authorization',
  '*.cookie',
  'access_token',
  'refresh_token',
  'id_token',
  'password',
  'token',
  'apiKey',
  'api_key',
  'key',
  'secret',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.secret',
  '*.code_verifier',
  '*.credentials',
  '*.*.access_token',
  '*.*.refresh_token',
  '*.*.id_token',
  '*.*.password',
  '*.*.token',
];

/** Patterns scrubbed from every log line's text, whatever the field: bearer tokens, JWTs, virtual keys, invite tokens. */
const SECRET_PATTERNS: RegExp[] = [
  /Bearer\s+[A-Za-z0-9._~+/=-]+/g,
  /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  /sk-[A-Za-z0-9_-]{16,}/g,
  /cginv_[A-Za-z0-9_-]{16,}/g,
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const p of SECRET_PATTERNS) out = out.replace(p, '[REDACTED]');
  return out;
}

/** A stream wrapper that scrubs every serialised line before it reaches the real destination. */
function scrubbingStream(dest: DestinationStream): DestinationStream {
  const inner = dest as DestinationStream & { flushSync?: () => void };
  return {
    write: (chunk: string) => dest.write(scrubSecrets(chunk)),
    // logger.flush() before process.exit must reach the real destination (SonicBoom buffers asynchronously).
    flush: (cb?: () => void) => {
      try {
        inner.flushSync?.();
      } catch {
        // not ready yet (nothing written): nothing to flush
      }
      cb?.();
    },
  } as DestinationStream;
}

/**
 * Human-readable lines when a person watches: stdout is a terminal and this is not production. Everything else
 * (pipes, files, containers, log shippers) gets one JSON object per line.
 */
export function wantsPrettyLogs(nodeEnv: string, stdout: { isTTY?: boolean } = process.stdout): boolean {
  return !!stdout.isTTY && nodeEnv !== 'production';
}

/** pino-pretty as a synchronous stream in this thread (no transport worker), so exit paths lose no lines. */
function prettyStream(): DestinationStream {
  return pretty({
    colorize: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service',
    sync: true,
  }) as unknown as DestinationStream;
}

export interface LoggerFormat {
  /** Pretty lines instead of JSON (only when no destination is given). */
  pretty?: boolean;
}

export function createLogger(
  level: string,
  destination?: DestinationStream,
  format: LoggerFormat = {},
): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    base: { service: 'codex-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  const dest = destination ?? (format.pretty ? prettyStream() : pino.destination({ dest: 1, sync: false }));
  return pino(options, scrubbingStream(dest));
}

/** Nest's own contexts whose `log` lines describe module wiring and route mapping. */
const NEST_WIRING = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'WebSocketsController',
]);

/** Routes Nest's own log calls into the same pino logger as JSON. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, rest: unknown[]) {
    const context =
      rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    if (message && typeof message === 'object') {
      const { msg: own, ...obj } = message as Record<string, unknown>;
      const msg =
        typeof own === 'string' ? own : typeof rest[0] === 'string' ? (rest[0] as string) : undefined;
      this.logger[level]({ context, ...obj }, msg);
    } else {
      const stack = level === 'error' && typeof rest[0] === 'string' ? rest[0] : undefined;
      this.logger[level]({ context, ...(stack ? { stack } : {}) }, String(message));
    }
  }
  log(message: unknown, ...rest: unknown[]) {
    // Nest's start-up chatter (one line per module and per route) is wiring detail: debug, not info.
    const context = rest.length > 0 ? rest[rest.length - 1] : undefined;
    this.write(typeof context === 'string' && NEST_WIRING.has(context) ? 'debug' : 'info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.write('error', message, rest);
  }
}
