import type { Logger } from 'pino';
import { formatProblem, type Problem } from './preflight.js';

/**
 * How start-up problems reach the user: in a terminal as a short readable block on stderr; otherwise as one
 * JSON log line per problem (message, setting, target, fix) so log pipelines can parse them.
 */
export function reportProblems(problems: Problem[], logger: Logger, pretty: boolean): void {
  if (pretty) {
    process.stderr.write(
      `\nCodex Gateway cannot start:\n\n${problems.map(formatProblem).join('\n\n')}\n\n` +
        'Settings come from environment variables; see the README section "Troubleshooting".\n',
    );
    return;
  }
  for (const p of problems)
    logger.fatal(
      { dependency: p.dependency, setting: p.setting, target: p.target, fix: oneLine(p.fix) },
      `${p.message} (${p.setting})`,
    );
}

/** The fix lines as one sentence for a JSON field: "Start Redis: Debian/Ubuntu: …; macOS: …; or set …". */
function oneLine(lines: string[]): string {
  return lines
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .join('; ')
    .replace(/:; /g, ': ');
}

/** One line per failed attempt while waiting in production. */
export function reportWaiting(problems: Problem[], attempt: number, retryInMs: number, logger: Logger): void {
  logger.warn(
    {
      attempt,
      retryInMs,
      waitingFor: problems.map((p) => ({ dependency: p.dependency, setting: p.setting, target: p.target })),
    },
    `waiting for ${problems.map((p) => `${p.message} (${p.setting})`).join('; ')}`,
  );
}
