import { isOpaque, opaqueDigest, portableInput } from './portable-input.js';

describe('portable input', () => {
  const mine = { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'gAAAAmine' };
  const foreign = {
    type: 'reasoning',
    id: 'rs_2',
    summary: [
      { type: 'summary_text', text: 'step one' },
      { type: 'summary_text', text: 'step two' },
    ],
    encrypted_content: 'gAAAAforeign',
  };
  const foreignBare = { type: 'reasoning', id: 'rs_3', summary: [], encrypted_content: 'gAAAAbare' };
  const compaction = { type: 'compaction', id: 'cmp_1', encrypted_content: 'cmp_blob' };
  const user = { role: 'user', content: 'hi' };

  it('rewrites only what the account cannot read: summaries kept as a message, the rest removed', () => {
    const input = [user, mine, foreign, foreignBare, compaction, user];
    const out = portableInput(input, (i) => i.encrypted_content !== 'gAAAAmine');
    expect(out.rewrites).toEqual(['reasoning_summarised', 'reasoning_dropped', 'compaction_dropped']);
    expect(out.input).toEqual([
      user,
      mine,
      {
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: '(summary of earlier reasoning) step one\n\nstep two' }],
      },
      user,
    ]);
  });

  it('leaves the input (the same array) alone when every item is readable', () => {
    const input = [user, mine];
    expect(portableInput(input, () => false).input).toBe(input);
  });

  it('digests name a blob without its content', () => {
    expect(isOpaque(mine)).toBe(true);
    expect(isOpaque({ ...mine, encrypted_content: '' })).toBe(false);
    expect(opaqueDigest('gAAAAmine')).toMatch(/^[0-9a-f]{32}$/);
    expect(opaqueDigest('gAAAAmine')).not.toBe(opaqueDigest('gAAAAforeign'));
  });
});
