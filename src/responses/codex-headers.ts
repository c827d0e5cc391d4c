/**
 * The Codex CLI's own headers that go back upstream: `x-codex-turn-state` (echo within a turn) and
 * `x-codex-beta-features` (only feature names; anything else is dropped).
 */
export function codexHeaders(req: { headers: Record<string, string | string[] | undefined> }): {
  turnState: string | null;
  betaFeatures: string | null;
} {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? '';
  const ts = one(req.headers['x-codex-turn-state']);
  const beta = one(req.headers['x-codex-beta-features'])
    .split(',')
    .map((x) => x.trim())
    .filter((x) => /^[a-z0-9_]{1,64}$/.test(x))
    .slice(0, 16)
    .join(',');
  return {
    turnState: ts && ts.length <= 4096 && /^[\x21-\x7e]+$/.test(ts) ? ts : null,
    betaFeatures: beta || null,
  };
}
