// The featureless relay: the floor for any Node relay on this machine, run by bench/run.mjs as its own process.
// It does only what every relay must: checks one fixed bearer, rewrites the client's body into the Codex form
// (string input → one user message, chat messages → input items, instructions "", stream true, store false, the
// reasoning include) with the Codex headers, and pipes the upstream's SSE bytes back untouched (no parsing, no
// translation of chat answers, no limits, no accounting, no logging). Plain node:http + undici.
//
// Usage: node bench/relay.mjs <codexBaseUrl> <bearer the clients send> <account access token> <account id>
// Prints one JSON line `{ "url": ..., "pid": ... }` once listening.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';

const [base, bearer, accessToken, accountId] = process.argv.slice(2);
const expected = `Bearer ${bearer}`;
const upstream = `${base}/responses`;
const dispatcher = new Agent({ pipelining: 1, keepAliveTimeout: 60_000 });
const session = randomUUID();
const upHeaders = {
  authorization: `Bearer ${accessToken}`,
  'chatgpt-account-id': accountId,
  originator: 'codex_exec',
  'user-agent': 'codex_exec/0.169.0 (bench relay)',
  version: '0.169.0',
  'session-id': session,
  accept: 'text/event-stream',
  'content-type': 'application/json',
};

const text = (role, t) => ({
  type: 'message',
  role,
  content: [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: t }],
});

/** Client body → Codex body: the few rules every relay needs (the gateway's normalize does far more). */
function codexBody(path, req) {
  let input;
  if (path === '/v1/chat/completions') {
    input = (req.messages ?? []).map((m) =>
      text(m.role === 'system' ? 'developer' : m.role, typeof m.content === 'string' ? m.content : ''),
    );
  } else input = typeof req.input === 'string' ? [text('user', req.input)] : req.input;
  if (typeof req.instructions === 'string' && req.instructions)
    input.unshift(text('developer', req.instructions));
  return JSON.stringify({
    model: req.model,
    instructions: '',
    input,
    stream: true,
    store: false,
    include: ['reasoning.encrypted_content'],
  });
}

function fail(res, status, message) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'invalid_request_error' } }));
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || (req.url !== '/v1/responses' && req.url !== '/v1/chat/completions'))
    return fail(res, 404, 'not found');
  if (req.headers.authorization !== expected) return fail(res, 401, 'bad key');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    let body;
    try {
      body = codexBody(req.url, JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      return fail(res, 400, 'bad body');
    }
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    try {
      const up = await request(upstream, {
        method: 'POST',
        headers: upHeaders,
        body,
        dispatcher,
        signal: ac.signal,
      });
      res.writeHead(up.statusCode, {
        'content-type': up.headers['content-type'] ?? 'text/event-stream',
        'cache-control': 'no-cache',
      });
      // The upstream's bytes as they come, with back-pressure.
      for await (const chunk of up.body)
        if (!res.write(chunk)) await new Promise((r) => (res.once('drain', r), res.once('close', r)));
      res.end();
    } catch (err) {
      if (!res.headersSent) fail(res, 502, String(err.message));
      else res.destroy();
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}`, pid: process.pid })}\n`,
  );
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
