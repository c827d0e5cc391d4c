import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { builtinProviderToml, CODEX_KEY_ENV, customProviderToml } from '../../web/src/codex-config.ts';

/**
 * Runs the real Codex CLI (npm `@openai/codex`, node_modules/.bin/codex) as a child process with HOME and
 * CODEX_HOME in a fresh temp dir and stdin closed, in one of the two setups the README documents:
 * - `custom`: a `model_providers.gateway` entry (wire_api = "responses", key from an env var);
 * - `builtin`: the built-in provider with `openai_base_url` pointed at the gateway, key stored by
 *   `codex login --with-api-key` (auth.json).
 */
export const CODEX_BIN = resolve('node_modules/.bin/codex');

export interface CodexSetup {
  kind: 'custom' | 'builtin';
  gatewayUrl: string;
  key: string;
  model?: string;
  /** custom provider only: let the CLI try WebSocket (supports_websockets = true). */
  websockets?: boolean;
  /** Extra config.toml lines (top level). */
  extraToml?: string;
}

export interface CodexRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export class CodexHome {
  readonly dir: string;
  readonly home: string;
  readonly codexHome: string;
  readonly work: string;

  constructor(readonly setup: CodexSetup) {
    this.dir = mkdtempSync(join(tmpdir(), 'cg-codex-'));
    this.home = join(this.dir, 'home');
    this.codexHome = join(this.dir, 'codex');
    this.work = join(this.dir, 'work');
    for (const d of [this.home, this.codexHome, this.work]) mkdirSync(d, { recursive: true });
    writeFileSync(join(this.codexHome, 'config.toml'), configToml(setup));
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.home,
      CODEX_HOME: this.codexHome,
      TERM: 'xterm',
      LANG: 'C.UTF-8',
      NO_COLOR: '1',
      ...(this.setup.kind === 'custom' ? { [CODEX_KEY_ENV]: this.setup.key } : {}),
      ...extra,
    };
  }

  /** `codex login --with-api-key` (the key on stdin): writes auth.json for the built-in provider. */
  async login(): Promise<CodexRun> {
    return run(['login', '--with-api-key'], this.env(), this.work, `${this.setup.key}\n`);
  }

  exec(prompt: string, opts: { env?: Record<string, string>; args?: string[]; timeoutMs?: number } = {}) {
    return run(
      ['exec', '--skip-git-repo-check', ...(opts.args ?? []), prompt],
      this.env(opts.env),
      this.work,
      null,
      opts.timeoutMs,
    );
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The config.toml of a setup: the same text the web admin's key dialog shows (web/src/codex-config.ts). */
export function configToml(s: CodexSetup): string {
  const c = { v1: `${s.gatewayUrl}/v1`, model: s.model ?? 'gpt-5.5', extra: s.extraToml };
  return s.kind === 'custom'
    ? customProviderToml({ ...c, websockets: s.websockets ?? false })
    : builtinProviderToml(c);
}

function run(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  stdin: string | null,
  timeoutMs = 60_000,
): Promise<CodexRun> {
  return new Promise((resolvePromise, reject) => {
    const t0 = Date.now();
    const child = spawn(CODEX_BIN, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    if (stdin !== null) child.stdin.write(stdin);
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}
