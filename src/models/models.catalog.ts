/**
 * The upstream model catalog (GET {CODEX_BASE_URL}/models, docs/upstream-protocol.md §7) → OpenAI model objects, plus
 * reasoning-effort aliases (`gpt-5.5-high` = gpt-5.5 with reasoning.effort high) built only from each model's
 * `supported_reasoning_levels`. Pure.
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

export function parseCatalog(json: any): CatalogModel[] {
  const list = Array.isArray(json?.models) ? json.models : [];
  return list
    .filter(
      (m: any) => typeof m?.slug === 'string' && m.visibility !== 'hide' && m.supported_in_api !== false,
    )
    .sort((a: any, b: any) => (a.priority ?? 0) - (b.priority ?? 0))
    .map((m: any) => ({
      slug: m.slug,
      efforts: Array.isArray(m.supported_reasoning_levels)
        ? m.supported_reasoning_levels
            .map((l: any) => l?.effort)
            .filter((e: unknown) => typeof e === 'string')
        : [],
    }));
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
    for (const e of m.efforts) if (id === `${m.slug}-${e}`) return { model: m.slug, effort: e };
  }
  return null;
}
