/**
 * @module bench/origin
 * The bench's default origin: one uWS process serving fixed bodies from memory with `Cache-Control: no-store`,
 * so it costs a few microseconds of CPU per request and is never the bottleneck of a proxy under test (figures in
 * bench/README.md). Runs as its own process: `node dist/bench/origin.js --port N`; SIGTERM ends it.
 * Refuses to run on uWS's slow pure-Node fallback (spikes.md item 1): that would make the ceiling a lie.
 */
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, us_listen_socket } from 'uWebSockets.js';
import { parseArgs } from 'node:util';
import { ORIGIN_MARK_HEADER, ORIGIN_OBJECTS, objectBody } from './lib/objects.js';

function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error('bench origin: --port N is required');
  if (typeof (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT?: unknown }).LIBUS_LISTEN_EXCLUSIVE_PORT !== 'number') {
    throw new Error('bench origin: uWebSockets.js loaded its pure-Node fallback, not the native binary; refusing to run');
  }
  const bodies = new Map<string, Buffer>();
  for (const [path, size] of Object.entries(ORIGIN_OBJECTS)) {
    bodies.set(path, objectBody(size));
  }
  uWS
    .App()
    .get('/*', (res: HttpResponse, req: HttpRequest) => {
      const body = bodies.get(req.getUrl());
      res.cork(() => {
        if (body === undefined) {
          res.writeStatus('404 Not Found').writeHeader('Cache-Control', 'no-store').end('not found');
          return;
        }
        res
          .writeStatus('200 OK')
          .writeHeader('Content-Type', 'application/octet-stream')
          .writeHeader('Cache-Control', 'no-store')
          .writeHeader(ORIGIN_MARK_HEADER, 'uws')
          .end(body);
      });
    })
    .listen('127.0.0.1', port, (ls: us_listen_socket | false) => {
      if (ls === false) {
        console.error(`bench origin: cannot listen on 127.0.0.1:${port}`);
        process.exit(1);
      }
      console.log(`bench origin listening on 127.0.0.1:${port}`);
    });
}

main();
