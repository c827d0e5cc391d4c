/** The side-by-side table, the acceptance targets and the SVG plot (written by hand: no plotting dependency). */
import type { Metrics } from './engine.ts';

const pct = (x: number | null) => (x === null ? 'no refusal' : `${(100 * x).toFixed(1)} %`);

export interface Target {
  name: string;
  ok: (m: Metrics) => boolean;
}

export const TARGETS: Target[] = [
  { name: 'usage-limit errors while an account had headroom = 0', ok: (m) => m.refusalsWithHeadroom === 0 },
  { name: 'cache hits on turns ≥ 2 ≥ 90 %', ok: (m) => m.cacheHitShare >= 0.9 },
  {
    name: 'pool capacity used before the first refusal ≥ 95 %',
    ok: (m) => m.capacityUsedAtFirstRefusal === null || m.capacityUsedAtFirstRefusal >= 0.95,
  },
  { name: 'accounts per conversation ≤ 1.2', ok: (m) => m.accountsPerConversation <= 1.2 },
  { name: 'requests sent to an account at its limit = 0', ok: (m) => m.sentToLimited === 0 },
  { name: 'token refreshes per account within exp − 5 min', ok: (m) => m.refreshesMax <= m.refreshesAllowed },
];

export function table(ms: Metrics[]): string {
  const rows: [string, (m: Metrics) => string][] = [
    ['turns asked', (m) => String(m.turns)],
    ['turns served', (m) => String(m.served)],
    ['usage-limit errors (client-visible)', (m) => String(m.refusals)],
    ['… while an account had headroom', (m) => String(m.refusalsWithHeadroom)],
    ['other errors (5xx, busy)', (m) => String(m.otherErrors)],
    ['400s on foreign encrypted reasoning', (m) => String(m.foreignReasoningErrors)],
    ['cache hits, turns ≥ 2', (m) => pct(m.cacheHitShare)],
    ['accounts per conversation', (m) => m.accountsPerConversation.toFixed(3)],
    ['pool capacity used at 1st refusal', (m) => pct(m.capacityUsedAtFirstRefusal)],
    ['… worst week', (m) => pct(m.capacityUsedWorstWeek)],
    ['weekly windows used at 1st refusal', (m) => pct(m.weeklyUsedAtFirstRefusal)],
    ['requests to accounts at their limit', (m) => String(m.sentToLimited)],
    ['requests into an owner reserve', (m) => String(m.sentIntoReserve)],
    ['requests over maxConcurrent', (m) => String(m.sentOverCap)],
    ['token refreshes per account (max/rule)', (m) => `${m.refreshesMax}/${m.refreshesAllowed}`],
  ];
  const head = ['', ...ms.map((m) => m.strategy)];
  const body = rows.map(([name, f]) => [name, ...ms.map(f)]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i].length)));
  const line = (r: string[]) =>
    '| ' + r.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (i ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  return [line(head), sep, ...body.map(line)].join('\n');
}

const COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** Weekly-window used % per account over the month, one panel per strategy. */
export function svg(ms: Metrics[], labels: string[], title: string): string {
  const W = 900;
  const PH = 220;
  const L = 50;
  const T = 40;
  const gap = 40;
  const H = T + ms.length * (PH + gap) + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="20" font-size="14">${esc(title)}</text>`,
  ];
  ms.forEach((m, p) => {
    const y0 = T + p * (PH + gap);
    const pw = W - L - 170;
    const t0 = m.samples[0]?.t ?? 0;
    const t1 = m.samples[m.samples.length - 1]?.t ?? 1;
    const x = (t: number) => L + ((t - t0) / Math.max(1, t1 - t0)) * pw;
    const y = (u: number) => y0 + PH - (Math.min(110, u) / 110) * PH;
    out.push(
      `<text x="${L}" y="${y0 - 6}" font-size="12">${esc(m.strategy)}: weekly window used % per account</text>`,
    );
    out.push(`<rect x="${L}" y="${y0}" width="${pw}" height="${PH}" fill="none" stroke="#999"/>`);
    for (const u of [0, 50, 100]) {
      out.push(`<line x1="${L}" x2="${L + pw}" y1="${y(u)}" y2="${y(u)}" stroke="#ddd"/>`);
      out.push(`<text x="${L - 6}" y="${y(u) + 4}" text-anchor="end">${u}</text>`);
    }
    for (let d = 0; t0 + d * 86400_000 <= t1; d += 7) {
      const xd = x(t0 + d * 86400_000);
      out.push(`<line x1="${xd}" x2="${xd}" y1="${y0}" y2="${y0 + PH}" stroke="#eee"/>`);
      out.push(`<text x="${xd}" y="${y0 + PH + 14}" text-anchor="middle">day ${d}</text>`);
    }
    m.accountIds.forEach((_, i) => {
      const pts = m.samples.map((s) => `${x(s.t).toFixed(0)},${y(s.used[i]).toFixed(0)}`).join(' ');
      out.push(
        `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.2" points="${pts}"/>`,
      );
      if (p === 0) {
        const ly = T + 14 * i + 10;
        out.push(
          `<line x1="${L + pw + 15}" x2="${L + pw + 35}" y1="${ly}" y2="${ly}" stroke="${COLORS[i % COLORS.length]}" stroke-width="3"/>`,
        );
        out.push(`<text x="${L + pw + 40}" y="${ly + 4}">${esc(labels[i])}</text>`);
      }
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
