import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PARAMS, screenParams } from './params.js';

describe('parameter table', () => {
  it('docs/parameters.md names every field with its fate on both endpoints', () => {
    const doc = readFileSync(join(process.cwd(), 'docs', 'parameters.md'), 'utf8');
    for (const [name, e] of Object.entries(PARAMS)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
      expect(row).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      expect(cells[2]).toBe(e.responses?.fate ?? '—');
      expect(cells[3]).toBe(e.chat?.fate ?? '—');
    }
  });

  it('unknown fields and fields of the other API are dropped', () => {
    expect(screenParams({ model: 'm', input: 'x', top_k: 3 }, 'responses').dropped).toEqual(['top_k']);
    expect(screenParams({ model: 'm', messages: [], input: 'x' }, 'chat').dropped).toEqual(['input']);
    expect(screenParams({ model: 'm', input: 'x', messages: [] }, 'responses').dropped).toEqual(['messages']);
  });

  it('refusals name the parameter', () => {
    for (const [body, param] of [
      [{ conversation: 'conv_1' }, 'conversation'],
      [{ prompt: { id: 'pmpt_1' } }, 'prompt'],
      [{ background: true }, 'background'],
      [{ include: ['message.output_text.logprobs'] }, 'include'],
      [{ service_tier: 'scale' }, 'service_tier'],
      [{ top_logprobs: 2 }, 'top_logprobs'],
    ] as const)
      expect(screenParams({ model: 'm', ...body }, 'responses').refused?.param).toBe(param);
    expect(screenParams({ model: 'm', stop: ['a', 'b', 'c', 'd', 'e'] }, 'chat').refused?.param).toBe('stop');
    expect(screenParams({ model: 'm', stop: ['a', 'b', 'c', 'd'] }, 'chat').refused).toBeNull();
  });

  it('seed and other refused-upstream fields are dropped, not forwarded', () => {
    const { dropped } = screenParams(
      { model: 'm', seed: 1, temperature: 0, metadata: {}, store: true, background: false },
      'responses',
    );
    expect(dropped.sort()).toEqual(['background', 'metadata', 'seed', 'store', 'temperature']);
  });
});
