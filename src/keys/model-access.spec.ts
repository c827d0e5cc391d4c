import { isModelAllowed } from './model-access.js';

describe('isModelAllowed', () => {
  it.each([
    [[], 'gpt-5.5', true],
    [['gpt-5.5'], 'gpt-5.5', true],
    [['gpt-5.5'], 'gpt-5.5-mini', false],
    [['gpt-5*'], 'gpt-5.5-codex', true],
    [['gpt-5*'], 'gpt-4o', false],
    [['*-codex'], 'gpt-5.5-codex', true],
    [['*-codex'], 'gpt-5.5-codex-mini', false],
    [['gpt-*-mini'], 'gpt-5-mini', true],
    [['gpt-*-mini'], 'gpt-mini', false],
    [['a*a'], 'a', false],
    [['a*a'], 'aa', true],
    [['*'], 'anything', true],
    [['other', 'gpt-5*'], 'gpt-5', true],
    [['GPT-5*'], 'gpt-5', false],
  ])('%j allows %s: %s', (list, model, want) => {
    expect(isModelAllowed(list as string[], model as string)).toBe(want);
  });
});
