import type { AppConfig } from '../config/config.schema.js';
import { accountsReencrypt, authStatus } from '../accounts/accounts.cli.js';
import { authLogin } from '../accounts/login/login.cli.js';

/**
 * Admin CLI subcommands (e.g. `auth login`, `auth status`). Each feature adds its commands to COMMANDS.
 * A command gets the validated config and its arguments, and returns the process exit code.
 */
export type CliCommand = (config: AppConfig, args: string[]) => Promise<number>;

export const COMMANDS: Record<string, CliCommand> = {
  'auth login': (config, args) => authLogin(config, args),
  'auth status': (config, args) => authStatus(config, args),
  'accounts reencrypt': (config, args) => accountsReencrypt(config, args),
};

export async function runCli(
  config: AppConfig,
  command: string,
  args: string[],
  usage: string,
): Promise<number> {
  const key = [command, args[0]].filter(Boolean).join(' ');
  const cmd = COMMANDS[key] ?? COMMANDS[command];
  if (!cmd) {
    process.stderr.write(`Unknown command: ${[command, ...args].join(' ')}\n\n${usage}`);
    return 64;
  }
  return cmd(config, COMMANDS[key] ? args.slice(1) : args);
}
