/**
 * Replay: this gateway's own usage records (the `usage_records` table, or the web admin's CSV export) turned back
 * into conversations. A record has no conversation id, so requests of one user (or key) are chained into a
 * conversation while they follow each other within CONV_GAP and the input keeps growing (a new, smaller context
 * starts a new conversation). Failed requests count as demand too: that is what the simulator must serve.
 */
import { readFileSync } from 'node:fs';
import type { AccountSpec } from './engine.ts';
import { DAY, type Conversation } from './workload.ts';

const CONV_GAP_MS = 30 * 60_000;

export interface UsageRow {
  at: number;
  who: string;
  input: number;
  output: number;
  durationMs: number;
}

/** RFC 4180 fields (quotes doubled inside quoted fields), as the web admin writes them. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      if (row.some((c) => c !== '')) rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** The web admin's neutralised cells ('=…) lose their quote mark again. */
const unneutralise = (s: string) => (/^'[=+\-@\t\r]/.test(s) ? s.slice(1) : s);

export function rowsFromCsv(text: string): { rows: UsageRow[]; accountLabels: string[] } {
  const [head, ...body] = parseCsv(text);
  const col = (name: string) => {
    const i = head.indexOf(name);
    if (i < 0)
      throw new Error(`replay CSV: column "${name}" missing (expected the web admin's usage export)`);
    return i;
  };
  const [at, user, key, acct, inp, out, dur] = [
    'createdAt',
    'userEmail',
    'keyName',
    'accountLabel',
    'inputTokens',
    'outputTokens',
    'durationMs',
  ].map(col);
  const labels = new Set<string>();
  const rows = body.map((r) => {
    if (r[acct]) labels.add(unneutralise(r[acct]));
    return {
      at: Date.parse(r[at]),
      who: unneutralise(r[user] || r[key] || 'unknown'),
      input: Number(r[inp]) || 0,
      output: Number(r[out]) || 0,
      durationMs: Number(r[dur]) || 1000,
    };
  });
  return { rows: rows.filter((r) => Number.isFinite(r.at)), accountLabels: [...labels] };
}

async function rowsFromDb(days: number): Promise<{ rows: UsageRow[]; accounts: AccountSpec[] }> {
  const { default: pg } = await import('pg');
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('--replay db needs DATABASE_URL');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const recs = await client.query(
      `SELECT "createdAt", coalesce("userId"::text, "keyId"::text, 'unknown') AS who, "inputTokens", "outputTokens",
              "durationMs"
         FROM usage_records WHERE "createdAt" > now() - make_interval(days => $1) ORDER BY "createdAt"`,
      [days],
    );
    const accs = await client.query(
      `SELECT "planType" FROM accounts WHERE enabled AND status = 'active' ORDER BY id`,
    );
    return {
      rows: recs.rows.map((r) => ({
        at: new Date(r.createdAt).getTime(),
        who: r.who,
        input: r.inputTokens,
        output: r.outputTokens,
        durationMs: r.durationMs,
      })),
      accounts: accs.rows.map((a) => ({
        plan: (a.planType ?? 'plus').toLowerCase(),
        reservePercent: 0,
        maxConcurrent: null,
      })),
    };
  } finally {
    await client.end();
  }
}

export function conversationsFrom(rows: UsageRow[]): Conversation[] {
  const byWho = new Map<string, UsageRow[]>();
  for (const r of [...rows].sort((a, b) => a.at - b.at)) {
    const list = byWho.get(r.who) ?? [];
    list.push(r);
    byWho.set(r.who, list);
  }
  const out: Conversation[] = [];
  let n = 0;
  for (const [who, list] of byWho) {
    let cur: { c: Conversation; last: UsageRow } | null = null;
    for (const r of list) {
      const cont =
        cur && r.at - (cur.last.at + cur.last.durationMs) < CONV_GAP_MS && r.input >= 0.5 * cur.last.input;
      if (cur && cont) {
        const prev = cur.c.turns[cur.c.turns.length - 1];
        prev.gapAfterMs = Math.max(0, r.at - (cur.last.at + cur.last.durationMs));
        cur.c.turns.push({
          inputDelta: Math.max(0, r.input - (cur.last.input + cur.last.output)),
          outputTokens: r.output,
          durationMs: r.durationMs,
          gapAfterMs: 0,
        });
        cur.last = r;
      } else {
        const c: Conversation = {
          id: `r${++n}`,
          user: who,
          kind: 'replay',
          start: r.at,
          baseInput: 0,
          turns: [{ inputDelta: r.input, outputTokens: r.output, durationMs: r.durationMs, gapAfterMs: 0 }],
        };
        out.push(c);
        cur = { c, last: r };
      }
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

export async function loadReplay(
  source: string,
  days: number,
): Promise<{
  conversations: Conversation[];
  start: number;
  days: number;
  records: number;
  accounts: AccountSpec[];
}> {
  let rows: UsageRow[];
  let accounts: AccountSpec[];
  if (source === 'db') ({ rows, accounts } = await rowsFromDb(days));
  else {
    const csv = rowsFromCsv(readFileSync(source, 'utf8'));
    rows = csv.rows;
    // plans are not in the export: every account of the file is taken as a Plus unless --accounts says otherwise
    accounts = csv.accountLabels.map(() => ({ plan: 'plus', reservePercent: 0, maxConcurrent: null }));
  }
  if (!rows.length) throw new Error(`replay: no usage records in ${source}`);
  const last = Math.max(...rows.map((r) => r.at));
  const from = last - days * DAY;
  rows = rows.filter((r) => r.at >= from);
  const start = Math.min(...rows.map((r) => r.at));
  return {
    conversations: conversationsFrom(rows),
    start,
    days: Math.max(1, Math.ceil((last - start) / DAY)),
    records: rows.length,
    accounts,
  };
}
