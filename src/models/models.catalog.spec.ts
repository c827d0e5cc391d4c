import {
  catalogEtag,
  cliCatalog,
  fallbackEntry,
  nearestEffort,
  parseCatalog,
  resolveAlias,
  toModelObjects,
  wireEffort,
} from './models.catalog.js';

const upstream = {
  models: [
    { slug: 'b', priority: 2, supported_reasoning_levels: [{ effort: 'low' }], visibility: 'list' },
    { slug: 'a', priority: 1, supported_reasoning_levels: [{ effort: 'high' }, { effort: 'xhigh' }] },
    { slug: 'hidden', visibility: 'hide' },
  ],
};

describe('models catalog', () => {
  it('maps an effort the model lacks to the nearest it lists; non-efforts give null', () => {
    const five = ['low', 'medium', 'high'];
    expect(nearestEffort(five, 'none')).toBe('low');
    expect(nearestEffort(five, 'minimal')).toBe('low');
    expect(nearestEffort(five, 'xhigh')).toBe('high');
    expect(nearestEffort(five, 'medium')).toBe('medium');
    expect(nearestEffort(['minimal', 'high'], 'none')).toBe('minimal');
    expect(nearestEffort(['low', 'high'], 'medium')).toBe('low');
    expect(nearestEffort(['high', 'max'], 'ultra')).toBe('max');
    expect(nearestEffort(five, 'banana')).toBeNull();
    expect(nearestEffort(['custom'], 'low')).toBeNull();
  });

  it('keeps visible models in priority order with their efforts', () => {
    expect(parseCatalog(upstream)).toEqual([
      { slug: 'a', efforts: ['high', 'xhigh'] },
      { slug: 'b', efforts: ['low'] },
    ]);
  });
  it('lists aliases only for supported efforts', () => {
    expect(toModelObjects(parseCatalog(upstream)).map((m) => m.id)).toEqual([
      'a',
      'a-high',
      'a-xhigh',
      'b',
      'b-low',
    ]);
  });
  it('resolves aliases the catalog confirms, nothing else', () => {
    const c = parseCatalog(upstream);
    expect(resolveAlias(c, 'a-xhigh')).toEqual({ model: 'a', effort: 'xhigh' });
    expect(resolveAlias(c, 'b-high')).toBeNull();
    expect(resolveAlias(c, 'a')).toBeNull();
  });
});

describe('effort aliases beyond the classic names (issue 10, defect 6)', () => {
  const c = parseCatalog({
    models: [
      {
        slug: 'gpt-5.6-sol',
        supported_reasoning_levels: [{ effort: 'low' }, { effort: 'max' }, { effort: 'ultra' }],
      },
      { slug: 'gpt-5.6-sol-mini', supported_reasoning_levels: [{ effort: 'low' }] },
    ],
  });
  it('resolves every advertised alias, -max and -ultra included', () => {
    for (const m of toModelObjects(c)) {
      const isSlug = c.some((x) => x.slug === m.id);
      if (!isSlug) expect(resolveAlias(c, m.id)).not.toBeNull();
    }
    expect(resolveAlias(c, 'gpt-5.6-sol-ultra')).toEqual({ model: 'gpt-5.6-sol', effort: 'ultra' });
    expect(resolveAlias(c, 'gpt-5.6-sol-mini-low')).toEqual({ model: 'gpt-5.6-sol-mini', effort: 'low' });
    expect(resolveAlias(c, 'gpt-5.6-sol-mini')).toBeNull();
  });
  it('sends ultra as max', () => {
    expect(wireEffort('ultra')).toBe('max');
    expect(wireEffort('high')).toBe('high');
  });
});

describe('the Codex CLI catalog', () => {
  it('filters by the key, keeps upstream entries untouched, turns prefer_websockets off when WS is off', () => {
    const entries = [
      { slug: 'a', prefer_websockets: true, extra: { x: 1 } },
      { slug: 'b', prefer_websockets: true },
    ];
    expect(cliCatalog(entries, (s) => s === 'a', true)).toEqual({ models: [entries[0]] });
    expect(cliCatalog(entries, () => true, false).models.map((m) => m.prefer_websockets)).toEqual([
      false,
      false,
    ]);
  });
  it('builds fallback entries with every field CLI 0.169 needs', () => {
    const e = fallbackEntry({ slug: 'gpt-5.5', efforts: ['low', 'high'] }, 1);
    for (const k of [
      'slug',
      'display_name',
      'supported_reasoning_levels',
      'shell_type',
      'visibility',
      'supported_in_api',
      'priority',
      'model_messages',
      'support_verbosity',
      'truncation_policy',
      'experimental_supported_tools',
    ])
      expect(e).toHaveProperty(k);
    expect(e.default_reasoning_level).toBe('low');
  });
  it('ETag changes with the upstream version and with the key allow-list, not otherwise', () => {
    const a = catalogEtag('v1', [], true);
    expect(catalogEtag('v1', [], true)).toBe(a);
    expect(catalogEtag('v2', [], true)).not.toBe(a);
    expect(catalogEtag('v1', ['gpt-5.5'], true)).not.toBe(a);
    expect(a).toMatch(/^"cg-[A-Za-z0-9_-]+"$/);
  });
});
