/**
 * @module demo/origin
 * DEMO ONLY -- not part of Flint. A tiny origin web site on 127.0.0.1:9000 so that `npm run demo` serves real
 * traffic on a fresh machine with the shipped conf/. Started and stopped by `flint start --demo-origin`.
 */
import { createServer } from 'node:http';

const PORT = Number(process.env.FLINT_DEMO_ORIGIN_PORT ?? '9000');
const started = new Date().toUTCString();

const PAGE = `<!doctype html><title>Flint demo origin</title>
<h1>Served by the Flint demo origin, through Flint</h1>
<p>This page comes from demo/origin.ts on 127.0.0.1:${PORT}. Point conf/vhosts.xml at your own origin.</p>
<p><a href="/hello.txt">/hello.txt</a> · <a href="/big.bin">/big.bin</a> (1 MiB) · <a href="/time">/time</a> (uncacheable)</p>\n`;
const BIG = Buffer.alloc(1024 * 1024, 'flint ');

createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  const common = { 'last-modified': started, server: 'flint-demo-origin' };
  if (path === '/' || path === '/index.html') {
    res.writeHead(200, { ...common, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=60' });
    res.end(PAGE);
  } else if (path === '/hello.txt') {
    res.writeHead(200, { ...common, 'content-type': 'text/plain', 'cache-control': 'public, max-age=300', etag: '"hello-1"' });
    res.end('hello from the Flint demo origin\n');
  } else if (path === '/big.bin') {
    res.writeHead(200, { ...common, 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=3600' });
    res.end(BIG);
  } else if (path === '/time') {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(`${new Date().toISOString()}\n`);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=10' });
    res.end('not found on the demo origin\n');
  }
}).listen(PORT, '127.0.0.1', () => console.log(`flint demo origin listening on http://127.0.0.1:${PORT}`));
