/** The simulator's clock: events ordered by time, then by insertion (a binary min-heap; ADR 0014). */
export interface Ev {
  t: number;
  seq: number;
  run: () => void | Promise<void>;
}

/** A binary min-heap on (t, seq). */
export class Queue {
  private h: Ev[] = [];
  private seq = 0;
  push(t: number, run: () => void | Promise<void>) {
    const e = { t, seq: this.seq++, run };
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p], e)) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }
  pop(): Ev | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && less(h[l + 1], h[l]) ? l + 1 : l;
        if (less(last, h[c])) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
  get size() {
    return this.h.length;
  }
}
const less = (a: Ev, b: Ev) => a.t < b.t || (a.t === b.t && a.seq < b.seq);
