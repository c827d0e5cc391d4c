import { chooseAccount, type Candidate } from './pool-choice.js';

const acct = (id: string, o: Partial<Candidate> = {}): Candidate => ({
  id,
  label: id,
  priority: 0,
  weight: 1,
  planType: 'pro',
  chatgptAccountId: `c-${id}`,
  inFlight: 0,
  usedPercent: null,
  ...o,
});

describe('chooseAccount', () => {
  it('returns null when nothing is available', () => {
    expect(chooseAccount([], 'least-used')).toBeNull();
  });
  it('prefers the sticky account while it is available', () => {
    expect(
      chooseAccount([acct('a'), acct('b', { usedPercent: 99 })], 'least-used', { stickyId: 'b' })!.id,
    ).toBe('b');
    expect(chooseAccount([acct('a')], 'least-used', { stickyId: 'gone' })!.id).toBe('a');
  });
  it('least-used: most headroom, then fewest in flight', () => {
    expect(
      chooseAccount([acct('a', { usedPercent: 80 }), acct('b', { usedPercent: 20 })], 'least-used')!.id,
    ).toBe('b');
    expect(chooseAccount([acct('a', { inFlight: 3 }), acct('b', { inFlight: 1 })], 'least-used')!.id).toBe(
      'b',
    );
  });
  it('round-robin cycles by counter', () => {
    const list = [acct('a'), acct('b'), acct('c')];
    expect([0, 1, 2, 3].map((n) => chooseAccount(list, 'round-robin', { counter: n })!.id)).toEqual([
      'a',
      'b',
      'c',
      'a',
    ]);
  });
  it('priority: highest tier, weighted inside it', () => {
    const list = [
      acct('low', { priority: 0 }),
      acct('x', { priority: 5, weight: 1 }),
      acct('y', { priority: 5, weight: 3 }),
    ];
    expect(chooseAccount(list, 'priority', { rand: 0.1 })!.id).toBe('x');
    expect(chooseAccount(list, 'priority', { rand: 0.5 })!.id).toBe('y');
  });
});
