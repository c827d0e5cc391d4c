/**
 * The Codex CLI set-ups the gateway documents (README "Use with the Codex CLI"), as text. One source for the
 * web admin's key snippets and for the end-to-end test that runs the real CLI with exactly these files
 * (test/support/codex-cli.ts), so a snippet an admin copies is one the CLI has been seen to accept.
 * No imports: the web admin (bundler) and the server's tests (Node) both load this file.
 */

export interface CodexConfigInput {
  /** The gateway's `/v1` base URL, e.g. `https://gateway.example.com/v1`. */
  v1: string;
  model: string;
}

/** The environment variable the custom provider reads the key from. */
export const CODEX_KEY_ENV = 'CODEX_GATEWAY_API_KEY';

/** 1. Custom provider: `model_providers.gateway`, key from an environment variable. */
export function customProviderToml(c: CodexConfigInput & { websockets?: boolean; extra?: string }): string {
  return [
    `model = "${c.model}"`,
    'model_provider = "gateway"',
    ...(c.extra ? [c.extra] : []),
    '',
    '[model_providers.gateway]',
    'name = "Codex Gateway"',
    `base_url = "${c.v1}"`,
    'wire_api = "responses"',
    `env_key = "${CODEX_KEY_ENV}"`,
    ...(c.websockets === false ? [] : ['supports_websockets = true']),
    '',
  ].join('\n');
}

/** 2. Built-in provider pointed at the gateway; the key comes from `codex login --with-api-key` (auth.json). */
export function builtinProviderToml(c: CodexConfigInput & { extra?: string }): string {
  return [`model = "${c.model}"`, `openai_base_url = "${c.v1}"`, ...(c.extra ? [c.extra] : []), ''].join(
    '\n',
  );
}

/** The shell lines that go with each set-up. */
export function customProviderShell(key: string): string {
  return `export ${CODEX_KEY_ENV}=${key}\ncodex exec "say hi"`;
}

export function builtinProviderShell(key: string): string {
  return `printf '%s\\n' '${key}' | codex login --with-api-key\ncodex exec "say hi"`;
}
