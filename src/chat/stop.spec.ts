import { StopCutter } from './stop.js';

/** Feeds `text` in pieces cut at `cuts`; returns every emitted piece and the total. */
function run(stops: string[], text: string, cuts: number[]) {
  const c = new StopCutter(stops);
  const pieces: string[] = [];
  let at = 0;
  for (const cut of [...cuts, text.length]) {
    pieces.push(c.push(text.slice(at, cut)));
    at = cut;
    if (c.stopped) break;
  }
  if (!c.stopped) pieces.push(c.flush());
  return { pieces, total: pieces.join(''), stopped: c.stopped };
}

describe('StopCutter', () => {
  const text = 'Thought: look it up\nAction: search\nObservation: 42\nDone';
  it('cuts at the first stop sequence for every way of splitting the text', () => {
    for (let i = 0; i <= text.length; i++)
      for (let j = i; j <= text.length; j += 3) {
        const r = run(['Observation:', 'Done'], text, [i, j]);
        expect(r.total).toBe('Thought: look it up\nAction: search\n');
        expect(r.stopped).toBe(true);
      }
  });
  it('never emits a partial stop string, even one that turns out not to be a stop', () => {
    const r = run(['Observation:'], 'an Obs then Observation: x', [4, 6, 8, 12, 18]);
    expect(r.total).toBe('an Obs then ');
    for (const p of r.pieces.slice(0, -1)) expect(p.endsWith('Obs')).toBe(false);
  });
  it('releases held text at the end when no stop appears', () => {
    const r = run(['STOP'], 'ends with ST', [3, 10]);
    expect(r.total).toBe('ends with ST');
    expect(r.stopped).toBe(false);
  });
  it('picks the earliest of several sequences; accepts a single string', () => {
    expect(run(['b', 'a'], 'xxaxb', [1, 3]).total).toBe('xx');
    expect(StopCutter.from('\n\n')!.push('one\n\ntwo')).toBe('one');
    expect(StopCutter.from([])).toBeNull();
  });
});
