import { ApiError } from '../common/errors.js';
import { normalizeForCodex } from './normalize.js';

describe('normalizeForCodex', () => {
  it('forces stream/store, moves instructions into a developer message and keeps the key', () => {
    const { body, dropped } = normalizeForCodex({
      model: 'm',
      input: 'hi',
      instructions: 'Be nice',
      stream: false,
    });
    expect(body).toMatchObject({ model: 'm', stream: true, store: false, instructions: '' });
    expect(body.input).toEqual([
      { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Be nice' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
    ]);
    expect(dropped).toEqual([]);
  });

  it('always sends instructions, even when the client sent none', () => {
    expect(normalizeForCodex({ model: 'm', input: [] }).body.instructions).toBe('');
  });

  it('drops refused parameters and reports them', () => {
    const r = normalizeForCodex({
      model: 'm',
      input: 'x',
      temperature: 1,
      top_p: 1,
      max_output_tokens: 5,
      metadata: {},
      user: 'u',
    });
    expect(r.dropped.sort()).toEqual(['max_output_tokens', 'metadata', 'temperature', 'top_p', 'user']);
    for (const k of r.dropped) expect(r.body).not.toHaveProperty(k);
  });

  it('adds strict:false to function tools without strict, keeps explicit strict', () => {
    const { body } = normalizeForCodex({
      model: 'm',
      input: 'x',
      tools: [
        { type: 'function', name: 'a' },
        { type: 'function', name: 'b', strict: true },
        { type: 'web_search' },
      ],
    });
    expect(body.tools).toEqual([
      { type: 'function', name: 'a', strict: false },
      { type: 'function', name: 'b', strict: true },
      { type: 'web_search' },
    ]);
  });

  it('always asks for encrypted reasoning, as the CLI, whatever the client sent', () => {
    expect(normalizeForCodex({ model: 'm', input: 'x' }).body.include).toEqual([
      'reasoning.encrypted_content',
    ]);
    const r = normalizeForCodex({ model: 'm', input: 'x', include: ['web_search_call.results'] });
    expect(r.body.include).toEqual(['reasoning.encrypted_content']);
    expect(r.dropped).toEqual(['include:web_search_call.results']);
    expect(() =>
      normalizeForCodex({ model: 'm', input: 'x', include: ['message.output_text.logprobs'] }),
    ).toThrow(ApiError);
  });

  it('refuses conversation/prompt, drops seed and unknown fields, handles service_tier', () => {
    for (const p of ['conversation', 'prompt'])
      expect(() => normalizeForCodex({ model: 'm', input: 'x', [p]: 'x' })).toThrow(
        expect.objectContaining({ param: p }),
      );
    const r = normalizeForCodex({ model: 'm', input: 'x', seed: 3, top_k: 2, service_tier: 'auto' });
    expect(r.body).not.toHaveProperty('seed');
    expect(r.body).not.toHaveProperty('top_k');
    expect(r.body).not.toHaveProperty('service_tier');
    expect(normalizeForCodex({ model: 'm', input: 'x', service_tier: 'priority' }).body.service_tier).toBe(
      'priority',
    );
  });

  it('removes item ids from replayed function calls', () => {
    const { body } = normalizeForCodex({
      model: 'm',
      input: [{ type: 'function_call', id: 'call_x', call_id: 'c', name: 'f', arguments: '{}' }],
    });
    expect(body.input[0]).toEqual({ type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' });
  });

  it.each([
    [{ input: 'x' }, 'model'],
    [{ model: 'm' }, 'input'],
    [{ model: 'm', input: 'x', previous_response_id: 'resp_1' }, 'previous_response_id'],
    [{ model: 'm', input: 5 }, 'input'],
  ])('refuses %j naming %s', (req, param) => {
    try {
      normalizeForCodex(req);
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).param).toBe(param);
      expect((e as ApiError).httpStatus).toBe(400);
    }
  });
});
