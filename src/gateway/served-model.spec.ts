import { sameModel } from './served-model.js';

describe('sameModel (the alias table of downgrade detection)', () => {
  it.each([
    ['gpt-5.5', 'gpt-5.5'],
    ['gpt-5.5', 'GPT-5.5'],
    ['gpt-5.5', 'gpt-5.5-2026-08-07'],
    ['gpt-5.5', 'gpt-5.5-20260807'],
    ['gpt-5.5-2026-08-07', 'gpt-5.5'],
    ['gpt-5.5', 'gpt-5.5-latest'],
  ])('%s served as %s is the same model', (a, b) => expect(sameModel(a, b)).toBe(true));
  it.each([
    ['gpt-5.5', 'gpt-5.5-mini'],
    ['gpt-5.6-codex', 'gpt-5.5'],
    ['gpt-5.5', 'gpt-5'],
    ['gpt-5.5', 'gpt-5.5-2026'],
  ])('%s served as %s is a downgrade', (a, b) => expect(sameModel(a, b)).toBe(false));
});
