// A do-nothing OTLP/HTTP receiver for the tracing-on bench runs (docs/bench.md): answers every POST (e.g.
// /v1/traces, protobuf or JSON) with 200 and an empty body, and counts exports and bytes, printed on SIGINT/SIGTERM.
//   node bench/otlp-sink.mjs [port (4318)]
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 4318);
let exports = 0;
let bytes = 0;
const server = createServer((req, res) => {
  req.on('data', (c) => (bytes += c.length));
  req.on('end', () => {
    if (req.method === 'POST') exports++;
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' }).end();
  });
});
server.listen(port, '127.0.0.1', () => console.log(`otlp sink on http://127.0.0.1:${port}`));
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    console.log(`otlp sink: ${exports} exports, ${bytes} bytes`);
    process.exit(0);
  });
