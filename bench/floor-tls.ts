/**
 * @module bench/floor-tls
 * The least a 1 KiB answer costs on each TLS engine Flint could use, to decide which engine serves TLS HTTP/1.1
 * (issue 18 §4): the same body from memory, the same certificate, the same response headers, nothing else. Runs as
 * its own process, one thread: `node dist/bench/floor-tls.js --engine E --port N [--cert C --key K]`; SIGTERM ends it.
 *
 * - `uws-ssl`: uWS's `SSLApp` (HTTP/1.1 over TLS; uWS has no HTTP/2).
 * - `node-h2`: `node:http2` `createSecureServer({ allowHTTP1: true })` with the compatibility API, as src/tls/ uses
 *   it: ALPN h2 gets HTTP/2, no ALPN or http/1.1 gets Node's HTTP/1.1 server on the TLS socket.
 * - `node-h2-core`: the same server, HTTP/2 answered on node:http2's core stream API (`'stream'`, `stream.respond`)
 *   instead of the compatibility layer; HTTP/1.1 still arrives as `'request'` (what src/tls/h2-server.ts does).
 * - `uws-plain`: uWS's plain `App`, the reference that shows what TLS itself adds.
 *
 * Every GET answers 200 with the bench objects' first 1,024 bytes (lib/objects.ts) and `x-bench-origin`, so the
 * bench's usual response check applies. Not a product.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import { parseArgs } from 'node:util';
import { objectBytes } from './lib/objects.js';
import { loadNativeUws } from '../src/http/uws.js';
import type { us_listen_socket } from '../src/http/uws.js';

const ENGINES = ['uws-ssl', 'node-h2', 'node-h2-core', 'uws-plain'] as const;
type Engine = (typeof ENGINES)[number];

const BODY = objectBytes(0, 1024);
const HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['content-type', 'application/octet-stream'],
  ['cache-control', 'public, max-age=3600'],
  ['x-bench-origin', 'floor-tls'],
];

const { values } = parseArgs({ options: { engine: { type: 'string' }, port: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' } } });
const engine = values.engine as Engine;
if (!(ENGINES as readonly string[]).includes(engine)) throw new Error(`--engine must be one of ${ENGINES.join(', ')}`);
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0) throw new Error('--port N is required');
if (engine !== 'uws-plain' && (values.cert === undefined || values.key === undefined)) throw new Error(`--cert and --key are required for ${engine}`);

if (engine === 'node-h2') {
  const server = createSecureServer({ cert: readFileSync(values.cert as string), key: readFileSync(values.key as string), allowHTTP1: true }, (_req, res) => {
    for (const [name, value] of HEADERS) res.setHeader(name, value);
    res.setHeader('content-length', BODY.length);
    res.writeHead(200);
    res.end(BODY);
  });
  server.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => process.exit(0));
} else if (engine === 'node-h2-core') {
  const server = createSecureServer({ cert: readFileSync(values.cert as string), key: readFileSync(values.key as string), allowHTTP1: true });
  // A 'request' listener makes node:http2 wrap every HTTP/2 stream in the compatibility layer (its 'newListener'
  // hook); without that hook, 'request' carries only the HTTP/1.x requests allowHTTP1 parses.
  server.removeAllListeners('newListener');
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of HEADERS) res.setHeader(name, value);
    res.setHeader('content-length', BODY.length);
    res.writeHead(200);
    res.end(BODY);
  });
  const h2Headers: Record<string, string | number> = { ':status': 200, 'content-length': BODY.length };
  for (const [name, value] of HEADERS) h2Headers[name] = value;
  server.on('stream', (stream) => {
    stream.respond(h2Headers);
    stream.end(BODY);
  });
  server.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => process.exit(0));
} else {
  const uWS = loadNativeUws();
  const app = engine === 'uws-ssl' ? uWS.SSLApp({ cert_file_name: values.cert as string, key_file_name: values.key as string }) : uWS.App();
  app.get('/*', (res) => {
    res.cork(() => {
      res.writeStatus('200 OK');
      for (const [name, value] of HEADERS) res.writeHeader(name, value);
      res.end(BODY);
    });
  });
  let listenSocket: us_listen_socket | false = false;
  app.listen('127.0.0.1', port, (s) => {
    listenSocket = s;
    if (s === false) {
      console.error(`floor-tls: cannot listen on 127.0.0.1:${port}`);
      process.exit(1);
    }
  });
  process.once('SIGTERM', () => {
    if (listenSocket !== false) uWS.us_listen_socket_close(listenSocket);
    process.exit(0);
  });
}
