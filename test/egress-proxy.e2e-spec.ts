import { createServer as createHttpServer, type Server } from 'node:http';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { createProxy, type ProxyServer } from 'proxy';
import { createServer as createSocksServer } from '@pondwader/socks5-server';
import { UsagePoller } from '../src/accounts/pool/usage-poller.js';
import { ProxyHealth } from '../src/accounts/proxy-health.js';
import { RedisService } from '../src/redis/redis.service.js';
import type { PoolAccount } from '../src/accounts/account-source.js';
import { createAdminKey } from './support/auth.js';
import { call, type CallResult } from './support/http.js';
import { gatewayWithAccounts, useFakeGateway } from './support/scenario.js';
import { connectWs } from './support/ws.js';
import { eventually, query } from './support/wait.js';

/**
 * Per-account egress proxy (issue 25 item 1). Three loopback proxies started here: an HTTP forward proxy (the
 * `proxy` package: absolute-URI requests and CONNECT, Basic credentials) whose outgoing connections leave from
 * 127.0.0.2, and a SOCKS5 proxy (@pondwader/socks5-server, RFC 1929 credentials) leaving from 127.0.0.3. The fake
 * upstream records the peer address of every request, so each call of an account shows which way it went:
 * 127.0.0.2 = through the HTTP proxy, 127.0.0.3 = through SOCKS5, 127.0.0.1 = direct.
 */
const HTTP_SECRET = 'hp-Secret-7c1e9a';
const SOCKS_SECRET = 'sx-Secret-4b2d8f';
const DEAD_SECRET = 'dd-Secret-90aa31';
const SECRETS = [HTTP_SECRET, SOCKS_SECRET, DEAD_SECRET];

const s = useFakeGateway(5, {
  POOL_STRATEGY: 'round-robin',
  POOL_MAX_ATTEMPTS: '3',
  PROXY_PROBE_SECONDS: '3600',
});
let admin: string;
let httpProxy: ProxyServer;
let httpPort: number;
const tunnels: string[] = [];
const tunnelSockets = new Set<import('node:stream').Duplex>();
const absolute: string[] = [];
let socks: ReturnType<typeof createSocksServer>;
let socksPort: number;
let socksConnections = 0;
/** Every response body the test got from the gateway, scanned for the proxy credentials at the end. */
const seen: string[] = [];

const listen = (srv: Server) =>
  new Promise<number>((resolve) =>
    srv.listen(0, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port)),
  );

function startHttpProxy(port = 0, password = HTTP_SECRET): Promise<{ srv: ProxyServer; port: number }> {
  const srv = createProxy(createHttpServer());
  srv.localAddress = '127.0.0.2';
  srv.authenticate = (req) =>
    req.headers['proxy-authorization'] === `Basic ${Buffer.from(`hp-user:${password}`).toString('base64')}`;
  srv.on('connect', (req, socket) => {
    tunnels.push(String(req.url));
    tunnelSockets.add(socket);
    socket.once('close', () => tunnelSockets.delete(socket));
  });
  srv.on('request', (req) => absolute.push(String(req.url)));
  return new Promise((resolve) =>
    srv.listen(port, '127.0.0.1', () => resolve({ srv, port: (srv.address() as AddressInfo).port })),
  );
}

beforeAll(async () => {
  admin = (await createAdminKey(s.gw)).key;
  ({ srv: httpProxy, port: httpPort } = await startHttpProxy());
  socks = createSocksServer({ auth: { username: 'sx-user', password: SOCKS_SECRET } });
  // The library speaks SOCKS5; the outgoing leg is ours only to leave from 127.0.0.3.
  socks.setConnectionHandler((conn, sendStatus) => {
    socksConnections++;
    const out = tcpConnect({ host: conn.destAddress, port: conn.destPort, localAddress: '127.0.0.3' });
    out.once('connect', () => {
      sendStatus('REQUEST_GRANTED');
      conn.socket.pipe(out).pipe(conn.socket);
    });
    out.once('error', () => sendStatus('HOST_UNREACHABLE'));
    conn.socket.once('error', () => out.destroy());
  });
  // The library keeps its net.Server private: take a free port first, then listen on it.
  const free = createHttpServer();
  socksPort = await listen(free);
  await new Promise((r) => free.close(r));
  await new Promise<void>((r) => socks.listen(socksPort, '127.0.0.1', () => r()));
});

afterAll(async () => {
  await new Promise((r) => httpProxy?.close(r));
  await new Promise((r) => socks?.close(r));
});

async function api(method: string, path: string, body?: unknown): Promise<CallResult> {
  const r = await call(s.gw, method, `/admin/api/accounts${path}`, { key: admin, body });
  seen.push(r.text);
  return r;
}

const [HTTP, SOCKS, DIRECT] = [0, 1, 2];
const httpUrl = () => `http://hp-user:${HTTP_SECRET}@127.0.0.1:${httpPort}`;
const socksUrl = () => `socks5://sx-user:${SOCKS_SECRET}@127.0.0.1:${socksPort}`;

/** Peer addresses of the fake's requests on `path` for the account (by its ChatGPT account id). */
function from(i: number, path: string): string[] {
  const id = s.accts[i].fake.chatgptAccountId;
  return s.fake.requests
    .filter((r) => r.path.startsWith(path) && (r.chatgptAccountId ?? r.headers['chatgpt-account-id']) === id)
    .map((r) => r.remoteAddress!.replace(/^::ffff:/, ''));
}

/** Only account i serves (so a model request lands on it). */
async function only(i: number) {
  for (let j = 0; j < s.accts.length; j++)
    expect((await api('PATCH', `/${s.accts[j].id}`, { enabled: j === i })).status).toBe(200);
}

async function ask(): Promise<CallResult> {
  const r = await call(s.gw, 'POST', '/v1/responses', {
    key: s.key,
    body: { model: 'gpt-5.5', input: `hello ${Math.random()}` },
  });
  seen.push(r.text);
  return r;
}

describe('every call kind of an account goes through its own proxy; an account without one goes direct', () => {
  it('PATCH proxyUrl: stored sealed, shown as scheme and host:port only, shared endpoints flagged, bad URLs a 400 naming the field', async () => {
    const bad = await api('PATCH', `/${s.accts[HTTP].id}`, { proxyUrl: `ftp://u:${HTTP_SECRET}@h:1` });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ param: 'proxyUrl', code: 'invalid_proxy_url' });

    const a = await api('PATCH', `/${s.accts[HTTP].id}`, { proxyUrl: httpUrl() });
    expect(a.status).toBe(200);
    expect(a.body.proxy).toEqual({
      via: 'proxy',
      endpoint: `http://127.0.0.1:${httpPort}`,
      scheme: 'http',
      host: '127.0.0.1',
      port: httpPort,
      sharedWith: [],
    });
    expect((await api('PATCH', `/${s.accts[SOCKS].id}`, { proxyUrl: socksUrl() })).body.proxy).toMatchObject({
      endpoint: `socks5://127.0.0.1:${socksPort}`,
    });
    // Two accounts behind one proxy endpoint are flagged (they look like one address upstream).
    const shared = await api('PATCH', `/${s.accts[DIRECT].id}`, { proxyUrl: httpUrl() });
    expect(shared.body.proxy.sharedWith).toEqual([s.accts[HTTP].id]);
    const list = await api('GET', '');
    const byId = new Map(list.body.data.map((x: any) => [x.id, x]));
    expect((byId.get(s.accts[HTTP].id) as any).proxy.sharedWith).toEqual([s.accts[DIRECT].id]);
    const cleared = await api('PATCH', `/${s.accts[DIRECT].id}`, { proxyUrl: null });
    expect(cleared.body.proxy).toMatchObject({ via: 'direct', endpoint: null, sharedWith: [] });

    const rows = await query(s.gw, `SELECT "proxyUrlSealed", "proxyEndpoint" FROM accounts`);
    for (const r of rows) {
      if (r.proxyUrlSealed) expect(Buffer.from(r.proxyUrlSealed).toString('latin1')).not.toMatch(/Secret/);
    }
    // Audited without the credential.
    const audit = await query(
      s.gw,
      `SELECT details::text AS d FROM audit_logs WHERE action = 'account.updated'`,
    );
    expect(audit.some((r) => r.d.includes(`127.0.0.1:${httpPort}`))).toBe(true);
  });

  it('inference (HTTP and WebSocket), usage poll, token refresh, re-login code exchange and revocation', async () => {
    const poller = s.gw.app.get(UsagePoller);
    const redis = s.gw.app.get(RedisService);
    for (const i of [HTTP, SOCKS, DIRECT]) {
      await only(i);
      const a = s.accts[i];
      expect((await ask()).status).toBe(200);
      // The WebSocket path: the gateway relays response.create frames as upstream HTTP calls of the account.
      const ws = await connectWs(s.gw, s.key);
      ws.ws.send(
        JSON.stringify({
          type: 'response.create',
          model: 'gpt-5.5',
          stream: true,
          input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'ws hello' }] }],
        }),
      );
      expect((await ws.next((f) => f.type === 'response.completed' || f.type === 'error')).type).toBe(
        'response.completed',
      );
      ws.ws.close();
      // The poller's start-up round may have claimed this account a moment ago: drop the claim, poll now.
      await redis.client.del(redis.key('pool', 'polled', a.id));
      expect(await poller.pollOnce({ id: a.id, label: `acct${i}` } as PoolAccount)).toBe('ok');
      expect((await api('POST', `/${a.id}/refresh`)).status).toBe(200);
      // Re-login of this account: the code exchange goes through its stored proxy.
      const start = await api('POST', '/oauth/start', { accountId: a.id });
      expect(start.status).toBe(200);
      const auth = await fetch(`${start.body.authorizeUrl}&__fake_account=${a.fake.chatgptAccountId}`, {
        redirect: 'manual',
      });
      const done = await api('POST', '/oauth/complete', {
        loginId: start.body.loginId,
        callbackUrl: auth.headers.get('location'),
      });
      expect(done.status).toBe(200);
      expect(done.body.account.proxy.via).toBe(i === DIRECT ? 'direct' : 'proxy'); // kept
    }
    // Revocation: deleting an account revokes its refresh token through its proxy. Last, on a fresh gateway state.
    for (const i of [HTTP, SOCKS]) expect((await api('DELETE', `/${s.accts[i].id}`)).status).toBe(200);

    const want = { [HTTP]: '127.0.0.2', [SOCKS]: '127.0.0.3', [DIRECT]: '127.0.0.1' } as Record<
      number,
      string
    >;
    for (const i of [HTTP, SOCKS, DIRECT]) {
      for (const path of ['/backend-api/codex/responses', '/backend-api/wham/usage', '/oauth/token']) {
        const addrs = from(i, path);
        expect({ i, path, n: addrs.length > 0 }).toEqual({ i, path, n: true });
        expect({ i, path, addrs: [...new Set(addrs)] }).toEqual({ i, path, addrs: [want[i]] });
      }
      // Two model calls (HTTP and WebSocket) at least, and the refresh plus the code exchange.
      expect(from(i, '/backend-api/codex/responses').length).toBeGreaterThanOrEqual(2);
      expect(from(i, '/oauth/token').length).toBeGreaterThanOrEqual(2);
    }
    for (const i of [HTTP, SOCKS]) expect(from(i, '/oauth/revoke')).toEqual([want[i]]);
    // The HTTP proxy only ever saw CONNECT tunnels (it never sees a request, nor its bearer token, in clear).
    expect(tunnels.length).toBeGreaterThan(0);
    expect(absolute).toEqual([]);
    expect(socksConnections).toBeGreaterThan(0);
  });
});

describe('a proxy given at login start and at import', () => {
  it('a bad one is a 400 naming proxyUrl; the device login calls the issuer through it; an import stores it', async () => {
    const bad = await api('POST', '/oauth/start', { proxyUrl: `socks4://u:${SOCKS_SECRET}@h:1` });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ param: 'proxyUrl', code: 'invalid_proxy_url' });
    const dev = await api('POST', '/device/start', { proxyUrl: httpUrl() });
    expect(dev.status).toBe(200);
    const issuer = s.fake.requests.filter((r) => r.path === '/api/accounts/deviceauth/usercode');
    expect(issuer.map((r) => r.remoteAddress!.replace(/^::ffff:/, ''))).toEqual(['127.0.0.2']);
    await api('DELETE', `/logins/${dev.body.loginId}`);

    const f = s.fake.addAccount();
    const authJson = {
      tokens: { id_token: f.idToken, access_token: f.accessToken, refresh_token: f.refreshToken },
      last_refresh: new Date().toISOString(),
    };
    const imp = await api('POST', '/import', { authJson, label: 'imported', proxyUrl: socksUrl() });
    expect(imp.status).toBe(200);
    expect(imp.body.account.proxy).toMatchObject({
      via: 'proxy',
      endpoint: `socks5://127.0.0.1:${socksPort}`,
    });
    expect((await api('DELETE', `/${imp.body.account.id}?revoke=false`)).status).toBe(200);
  });
});

/** acct2 direct, acct3 behind a dead proxy, acct4 behind a proxy that refuses its credentials. */
describe('a dead or refusing proxy', () => {
  const [OK, DEAD, REFUSED] = [2, 3, 4];
  let deadPort: number;

  it('fails over with no client-visible error and names the cause with the proxy host', async () => {
    // A port nothing listens on (taken, then closed).
    const probe = createHttpServer();
    deadPort = await listen(probe);
    await new Promise((r) => probe.close(r));
    for (const i of [OK, DEAD, REFUSED])
      expect((await api('PATCH', `/${s.accts[i].id}`, { enabled: true })).status).toBe(200);
    expect(
      (
        await api('PATCH', `/${s.accts[DEAD].id}`, {
          proxyUrl: `http://dd-user:${DEAD_SECRET}@127.0.0.1:${deadPort}`,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await api('PATCH', `/${s.accts[REFUSED].id}`, {
          proxyUrl: `http://hp-user:wrong-${DEAD_SECRET}@127.0.0.1:${httpPort}`,
        })
      ).status,
    ).toBe(200);
    // Round-robin: every request meets each account in turn; none fails for the client.
    for (let n = 0; n < 6; n++) expect((await ask()).status).toBe(200);
    await eventually(async () => {
      const rows = await query(s.gw, `SELECT id, status FROM accounts WHERE id = ANY($1::uuid[])`, [
        [s.accts[DEAD].id, s.accts[REFUSED].id],
      ]);
      return rows.length === 2 && rows.every((r) => r.status === 'proxy_unreachable');
    }, 'both proxied accounts marked proxy_unreachable');
    const dead = (await api('GET', `/${s.accts[DEAD].id}`)).body;
    expect(dead.health).toMatchObject({ cause: 'proxy_unreachable', serving: false });
    expect(dead.health.message).toContain(`http://127.0.0.1:${deadPort}`);
    expect(dead.health.message).toMatch(/ECONNREFUSED/);
    expect(dead.health.fix).toMatch(/proxy/);
    const refused = (await api('GET', `/${s.accts[REFUSED].id}`)).body;
    expect(refused.health.message).toMatch(/407/);
    expect((await api('GET', `/${s.accts[OK].id}`)).body.status).toBe('active');
    // Out of the pool: requests go on being answered by the direct account alone.
    for (let n = 0; n < 3; n++) expect((await ask()).status).toBe(200);
  });

  it('is probed back once the proxy answers again', async () => {
    const health = s.gw.app.get(ProxyHealth);
    expect(await health.probeAll()).toEqual([]); // still dead, still refusing

    const revived = await startHttpProxy(deadPort, DEAD_SECRET.replace(/.*/, DEAD_SECRET));
    try {
      // The revived proxy takes the dead account's credentials (user dd-user is not hp-user: accept both).
      revived.srv.authenticate = (req) =>
        req.headers['proxy-authorization'] ===
        `Basic ${Buffer.from(`dd-user:${DEAD_SECRET}`).toString('base64')}`;
      expect(await health.probeAll()).toEqual([s.accts[DEAD].id]);
      expect((await api('GET', `/${s.accts[DEAD].id}`)).body.health.cause).toBe('active');
      expect((await api('GET', `/${s.accts[REFUSED].id}`)).body.health.cause).toBe('proxy_unreachable');
      // A corrected proxy gives the refusing account a fresh start at once (audited as a status change).
      const fixed = await api('PATCH', `/${s.accts[REFUSED].id}`, { proxyUrl: httpUrl() });
      expect(fixed.body).toMatchObject({ status: 'active', health: { cause: 'active' } });
      const changes = await query(
        s.gw,
        `SELECT details->>'reason' AS reason FROM audit_logs WHERE action = 'account.status_changed' AND "targetId" = $1`,
        [s.accts[REFUSED].id],
      );
      expect(changes.map((c) => c.reason)).toEqual(['HTTP 407, credentials refused', 'proxy changed']);
    } finally {
      for (const t of tunnelSockets) t.destroy(); // the gateway's keep-alive tunnels too
      await new Promise((r) => revived.srv.close(r));
    }
  });

  it('no proxy credential in any response, log line, metric or audit row', async () => {
    const metrics = await (await fetch(`${s.gw.url}/metrics`)).text();
    const audit = (await query(s.gw, `SELECT details::text AS d FROM audit_logs`)).map((r) => r.d).join('\n');
    const endpoints = (await query(s.gw, `SELECT "proxyEndpoint" AS e FROM accounts`)).map((r) =>
      String(r.e),
    );
    for (const secret of SECRETS) {
      expect(seen.join('\n')).not.toContain(secret);
      expect(s.gw.logs.text).not.toContain(secret);
      expect(metrics).not.toContain(secret);
      expect(audit).not.toContain(secret);
      expect(endpoints.join('\n')).not.toContain(secret);
    }
    // The user names too: the API and logs show scheme://host:port only.
    for (const user of ['hp-user', 'sx-user', 'dd-user']) {
      expect(seen.join('\n')).not.toContain(user);
      expect(s.gw.logs.text).not.toContain(user);
    }
    expect(seen.length).toBeGreaterThan(20);
  });
});

describe('HTTPS_PROXY / HTTP_PROXY / NO_PROXY: the default for accounts without their own', () => {
  const VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
  async function withEnv(env: Record<string, string>, fn: () => Promise<void>) {
    const saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]));
    for (const k of VARS) delete process.env[k];
    Object.assign(process.env, env);
    try {
      await fn();
    } finally {
      for (const k of VARS) delete process.env[k];
      for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
    }
  }

  /** A gateway started under `env` with two accounts: #0 without a proxy, #1 with its own SOCKS5 one. */
  async function run(env: Record<string, string>): Promise<{ own: string[]; none: string[]; via: string }> {
    let out = { own: [] as string[], none: [] as string[], via: '' };
    await withEnv(env, async () => {
      const g = await gatewayWithAccounts(s.fake, 2, { POOL_STRATEGY: 'round-robin' });
      try {
        const key = (await createAdminKey(g.gw)).key;
        const patch = (i: number, body: unknown) =>
          call(g.gw, 'PATCH', `/admin/api/accounts/${g.accts[i].id}`, { key, body });
        expect((await patch(1, { proxyUrl: socksUrl() })).status).toBe(200);
        const via = (await call(g.gw, 'GET', `/admin/api/accounts/${g.accts[0].id}`, { key })).body.proxy.via;
        for (const i of [0, 1]) {
          await patch(i, { enabled: true });
          await patch(1 - i, { enabled: false });
          const r = await call(g.gw, 'POST', '/v1/responses', {
            key: g.key,
            body: { model: 'gpt-5.5', input: `env ${Math.random()}` },
          });
          expect(r.status).toBe(200);
        }
        const addrs = (i: number) =>
          s.fake.requests
            .filter(
              (r) =>
                r.path === '/backend-api/codex/responses' &&
                r.chatgptAccountId === g.accts[i].fake.chatgptAccountId,
            )
            .map((r) => r.remoteAddress!.replace(/^::ffff:/, ''));
        out = { none: addrs(0), own: addrs(1), via };
      } finally {
        await g.gw.close();
      }
    });
    return out;
  }

  it('an account without its own proxy leaves through the environment proxy; its own proxy wins; NO_PROXY goes direct', async () => {
    const viaEnv = await run({ HTTP_PROXY: httpUrl(), HTTPS_PROXY: httpUrl() });
    expect(viaEnv).toEqual({ via: 'environment', none: ['127.0.0.2'], own: ['127.0.0.3'] });
    const noProxy = await run({ HTTP_PROXY: httpUrl(), NO_PROXY: '127.0.0.1' });
    expect(noProxy).toEqual({ via: 'environment', none: ['127.0.0.1'], own: ['127.0.0.3'] });
  });
});
