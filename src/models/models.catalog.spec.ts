import { parseCatalog, resolveAlias, toModelObjects } from './models.catalog.js';

const upstream = {
  models: [
    { slug: 'b', priority: 2, supported_reasoning_levels: [{ effort: 'low' }], visibility: 'list' },
    { slug: 'a', priority: 1, supported_reasoning_levels: [{ effort: 'high' }, { effort: 'xhigh' }] },
    { slug: 'hidden', visibility: 'hide' },
  ],
};

describe('models catalog', () => {
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
