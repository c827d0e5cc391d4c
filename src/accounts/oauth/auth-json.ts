/**
 * Parses a Codex CLI `~/.codex/auth.json` (docs/upstream-protocol.md §3) for import. Unknown keys are ignored (0.169 adds
 * `auth_mode`, `oauth_provenance`, `login_owner_id`); only the token set matters. `OPENAI_API_KEY` is not kept.
 */
export interface ImportedTokens {
  idToken: string;
  accessToken: string;
  refreshToken: string;
  accountId: string | null;
  lastRefresh: Date | null;
}

export type AuthJsonResult =
  { ok: true; tokens: ImportedTokens } | { ok: false; message: string; param: string };

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0;
}

export function parseAuthJson(input: unknown): AuthJsonResult {
  let value = input;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, message: 'auth.json is not valid JSON.', param: 'authJson' };
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, message: 'auth.json must be a JSON object.', param: 'authJson' };
  }
  const tokens = (value as Record<string, unknown>).tokens;
  if (!tokens || typeof tokens !== 'object') {
    return {
      ok: false,
      message: 'auth.json has no "tokens" object (an API-key-only auth.json cannot be imported).',
      param: 'tokens',
    };
  }
  const t = tokens as Record<string, unknown>;
  for (const k of ['id_token', 'access_token', 'refresh_token'] as const) {
    if (!nonEmpty(t[k]))
      return { ok: false, message: `auth.json tokens.${k} is missing.`, param: `tokens.${k}` };
  }
  const lr = (value as Record<string, unknown>).last_refresh;
  const lastRefresh = typeof lr === 'string' && !Number.isNaN(Date.parse(lr)) ? new Date(lr) : null;
  return {
    ok: true,
    tokens: {
      idToken: (t.id_token as string).trim(),
      accessToken: (t.access_token as string).trim(),
      refreshToken: (t.refresh_token as string).trim(),
      accountId: nonEmpty(t.account_id) ? t.account_id : null,
      lastRefresh,
    },
  };
}
