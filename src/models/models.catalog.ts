import { createHash } from 'node:crypto';

/**
 * The upstream model catalog (GET {CODEX_BASE_URL}/models, docs/upstream-protocol.md §7) in two shapes:
 * - OpenAI model objects for plain clients, plus reasoning-effort aliases (`gpt-5.5-high` = gpt-5.5 with
 *   reasoning.effort high) built only from each model's `supported_reasoning_levels`;
 * - the backend's own `{"models":[ModelInfo…]}` for the Codex CLI (entries passed through as the upstream sent
 *   them; the schema drifts with CLI versions, so the gateway never rebuilds a real entry).
 * Pure.
 */
export interface CatalogModel {
  slug: string;
  efforts: string[];
}

export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** Used only when the upstream listing cannot be had; slugs change over time, so this is not the truth. */
export const FALLBACK_CATALOG: CatalogModel[] = [
  { slug: 'gpt-5.5', efforts: ['low', 'medium', 'high', 'xhigh'] },
];

/** Catalog created time: the listing has no dates; a fixed value keeps ids stable for clients. */
const CREATED = 1735689600;

/** Effort names as the CLI spells them; `ultra` goes upstream as `max` (docs/upstream-protocol.md §4). */
export function wireEffort(effort: string): string {
  return effort === 'ultra' ? 'max' : effort;
}

/** Every effort name the gateway knows, lowest first (`max` is the wire spelling of `ultra`). */
export const EFFORT_SCALE = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'ultra'];

/**
 * The effort a model serves for a requested one: the requested effort when the model lists it, else the nearest
 * listed effort on EFFORT_SCALE (so `none`/`minimal` become the model's lowest and `xhigh` on a model that stops
 * at `high` becomes `high`; on a tie the lower one). null when the name is not an effort at all (a 400), or the
 * model lists none of the known names.
 */
export function nearestEffort(supported: string[], effort: string): string | null {
  if (supported.includes(effort)) return effort;
  const want = EFFORT_SCALE.indexOf(effort === 'max' ? 'ultra' : effort);
  if (want < 0) return null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const e of supported) {
    const at = EFFORT_SCALE.indexOf(e === 'max' ? 'ultra' : e);
    if (at < 0) continue;
    const d = Math.abs(at - want);
    if (d < bestDistance || (d === bestDistance && best !== null && at < EFFORT_SCALE.indexOf(best))) {
      best = e;
      bestDistance = d;
    }
  }
  return best;
}

const listed = (m: any) =>
  typeof m?.slug === 'string' && m.visibility !== 'hide' && m.supported_in_api !== false;

function effortsOf(m: any): string[] {
  return Array.isArray(m?.supported_reasoning_levels)
    ? m.supported_reasoning_levels.map((l: any) => l?.effort).filter((e: unknown) => typeof e === 'string')
    : [];
}

/** Raw ModelInfo entries of an upstream answer (anything without a string slug is dropped). */
export function rawEntries(json: any): Record<string, any>[] {
  const list = Array.isArray(json?.models) ? json.models : [];
  return list.filter((m: any) => typeof m?.slug === 'string');
}

export function parseCatalog(json: any): CatalogModel[] {
  return rawEntries(json)
    .filter(listed)
    .sort((a: any, b: any) => (a.priority ?? 0) - (b.priority ?? 0))
    .map((m: any) => ({ slug: m.slug, efforts: effortsOf(m) }));
}

export function toModelObjects(catalog: CatalogModel[]): OpenAIModel[] {
  const out: OpenAIModel[] = [];
  for (const m of catalog) {
    out.push({ id: m.slug, object: 'model', created: CREATED, owned_by: 'openai' });
    for (const e of m.efforts)
      out.push({ id: `${m.slug}-${e}`, object: 'model', created: CREATED, owned_by: 'openai' });
  }
  return out;
}

/** `gpt-5.5-high` → {model: 'gpt-5.5', effort: 'high'} when the catalog confirms that effort; else null. */
export function resolveAlias(catalog: CatalogModel[], id: string): { model: string; effort: string } | null {
  if (catalog.some((m) => m.slug === id)) return null;
  for (const m of catalog) {
    if (!id.startsWith(`${m.slug}-`)) continue;
    const e = id.slice(m.slug.length + 1);
    if (m.efforts.includes(e)) return { model: m.slug, effort: e };
  }
  return null;
}

/**
 * A ModelInfo entry with every field CLI 0.169 requires to decode (docs/upstream-protocol.md §7), for models the gateway knows
 * only from its fallback list. Real upstream entries are never replaced by this.
 */
export function fallbackEntry(m: CatalogModel, priority: number): Record<string, any> {
  const levels = m.efforts.length ? m.efforts : ['medium'];
  return {
    slug: m.slug,
    display_name: m.slug,
    description: null,
    default_reasoning_level: levels.includes('medium') ? 'medium' : levels[0],
    supported_reasoning_levels: levels.map((effort) => ({ effort, description: effort })),
    shell_type: 'shell_command',
    visibility: 'list',
    supported_in_api: true,
    priority,
    availability_nux: null,
    upgrade: null,
    model_messages: { instructions_template: 'You are Codex, a coding agent.' },
    support_verbosity: true,
    default_verbosity: 'low',
    apply_patch_tool_type: 'freeform',
    truncation_policy: { mode: 'tokens', limit: 10000 },
    supports_parallel_tool_calls: true,
    experimental_supported_tools: [],
    context_window: 272000,
    max_context_window: 272000,
    input_modalities: ['text', 'image'],
  };
}

/**
 * The catalog for one key: entries whose slug the key may use, in upstream order. `preferWebsockets: false`
 * when the gateway has WebSocket switched off.
 */
export function cliCatalog(
  entries: Record<string, any>[],
  allowed: (slug: string) => boolean,
  preferWebsockets: boolean,
): { models: Record<string, any>[] } {
  return {
    models: entries
      .filter((m) => allowed(m.slug))
      .map((m) => (!preferWebsockets && m.prefer_websockets ? { ...m, prefer_websockets: false } : m)),
  };
}

/**
 * The ETag the gateway serves for one key's catalog: stable while the upstream catalog (its etag, or its content
 * when it sent none) and the key's allow-list stay the same, so `x-models-etag` on /responses answers matches it.
 */
export function catalogEtag(upstreamVersion: string, allowedModels: string[], websockets: boolean): string {
  const h = createHash('sha256')
    .update(upstreamVersion)
    .update('\0')
    .update(allowedModels.join(','))
    .update(websockets ? '\0ws' : '\0http')
    .digest('base64url')
    .slice(0, 22);
  return `"cg-${h}"`;
}
