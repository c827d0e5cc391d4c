import { LoggerService } from '@nestjs/common';
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

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

/** Patterns scrubbed from every log line's text, whatever the field: bearer tokens, JWTs, virtual keys. */
const SECRET_PATTERNS: RegExp[] = [
  /Bearer\s+[A-Za-z0-9._~+/=-]+/g,
  /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  /sk-[A-Za-z0-9_-]{16,}/g,
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const p of SECRET_PATTERNS) out = out.replace(p, '[REDACTED]');
  return out;
}

/** A stream wrapper that scrubs every serialised line before it reaches the real destination. */
function scrubbingStream(dest: DestinationStream): DestinationStream {
  return { write: (chunk: string) => dest.write(scrubSecrets(chunk)) } as DestinationStream;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    base: { service: 'codex-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return pino(options, scrubbingStream(destination ?? pino.destination({ dest: 1, sync: false })));
}

/** Routes Nest's own log calls into the same pino logger as JSON. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, rest: unknown[]) {
    const context =
      rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    if (message && typeof message === 'object') {
      const obj = message as Record<string, unknown>;
      const msg =
        typeof obj.msg === 'string' ? obj.msg : typeof rest[0] === 'string' ? (rest[0] as string) : undefined;
      this.logger[level]({ context, ...obj }, msg);
    } else {
      const stack = level === 'error' && typeof rest[0] === 'string' ? rest[0] : undefined;
      this.logger[level]({ context, ...(stack ? { stack } : {}) }, String(message));
    }
  }
  log(message: unknown, ...rest: unknown[]) {
    this.write('info', message, rest);
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
