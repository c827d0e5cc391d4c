/**
 * One simulated run: the team's conversations against the simulated backend, routed by the REAL choice code
 * (`chooseAccount` of src/accounts/pool/pool-choice.ts, which runs `scoreAccounts` for the score strategy) fed the
 * way PoolService.pick feeds it (cooldowns, tried accounts, the sticky account, in-flight counts, the last used %),
 * with the real usage-state model (applyReport / learnCapacity) and the real refresh rule (refreshDueAt).
 * Time is a number advanced by an event queue: nothing sleeps.
 */
import { chooseAccount, type Candidate } from '../src/accounts/pool/pool-choice.ts';
import { explainScore, scoreAccounts } from '../src/accounts/pool/score.ts';
import {
  applyReport,
  emptyUsageState,
  learnCapacity,
  type UsageState,
  type WindowKind,
} from '../src/accounts/pool/usage-state.ts';
import { firstPollDelay, nextPollDelay } from '../src/accounts/pool/poll-schedule.ts';
import { refreshDueAt } from '../src/accounts/refresh-due.ts';
import { CACHED_COST, OUTPUT_COST, SimBackend, type Report } from './backend.ts';
import { DAY, HOUR, rng, type Conversation } from './workload.ts';
import { Queue } from './event-queue.ts';
import type { Metrics, PickedAccount, RunOptions } from './types.ts';

const DRY_POLL_AGE_MS = 30_000;
const maxUsed = (rep: Report) => Math.max(...rep.windows.map((w) => w.usedPercent));

interface ConvState {
  c: Conversation;
  input: number;
  accounts: Set<string>;
  reasoningFrom: string | null;
  cacheKey: string;
  /** When its last turn ended and that turn's output (the gateway's cost estimate of the next turn). */
  lastAt: number;
  lastOutput: number;
}

/** Client-visible outcome of a pick PoolService refused (its ApiError status: 429 usage limit, 503 busy/none). */
const statusOf = (e: unknown) => (e as { httpStatus?: number } | null)?.httpStatus ?? 500;
/** The output tokens the gateway assumes for a conversation's first turn (workload.ts: 150–1500). */
const OUTPUT_GUESS = 600;

export async function run(o: RunOptions): Promise<Metrics> {
  const r = rng(o.seed);
  const backend = new SimBackend(
    { cacheTtlMs: o.cacheTtlMs, capacityScale: o.capacityScale },
    rng(o.seed + 7),
  );
  const q = new Queue();
  const end = o.start + o.days * DAY;
  let now = o.start;
  const score = o.strategy === 'score';

  // --- accounts (the same for every strategy: the backend's random source is seeded alike) ---
  const ids = o.accounts.map((_, i) => `acct${String(i + 1).padStart(2, '0')}`);
  o.accounts.forEach((a, i) =>
    backend.add({ id: ids[i], ...a, factor: 0.75 + 0.5 * rng(o.seed * 31 + i)(), now: o.start }),
  );
  const pool = o.accounts.map((a, i) => ({
    id: ids[i],
    label: ids[i],
    priority: 0,
    weight: 1,
    planType: a.plan,
    chatgptAccountId: ids[i],
    reservePercent: a.reservePercent,
    maxConcurrent: a.maxConcurrent,
  }));

  // --- the gateway's shared pool state (what PoolService keeps in Redis) ---
  const cooldown = new Map<string, { until: number; setAt: number }>();
  const inflight = new Map<string, number>(ids.map((id) => [id, 0]));
  const used = new Map<string, number>(); // pool:used — the highest used % of the last answer's windows
  const sticky = new Map<string, string>();
  let rr = 0;
  // health: consecutive failures → skip 15 s (AccountHealth), and a decaying failure share for the score
  const health = new Map<string, { consecutive: number; openUntil: number; rate: number }>(
    ids.map((id) => [id, { consecutive: 0, openUntil: 0, rate: 0 }]),
  );
  // usage state (the poller's and the response path's, read by the score)
  const usage = new Map<string, UsageState>(ids.map((id, i) => [id, emptyUsageState(o.accounts[i].plan)]));
  const learnAcc = new Map<string, Record<WindowKind, number>>(
    ids.map((id) => [id, { short: 0, weekly: 0 }]),
  );

  // --- tokens: one access token per account, refreshed by the worker at refreshDueAt, or on use when due ---
  const tokens = new Map<string, { exp: number; issued: number; refreshes: number }>();
  const refreshRng = rng(o.seed + 3);
  for (const id of ids) {
    const exp = o.start + refreshRng() * o.tokenTtlMs;
    tokens.set(id, { exp, issued: exp - o.tokenTtlMs, refreshes: 0 });
  }
  const due = (id: string) => {
    const t = tokens.get(id)!;
    return refreshDueAt(new Date(t.exp), o.refreshLeadSeconds, new Date(t.issued));
  };
  const refresh = (id: string) => {
    const t = tokens.get(id)!;
    t.issued = now;
    t.exp = now + o.tokenTtlMs;
    t.refreshes++;
  };
  const scheduleRefresh = (id: string) => {
    q.push(due(id), () => {
      if (now >= due(id)) refresh(id);
      scheduleRefresh(id);
    });
  };
  ids.forEach(scheduleRefresh);

  // --- metrics ---
  const m: Metrics = {
    strategy: o.strategy,
    turns: 0,
    served: 0,
    refusals: 0,
    refusalsWithHeadroom: 0,
    otherErrors: 0,
    foreignReasoningErrors: 0,
    cacheHitShare: 0,
    accountsPerConversation: 0,
    capacityUsedAtFirstRefusal: null,
    weeklyUsedAtFirstRefusal: null,
    capacityUsedWorstWeek: null,
    firstRefusalAt: null,
    sentToLimited: 0,
    sentIntoReserve: 0,
    sentOverCap: 0,
    refreshesMax: 0,
    refreshesAllowed: 0,
    costServed: 0,
    samples: [],
    accountIds: ids,
    service: o.service ? { reports: 0, polls: 0, failedPolls: 0, probeReads: 0 } : undefined,
  };
  let laterTurns = 0;
  let laterHits = 0;
  const weekFirst = new Map<number, number>();

  const applyState = (id: string, rep: Report, tokensServed: number) => {
    const prev = usage.get(id)!;
    let next = applyReport(prev, { plan: rep.plan, windows: rep.windows }, now);
    const acc = learnAcc.get(id)!;
    for (const kind of ['short', 'weekly'] as const) {
      acc[kind] += tokensServed;
      const before = prev[kind]?.usedPercent;
      const after = next[kind]?.usedPercent;
      if (before === undefined || after === undefined) continue;
      if (after < before)
        acc[kind] = 0; // a reset: the tokens since do not belong to the old window
      else if (after > before) {
        next = learnCapacity(next, kind, acc[kind], after - before);
        acc[kind] = 0;
      }
    }
    usage.set(id, next);
    // pool:used — today's response path stores the highest used % of the answer's windows (maxUsedPercent)
    used.set(id, maxUsed(rep));
  };

  // --- the wham/usage poller (score): at start, every pollEvery with jitter, sooner near a line and at resets ---
  const schedulePoll = (id: string, delay: number) => {
    q.push(now + delay, () => {
      if (r() >= o.pollFailureRate) {
        applyState(id, backend.report(id, now), 0);
        const c = cooldown.get(id);
        // a poll showing the account below its line again ends its cooldown (an early reset)
        if (c && c.until > now) {
          const res = scoreAccounts([candidate(id)], { now });
          if (res.chosen) cooldown.delete(id);
        }
      } // a failed poll changes nothing: the snapshot only ages
      const s = usage.get(id)!;
      const line = 100 - (o.accounts[ids.indexOf(id)].reservePercent ?? 0);
      const near = [s.short, s.weekly].some((w) => w && w.usedPercent >= line - 10);
      const resets = [s.short, s.weekly]
        .map((w) => w?.resetsAt ?? Infinity)
        .filter((t) => t > now && t - now < o.pollEveryMs)
        .map((t) => t - now + 5_000);
      const base = (near ? o.pollEveryMs / 4 : o.pollEveryMs) * (0.7 + 0.6 * r());
      if (now < end) schedulePoll(id, Math.min(base, ...resets));
    });
  };
  if (score && !o.service) ids.forEach((id, i) => schedulePoll(id, 1_000 + i * 997));

  /**
   * The pool looks dry to the score: poll (wham/usage costs no quota) every account whose snapshot is older than
   * DRY_POLL_AGE_MS or whose reset time passed since it was read, so an early reset is not missed for a whole poll
   * interval nor a reset for the score's grace.
   * True when a snapshot was refreshed.
   */
  const pollDry = (): boolean => {
    let any = false;
    for (const id of ids) {
      const s = usage.get(id)!;
      const wins = [s.short, s.weekly].filter((w) => w !== null);
      const asOf = Math.min(...wins.map((w) => w.asOf));
      // stale, or a reset time passed since the snapshot (it may be inside the score's grace: ask now)
      const resetSince = wins.some((w) => w.resetsAt !== null && w.resetsAt > w.asOf && w.resetsAt <= now);
      if (!(now - asOf >= DRY_POLL_AGE_MS || resetSince) || r() < o.pollFailureRate) continue;
      applyState(id, backend.report(id, now), 0);
      const c = cooldown.get(id);
      if (c && c.until > now && scoreAccounts([candidate(id)], { now }).chosen) cooldown.delete(id);
      any = true;
    }
    return any;
  };

  const candidate = (id: string): Candidate => {
    const p = pool[ids.indexOf(id)];
    const h = health.get(id)!;
    return {
      ...p,
      inFlight: inflight.get(id)!,
      usedPercent: used.has(id) ? used.get(id)! : null,
      usage: score ? usage.get(id)! : null,
      failureRate: h.openUntil > now ? 1 : h.rate,
      cooldown: cooldown.get(id) ?? null,
    };
  };

  /** PoolService.pick: cooling and tried accounts out (the score reads cooldowns itself), circuit-open last. */
  const pick = (stickyId: string | null, tried: Set<string>, nextTurnTokens: number): string | null => {
    const cands: Candidate[] = [];
    for (const id of ids) {
      if (tried.has(id)) continue;
      const c = cooldown.get(id);
      if (!score && c && c.until > now) continue;
      cands.push(candidate(id));
    }
    const open = cands.filter((c) => health.get(c.id)!.openUntil > now);
    const usable = open.length < cands.length ? cands.filter((c) => !open.includes(c)) : cands;
    const chosen = chooseAccount(usable, o.strategy, {
      stickyId,
      counter: ++rr, // PoolService: INCR returns the new value
      now,
      nextTurnTokens,
      weights: o.weights,
    });
    if (o.debug && score) o.debug(explainScore(scoreAccounts(usable, { now, stickyId, nextTurnTokens })));
    return chosen?.id ?? null;
  };

  const headroomAnywhere = () =>
    ids.some((id) => {
      const [s, w] = backend.usedPercent(id, now);
      const line = 100 - o.accounts[ids.indexOf(id)].reservePercent;
      return s < line - 1 && w < line - 1;
    });
  const poolUsedShare = () => {
    let rem = 0;
    let cap = 0;
    for (const id of ids) {
      const x = backend.remaining(id, now);
      // the binding window: the one with the fewest units left
      if (x.short / x.shortCap < x.weekly / x.weeklyCap) {
        rem += x.short;
        cap += x.shortCap;
      } else {
        rem += x.weekly;
        cap += x.weeklyCap;
      }
    }
    return 1 - rem / cap;
  };

  /** Nothing to pick only because accounts with headroom are at their maxConcurrent: busy (503), not a limit. */
  const busyOnly = (tried: Set<string>) => {
    if (!score) return false;
    const cands = ids.filter((id) => !tried.has(id)).map(candidate);
    const ex = scoreAccounts(cands, { now }).excluded;
    return ex.some((e) => e.reason === 'max_concurrent');
  };

  const refuse = () => {
    m.refusals++;
    if (headroomAnywhere()) m.refusalsWithHeadroom++;
    const share = poolUsedShare();
    if (m.firstRefusalAt === null) {
      m.firstRefusalAt = now;
      m.capacityUsedAtFirstRefusal = share;
      let rem = 0;
      let cap = 0;
      for (const id of ids) {
        const x = backend.remaining(id, now);
        rem += x.weekly;
        cap += x.weeklyCap;
      }
      m.weeklyUsedAtFirstRefusal = 1 - rem / cap;
    }
    const week = Math.floor((now - o.start) / (7 * DAY));
    if (!weekFirst.has(week)) weekFirst.set(week, share);
  };

  const fail = (id: string) => {
    const h = health.get(id)!;
    h.consecutive++;
    h.rate = h.rate * 0.8 + 0.2;
    if (h.consecutive >= 3) h.openUntil = now + 15_000;
  };
  const ok = (id: string) => {
    const h = health.get(id)!;
    h.consecutive = 0;
    h.openUntil = 0;
    h.rate *= 0.8;
  };

  const svc = o.service?.port;
  const svcHealth = o.service?.health;
  /**
   * Failover.pick (gateway/failover.ts): PoolService.pick skipping accounts whose circuit is open (the real
   * AccountHealth), unless that leaves nothing (a 503; a 429 is the client's answer). The picked account object is
   * kept: it carries the ended counter at pick to the report its answer brings (recordUsage).
   */
  const svcPick = async (
    stickyKey: string,
    tried: Set<string>,
  ): Promise<{ account: PickedAccount } | { status: number }> => {
    try {
      const skip = svcHealth!.skipped(now);
      let account: PickedAccount | undefined;
      if (skip.size) {
        try {
          account = await svc!.pick(stickyKey, new Set([...tried, ...skip]));
        } catch (err) {
          if (statusOf(err) !== 503) throw err;
        }
      }
      account ??= await svc!.pick(stickyKey, tried);
      svcHealth!.chosen(account.id, now);
      return { account };
    } catch (err) {
      return { status: statusOf(err) };
    }
  };

  // --- the wham/usage poller (usage-poller.ts, every strategy): its schedule (poll-schedule.ts), the ended
  // counter read before the GET, a failed read changing nothing; routing's own reads (UsageProbe) alike ---
  if (o.service) {
    const probeRng = rng(o.seed + 5);
    o.service.probe.reader = (id) => (probeRng() < o.pollFailureRate ? null : backend.report(id, now));
    const svcPoll = (id: string, delay: number) => {
      q.push(now + delay, async () => {
        const a = pool[ids.indexOf(id)];
        const endedBefore = await svc!.endedCount(id);
        const failed = r() < o.pollFailureRate;
        if (!failed) await svc!.recordUsage(a, backend.report(id, now), now, endedBefore);
        m.service!.polls++;
        if (failed) m.service!.failedPolls++;
        const state = (await svc!.usage.get(id)) as UsageState | null;
        if (now < end)
          svcPoll(id, nextPollDelay(state, now, r(), { failed, reservePercent: a.reservePercent }));
      });
    };
    ids.forEach((id) => svcPoll(id, firstPollDelay(r())));
  }

  const turn = async (cs: ConvState, idx: number) => {
    const t = cs.c.turns[idx];
    m.turns++;
    const input = cs.input + t.inputDelta;
    const tried = new Set<string>();
    let last: 'none' | 'usage_limit' | 'server_error' = 'none';
    let refused: number | null = null; // PoolService refused the pick (429 / 503) before any attempt
    for (let attempt = 0; attempt < o.maxAttempts; attempt++) {
      let id: string | null;
      let acct: PickedAccount | null = null;
      if (svc) {
        const p = await svcPick(cs.c.id, tried);
        if ('status' in p) refused = p.status;
        acct = 'account' in p ? p.account : null;
        id = acct?.id ?? null;
      } else {
        id = pick(sticky.get(cs.c.id) ?? null, tried, input);
        if (!id && score && pollDry()) id = pick(sticky.get(cs.c.id) ?? null, tried, input);
      }
      if (!id) break;
      tried.add(id);
      const spec = o.accounts[ids.indexOf(id)];
      const truth = backend.usedPercent(id, now);
      if (truth.some((u) => u >= 100)) m.sentToLimited++;
      else if (truth.some((u) => u >= 100 - spec.reservePercent)) m.sentIntoReserve++;
      if (spec.maxConcurrent !== null && inflight.get(id)! >= spec.maxConcurrent) m.sentOverCap++;
      if (now >= due(id)) refresh(id); // getCredentials: refresh first when the token is due
      const foreign = cs.reasoningFrom !== null && cs.reasoningFrom !== id;
      const res = backend.start(id, now, {
        cacheKey: cs.cacheKey,
        input,
        reasoningFrom: o.stripForeignReasoning && foreign ? null : cs.reasoningFrom,
      });
      if (res.kind === 'usage_limit') {
        applyState(id, res.report, 0); // 429s carry the x-codex-* figures too
        cooldown.set(id, { until: Math.max(res.resetAt, now + 1000), setAt: now });
        if (acct) {
          // account-attempt.ts: the answer's headers into the usage state; failover.ts: the cooldown
          await svc!.recordUsage(acct, res.report);
          m.service!.reports++;
          await svc!.coolDown(acct, Math.ceil(res.resetAt));
        }
        last = 'usage_limit';
        continue;
      }
      if (res.kind === 'server_error') {
        fail(id);
        svcHealth?.failure(id, id, now);
        last = 'server_error';
        continue;
      }
      if (res.kind === 'foreign_reasoning') {
        m.foreignReasoningErrors++;
        cs.accounts.add(id); // the conversation moved here (and broke): a turn ≥ 2 without its cache
        laterTurns++;
        return; // a 400 the client sees: the conversation ends here
      }
      // served: stickiness + in-flight (PoolService.begin), the answer completes later
      sticky.set(cs.c.id, id);
      inflight.set(id, inflight.get(id)! + 1);
      // The gateway's cost estimate (tokens): cached input only on the account that served the last turn while
      // its cache lives, the last turn's output as this one's (PoolService.begin/end take it; older builds ignore it).
      const cachedGuess = cs.reasoningFrom === id && now - cs.lastAt < o.cacheTtlMs ? cs.input : 0;
      const estimate = Math.round(input - cachedGuess * (1 - CACHED_COST) + OUTPUT_COST * cs.lastOutput);
      if (acct) {
        // account-attempt.ts: the answer's x-codex-* headers, written BEFORE its turn runs (so without its cost),
        // with the picked account object (it carries the ended counter at pick); then pipeline.service.ts's begin
        await svc!.recordUsage(acct, backend.report(id, now));
        m.service!.reports++;
        await svc!.begin(id, cs.c.id, estimate);
      }
      cs.accounts.add(id);
      if (idx >= 1) {
        laterTurns++;
        if (res.cachedTokens > 0) laterHits++;
      }
      const startedAt = now;
      q.push(now + t.durationMs, async () => {
        inflight.set(id, inflight.get(id)! - 1);
        const served = input - res.cachedTokens * (1 - CACHED_COST) + OUTPUT_COST * t.outputTokens;
        if (svc) {
          await svc.end(id, estimate, Math.round(served));
          svcHealth!.success(id, now); // metered-stream.ts: a stream that completed
        }
        const rep = backend.finish(id, startedAt, now, {
          cacheKey: cs.cacheKey,
          input,
          cached: res.cachedTokens,
          output: t.outputTokens,
        });
        m.served++;
        m.costServed += served;
        ok(id);
        // The in-process state (with the answer's figures after the turn); PoolService got its report at the start.
        applyState(id, rep, input + t.outputTokens);
        cs.reasoningFrom = id;
        cs.input = input + t.outputTokens;
        cs.lastAt = now;
        cs.lastOutput = t.outputTokens;
        if (idx + 1 < cs.c.turns.length) q.push(now + t.gapAfterMs, () => turn(cs, idx + 1));
      });
      return;
    }
    // every attempt failed (or nothing could be picked): the client sees the error — with PoolService, the last
    // attempt's error, else the pick's own (failover.ts: 429 usage limit, 503 busy or none healthy)
    if (
      svc &&
      process.env.SIM_EXPLAIN_REFUSALS &&
      (last === 'usage_limit' || refused === 429) &&
      headroomAnywhere()
    ) {
      // a refusal while an account had headroom: what PoolService knew of each account then
      const lines = [
        `refusal ${new Date(now).toISOString()} conv ${cs.c.id} last=${last} pick=${refused} tried=${[...tried]}`,
      ];
      for (const id of ids) {
        const st = (await svc.usage.get(id)) as UsageState | null;
        const w = (k: 'short' | 'weekly') => {
          const x = st?.[k];
          return x
            ? `${x.usedPercent}%@${x.resetsAt ? new Date(x.resetsAt).toISOString().slice(11, 19) : '-'} asOf ${Math.round((now - x.asOf) / 1000)}s`
            : '-';
        };
        const [ts, tw] = backend.usedPercent(id, now);
        lines.push(
          `  ${id} truth ${ts.toFixed(1)}/${tw.toFixed(1)} line ${100 - o.accounts[ids.indexOf(id)].reservePercent} inflight ${inflight.get(id)} | short ${w('short')} weekly ${w('weekly')} capacity ${Math.round(st?.capacity.short.tokensPerPercent ?? 0)}/${Math.round(st?.capacity.weekly.tokensPerPercent ?? 0)} endedAtReport ${st?.endedAtReport} ended ${await svc.endedCount(id)}`,
        );
      }
      console.log(lines.join('\n'));
    }
    if (svc && last === 'none') {
      if (refused === 429) refuse();
      else m.otherErrors++;
    } else if (last === 'usage_limit' || (last === 'none' && !busyOnly(tried))) refuse();
    else m.otherErrors++;
  };

  const states: ConvState[] = [];
  for (const c of o.conversations) {
    if (c.start >= end) continue;
    const cs: ConvState = {
      c,
      input: c.baseInput,
      accounts: new Set(),
      reasoningFrom: null,
      cacheKey: c.id,
      lastAt: -Infinity,
      lastOutput: OUTPUT_GUESS,
    };
    states.push(cs);
    q.push(c.start, () => turn(cs, 0));
  }

  // --- the world: early resets, owners using their reserve, incidents (transient 5xx), hourly samples ---
  const world = rng(o.seed + 11);
  for (let i = 0; i < o.earlyResets; i++) {
    const id = ids[Math.floor(world() * ids.length)];
    q.push(o.start + world() * o.days * DAY, () => backend.earlyReset(id));
  }
  o.accounts.forEach((a, i) => {
    if (a.reservePercent <= 0 || o.ownerPercentPerDay <= 0) return;
    for (let d = 0; d < o.days; d++) {
      const dayStart = o.start + d * DAY;
      const wd = new Date(dayStart).getUTCDay();
      if (wd === 0 || wd === 6) continue;
      for (let h = 10; h < 18; h++) {
        q.push(dayStart + h * HOUR + world() * HOUR, () =>
          backend.ownerUse(ids[i], now, o.ownerPercentPerDay / 8),
        );
      }
    }
  });
  for (let i = 0; i < o.incidents; i++) {
    const id = ids[Math.floor(world() * ids.length)];
    const from = o.start + world() * o.days * DAY;
    backend.incidents.push({ account: id, from, to: from + HOUR, share: 0.5 });
  }
  if (o.sample) {
    for (let t = o.start; t <= end; t += HOUR) {
      q.push(t, () => {
        m.samples.push({ t: now, used: ids.map((id) => backend.usedPercent(id, now)[1]) });
      });
    }
  }

  for (let e = q.pop(); e; e = q.pop()) {
    if (e.t > end + DAY) break;
    now = e.t;
    if (o.clock) o.clock.now = now;
    await e.run();
  }

  // --- summary ---
  if (m.service) m.service.probeReads = o.service!.probe.reads;
  m.cacheHitShare = laterTurns ? laterHits / laterTurns : 1;
  // accounts per conversation, over the conversations served at least once
  const servedConvs = states.filter((c) => c.accounts.size > 0);
  m.accountsPerConversation =
    servedConvs.reduce((a, c) => a + c.accounts.size, 0) / Math.max(1, servedConvs.length);
  const weeks = [...weekFirst.values()];
  m.capacityUsedWorstWeek = weeks.length ? Math.min(...weeks) : null;
  // refreshes: the most any account did, against the CLI rule over the same span
  const span = o.days * DAY;
  m.refreshesMax = Math.max(...[...tokens.values()].map((t) => t.refreshes));
  m.refreshesAllowed = Math.ceil(span / (o.tokenTtlMs - o.refreshLeadSeconds * 1000)) + 1;
  return m;
}
