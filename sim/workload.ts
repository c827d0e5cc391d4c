/**
 * What the team asks for: conversations (a sequence of turns with their token sizes and the pauses between them),
 * generated from a team profile with a seeded random source, so every strategy sees exactly the same month.
 */

export const HOUR = 3600_000;
export const DAY = 24 * HOUR;

/** mulberry32: a small seeded PRNG (the simulator must be reproducible; Math.random is not seedable). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Turn {
  /** Tokens this turn adds to the input (the user's message or the tool outputs). */
  inputDelta: number;
  outputTokens: number;
  /** How long the upstream takes to answer (ms). */
  durationMs: number;
  /** Pause after the answer before the next turn (ms). */
  gapAfterMs: number;
}

export interface Conversation {
  id: string;
  user: string;
  kind: 'agent' | 'chat' | 'replay';
  start: number;
  /** Instructions + tools: the first turn's fixed input. */
  baseInput: number;
  turns: Turn[];
}

export interface TeamProfile {
  developers: number;
  days: number;
  /** Epoch ms of the first simulated day (a Monday 00:00 UTC by default). */
  start: number;
  workStartHour: number;
  workEndHour: number;
  /** Long agent sessions per developer per working day (mean). */
  agentSessionsPerDay: number;
  /** Short chats per developer per working day (mean). */
  chatsPerDay: number;
  /** Mean turns of an agent session (geometric-ish, 5…200). */
  agentTurnsMean: number;
  /** Share of days that are a crunch (every developer ×1.6). */
  crunchShare: number;
  /** Agent sessions started outside working hours (overnight runs), per developer per day. */
  overnightPerDay: number;
  /** Multiplies every rate (sizing: "what if the team works 30 % more?"). */
  load: number;
  seed: number;
}

export const DEFAULT_PROFILE: TeamProfile = {
  developers: 50,
  days: 30,
  start: Date.UTC(2026, 10, 2), // Monday 2 Nov 2026
  workStartHour: 9,
  workEndHour: 18,
  agentSessionsPerDay: 1,
  chatsPerDay: 2.25,
  agentTurnsMean: 30,
  crunchShare: 0.15,
  overnightPerDay: 0.05,
  load: 1,
  seed: 1,
};

function poisson(r: () => number, mean: number): number {
  let n = 0;
  let p = Math.exp(-mean);
  let s = p;
  const u = r();
  while (u > s && n < 1000) {
    n++;
    p *= mean / n;
    s += p;
  }
  return n;
}

const between = (r: () => number, lo: number, hi: number) => lo + (hi - lo) * r();

function agentTurns(r: () => number, mean: number): Turn[] {
  const n = Math.max(5, Math.min(200, Math.round(-mean * Math.log(1 - r()))));
  const turns: Turn[] = [];
  for (let i = 0; i < n; i++) {
    turns.push({
      inputDelta: Math.round(between(r, 300, 3500)),
      outputTokens: Math.round(between(r, 150, 1200)),
      durationMs: Math.round(between(r, 4_000, 45_000)),
      // tool calls come back in seconds; now and then the developer reads and types (minutes)
      gapAfterMs: Math.round(r() < 0.85 ? between(r, 1_000, 20_000) : between(r, 60_000, 600_000)),
    });
  }
  return turns;
}

function chatTurns(r: () => number): Turn[] {
  const n = 1 + Math.floor(r() * 8);
  const turns: Turn[] = [];
  for (let i = 0; i < n; i++) {
    turns.push({
      inputDelta: Math.round(between(r, 50, 1500)),
      outputTokens: Math.round(between(r, 200, 1500)),
      durationMs: Math.round(between(r, 2_000, 20_000)),
      gapAfterMs: Math.round(between(r, 20_000, 300_000)),
    });
  }
  return turns;
}

export function generate(p: TeamProfile): Conversation[] {
  const r = rng(p.seed);
  const out: Conversation[] = [];
  let n = 0;
  for (let d = 0; d < p.days; d++) {
    const dayStart = p.start + d * DAY;
    const weekday = new Date(dayStart).getUTCDay();
    const working = weekday !== 0 && weekday !== 6;
    const crunch = working && r() < p.crunchShare ? 1.6 : 1;
    for (let u = 0; u < p.developers; u++) {
      const user = `dev${u + 1}`;
      const workStart = dayStart + (p.workStartHour + between(r, -1, 1)) * HOUR;
      const workLen = (p.workEndHour - p.workStartHour) * HOUR;
      const at = () => {
        // two bursts: after the morning stand-up and after lunch
        const x = r();
        const t = x < 0.25 ? between(r, 0.05, 0.2) : x < 0.45 ? between(r, 0.5, 0.6) : r();
        return workStart + t * workLen;
      };
      if (working) {
        const agents = poisson(r, p.agentSessionsPerDay * crunch * p.load);
        for (let i = 0; i < agents; i++) {
          out.push({
            id: `c${++n}`,
            user,
            kind: 'agent',
            start: at(),
            baseInput: Math.round(between(r, 6_000, 14_000)),
            turns: agentTurns(r, p.agentTurnsMean),
          });
        }
        const chats = poisson(r, p.chatsPerDay * crunch * p.load);
        for (let i = 0; i < chats; i++) {
          out.push({
            id: `c${++n}`,
            user,
            kind: 'chat',
            start: at(),
            baseInput: Math.round(between(r, 1_500, 3_000)),
            turns: chatTurns(r),
          });
        }
      }
      const night = poisson(r, p.overnightPerDay * p.load);
      for (let i = 0; i < night; i++) {
        out.push({
          id: `c${++n}`,
          user,
          kind: 'agent',
          start: dayStart + between(r, 19, 23.5) * HOUR,
          baseInput: Math.round(between(r, 6_000, 14_000)),
          turns: agentTurns(r, p.agentTurnsMean * 2),
        });
      }
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
