import { jest } from '@jest/globals';
import { FakeUpstream } from './fake-upstream/index.ts';
import { startGateway, type TestGateway } from './support/gateway.js';
import { createKey } from './support/auth.js';
import { seedAccount } from './support/accounts.js';
import { CodexHome, type CodexRun } from './support/codex-cli.js';

/**
 * The real Codex CLI 0.169 (npm @openai/codex) against the gateway and the fake upstream, in both documented
 * setups: a custom provider (`model_providers.gateway`) and the built-in provider with `openai_base_url` and the
 * key from `codex login --with-api-key`. Asserts the transport each run used from the gateway's own log lines
 * (WebSocket opened / upgrade answered 426 / POST /v1/responses), and prints the timings.
 */
jest.setTimeout(240_000);

let fake: FakeUpstream;
let wsOn: { gw: TestGateway; key: string };
let wsOff: { gw: TestGateway; key: string };
const homes: CodexHome[] = [];
const timings: Record<string, number> = {};

async function gateway(websocket: boolean) {
  const gw = await startGateway({
    env: {
      OPENAI_AUTH_ISSUER: fake.url,
      CODEX_BASE_URL: fake.codexBaseUrl,
      RESPONSES_WEBSOCKET: websocket ? 'true' : 'false',
    },
  });
  const a = fake.addAccount();
  await seedAccount(gw, { ...a, accessTokenExpiresAt: a.accessExpiresAt });
  const { key } = await createKey(gw);
  return { gw, key };
}

beforeAll(async () => {
  fake = await FakeUpstream.start();
  [wsOn, wsOff] = await Promise.all([gateway(true), gateway(false)]);
});
afterAll(async () => {
  for (const h of homes) h.cleanup();
  await Promise.all([wsOn.gw.close(), wsOff.gw.close()]);
  await fake.close();
  console.log(
    'Codex CLI 0.169, start → answer (ms):\n' +
      Object.entries(timings)
        .map(([k, v]) => `  ${k.padEnd(40)} ${v}`)
        .join('\n'),
  );
});
beforeEach(() => fake.reset());

/** Counters of the gateway's transports (Prometheus): WebSocket upgrades by outcome, frames, HTTP /v1/responses. */
async function counters(gw: TestGateway) {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const sum = (re: RegExp) =>
    text
      .split('\n')
      .filter((l) => re.test(l))
      .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  const ws = sum(/^cg_ws_responses_total\{kind="response"\}/);
  return {
    wsOpened: sum(/^cg_ws_upgrades_total\{outcome="accepted"\}/),
    upgrades426: sum(/^cg_ws_upgrades_total\{outcome="off"\}/),
    // Every response (HTTP or WebSocket) is one cg_requests_total{endpoint="responses"}; the rest came over HTTP.
    httpPosts: sum(/^cg_requests_total\{endpoint="responses"/) - ws,
    errors5xx: sum(/^cg_requests_total\{.*status="5/),
  };
}

type Counters = Awaited<ReturnType<typeof counters>>;
const diff = (a: Counters, b: Counters) =>
  Object.fromEntries(
    Object.keys(a).map((k) => [k, b[k as keyof Counters] - a[k as keyof Counters]]),
  ) as Counters;

async function runCli(
  target: { gw: TestGateway; key: string },
  kind: 'custom' | 'builtin',
  prompt: string,
  opts: { websockets?: boolean; extraToml?: string } = {},
): Promise<{ run: CodexRun; t: Counters }> {
  const home = new CodexHome({
    kind,
    gatewayUrl: target.gw.url,
    key: target.key,
    websockets: opts.websockets ?? true,
    extraToml: opts.extraToml,
  });
  homes.push(home);
  if (kind === 'builtin') expect((await home.login()).code).toBe(0);
  const before = await counters(target.gw);
  const run = await home.exec(prompt);
  if (run.code !== 0) console.log(run.stderr.slice(-4000));
  // The CLI exits on response.completed; the gateway counts a response once its reply has ended.
  const deadline = Date.now() + 5000;
  let t = diff(before, await counters(target.gw));
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = diff(before, await counters(target.gw));
    const settled = JSON.stringify(now) === JSON.stringify(t) && now.httpPosts + now.wsOpened > 0;
    t = now;
    if (settled) break;
  }
  return { run, t };
}

const toolCall = {
  functionCalls: [
    {
      name: 'exec_command',
      arguments: JSON.stringify({ cmd: 'echo hello-from-tool', yield_time_ms: 1000 }),
    },
  ],
};

describe('plain turn and tool-call round trip', () => {
  it('baseline: custom provider over HTTP only (supports_websockets off)', async () => {
    fake.respondWith({ text: 'Hello over HTTP' });
    const { run, t } = await runCli(wsOn, 'custom', 'say hi', { websockets: false });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Hello over HTTP');
    expect(t).toMatchObject({ wsOpened: 0, upgrades426: 0, errors5xx: 0 });
    expect(t.httpPosts).toBe(1);
    timings['custom provider, HTTP only (baseline)'] = run.ms;
  });

  for (const kind of ['custom', 'builtin'] as const) {
    it(`${kind}: plain turn over WebSocket`, async () => {
      fake.respondWith({ text: `Hello over WebSocket (${kind})` });
      const { run, t } = await runCli(wsOn, kind, 'say hi');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Hello over WebSocket (${kind})`);
      expect(t.wsOpened).toBeGreaterThanOrEqual(1);
      expect(t).toMatchObject({ httpPosts: 0, upgrades426: 0, errors5xx: 0 });
      // The prewarm is answered by the gateway: exactly one upstream call for the turn, as plain HTTP.
      expect(fake.requestsTo('/backend-api/codex/responses')).toHaveLength(1);
      timings[`${kind}, WebSocket`] = run.ms;
    });

    it(`${kind}: tool-call round trip over WebSocket (history rebuilt from previous_response_id)`, async () => {
      fake.respondWith(toolCall);
      fake.respondWith({ text: 'Tool said hello. Done.' });
      const { run, t } = await runCli(wsOn, kind, 'run echo hello-from-tool');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Tool said hello. Done.');
      expect(t.wsOpened).toBeGreaterThanOrEqual(1);
      expect(t).toMatchObject({ httpPosts: 0, errors5xx: 0 });
      const calls = fake.requestsTo('/backend-api/codex/responses');
      expect(calls).toHaveLength(2);
      const second = calls[1];
      // Same turn: the turn state the upstream issued comes back; the whole history goes up over HTTP.
      expect(second.headers['x-codex-turn-state']).toBe(fake.turnStates[0]);
      expect(second.body.previous_response_id).toBeUndefined();
      const types = second.body.input.map((i: any) => i.type);
      expect(types.slice(-2)).toEqual(['function_call', 'function_call_output']);
      expect(second.body.input.length).toBe(calls[0].body.input.length + 2);
      expect(second.body.input.at(-1).call_id).toBe(second.body.input.at(-2).call_id);
    });

    it(`${kind}: WebSocket switched off → one 426, then HTTP for the session (plain + tool)`, async () => {
      fake.respondWith({ text: `Hello after 426 (${kind})` });
      const plain = await runCli(wsOff, kind, 'say hi');
      expect(plain.run.code).toBe(0);
      expect(plain.run.stdout).toContain(`Hello after 426 (${kind})`);
      expect(plain.t).toMatchObject({ wsOpened: 0, upgrades426: 1, httpPosts: 1, errors5xx: 0 });
      timings[`${kind}, WebSocket off (426 → HTTP)`] = plain.run.ms;

      fake.respondWith(toolCall);
      fake.respondWith({ text: 'Tool done over HTTP.' });
      const tool = await runCli(wsOff, kind, 'run echo hello-from-tool');
      expect(tool.run.code).toBe(0);
      expect(tool.run.stdout).toContain('Tool done over HTTP.');
      expect(tool.t).toMatchObject({ wsOpened: 0, upgrades426: 1, httpPosts: 2, errors5xx: 0 });
    });
  }

  it('every setup answers within 2 s of the HTTP baseline', () => {
    const base = timings['custom provider, HTTP only (baseline)'];
    expect(base).toBeGreaterThan(0);
    for (const [name, ms] of Object.entries(timings))
      expect({ name, delta: ms - base < 2000 }).toEqual({ name, delta: true });
  });
});

describe('remote compaction through the gateway', () => {
  it('a long turn triggers the CLI remote compaction (v2), served through the WebSocket', async () => {
    fake.respondWith({ ...toolCall, usage: { input_tokens: 5000 } });
    fake.respondWith({ text: 'Finished after compaction.' });
    const { run, t } = await runCli(wsOn, 'builtin', 'run echo hello-from-tool', {
      extraToml: 'model_auto_compact_token_limit = 1000',
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('context compacted');
    expect(run.stdout).toContain('Finished after compaction.');
    expect(t).toMatchObject({ httpPosts: 0, errors5xx: 0 });
    const calls = fake.requestsTo('/backend-api/codex/responses');
    const trigger = calls.find((c) => c.body.input.at(-1)?.type === 'compaction_trigger');
    expect(trigger).toBeDefined();
    expect(trigger!.headers['x-codex-beta-features']).toBe('remote_compaction_v2');
    // After compaction the CLI continues from the compacted history (the compaction item the fake issued).
    const after = calls.at(-1)!;
    expect(after.body.input.some((i: any) => i.type === 'compaction')).toBe(true);
  });
});
