/**
 * @module bench/floor-hit
 * The least a large cache hit can cost on Flint's stack, to read Flint's hit-1m and hit-64m figures against: a bare
 * uWS server that fetched each object once from the origin and then writes its bytes to every client with uWS
 * backpressure, nothing else (no index, freshness, headers policy, stats). Runs as its own process, one thread:
 * `node dist/bench/floor-hit.js --port N --origin-port M [--dir DIR]`; SIGTERM ends it.
 *
 * - Without `--dir` (`floor-hit-mem`): the body stays in one Buffer. A hit is one tryEnd of the whole body, and on
 *   every writable event one more tryEnd of what the socket has not taken (the fewest JavaScript calls uWS allows;
 *   tryEnd never copies what the socket refused into a user-space buffer).
 * - With `--dir DIR` (`floor-hit-file`): the body is written to a file in DIR (tmpfs by default, as Flint's
 *   blocks), and a hit reads it in 1 MiB pieces (Flint's block size) into a buffer of a small pool with fs.read
 *   at an offset, as Flint reads a block, writing each piece as above before reading the next.
 *
 * The first request for a path is a miss, fetched whole and answered (`X-Cache: MISS`); a 200 without no-store or
 * private is kept, and later requests are hits (`X-Cache: HIT`). A hit whose If-None-Match is the kept ETag, byte
 * for byte, is a bare 304 with that ETag: the floor of `revalidate-304`. Not a product: GET only, a well-behaved
 * origin.
 */
import { closeSync, openSync, read, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { loadNativeUws } from '../src/http/uws.js';
import type { HttpRequest, HttpResponse, us_listen_socket } from '../src/http/uws.js';

/** A kept response: head fields and where its body is. */
interface Kept {
  readonly headers: readonly string[];
  /** The origin's ETag field, or '' (no 304s). */
  readonly etag: string;
  readonly size: number;
  /** The body in memory (no --dir), or null when it is in the file `fd`. */
  readonly body: Buffer | null;
  readonly fd: number;
}

/** Flint's default block size: the file floor reads what Flint reads per block. */
const PIECE = 1024 * 1024;
/** Response header names uWS writes itself or that describe the origin connection. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

const pool: Buffer[] = [];
const takePiece = (): Buffer => pool.pop() ?? Buffer.allocUnsafeSlow(PIECE);
const givePiece = (b: Buffer): void => {
  if (pool.length < 64) pool.push(b);
};

function writeHead(res: HttpResponse, status: number, headers: readonly string[], cache: 'HIT' | 'MISS'): void {
  res.writeStatus(String(status));
  for (let i = 0; i < headers.length; i += 2) res.writeHeader(headers[i] as string, headers[i + 1] as string);
  res.writeHeader('x-cache', cache);
}

/**
 * Writes `bytes` with tryEnd; calls `next` once the socket took all of it, or never when the
 * client left or the response ended. `state.aborted` is set by the response's abort handler.
 */
function send(res: HttpResponse, bytes: Buffer, size: number, state: { aborted: boolean }, head: (() => void) | null, next: () => void): void {
  let start = 0;
  let ok = false;
  let done = false;
  res.cork(() => {
    head?.();
    start = res.getWriteOffset();
    [ok, done] = res.tryEnd(bytes, size);
  });
  if (done || ok) {
    if (!done) next();
    return;
  }
  res.onWritable((offset) => {
    if (state.aborted) return true;
    const [more, finished] = res.tryEnd(bytes.subarray(offset - start), size);
    if (finished) return true;
    if (!more) return false;
    next();
    return true;
  });
}

/** A hit from a file: 1 MiB pieces read into a pooled buffer, each written before the next is read. */
function sendFile(res: HttpResponse, kept: Kept, state: { aborted: boolean }, head: () => void): void {
  const piece = takePiece();
  let pos = 0;
  let first = true;
  const step = (): void => {
    if (state.aborted || pos >= kept.size) {
      givePiece(piece);
      return;
    }
    const length = Math.min(PIECE, kept.size - pos);
    read(kept.fd, piece, 0, length, pos, (error, n) => {
      if (state.aborted) return givePiece(piece);
      if (error !== null || n !== length) {
        givePiece(piece);
        res.cork(() => res.close());
        return;
      }
      pos += n;
      const withHead = first ? head : null;
      first = false;
      send(res, piece.subarray(0, n), kept.size, state, withHead, step);
      if (pos >= kept.size) givePiece(piece);
    });
  };
  step();
}

function fetchOrigin(origin: Pool, url: string, done: (status: number, headers: string[], body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let status = 502;
  const headers: string[] = [];
  const handler: Dispatcher.DispatchHandler = {
    onConnect() {},
    onHeaders(code, raw) {
      status = code;
      for (let i = 0; i < raw.length; i += 2) {
        const name = (raw[i] as Buffer).toString('latin1').toLowerCase();
        if (!NOT_FORWARDED.has(name)) headers.push(name, (raw[i + 1] as Buffer).toString('latin1'));
      }
      return true;
    },
    onData(chunk) {
      chunks.push(chunk);
      return true;
    },
    onComplete() {
      done(status, headers, Buffer.concat(chunks));
    },
    onError() {
      done(502, [], Buffer.alloc(0));
    },
  };
  origin.dispatch({ method: 'GET', path: url, headers: ['host', 'bench.local'] }, handler);
}

function storable(status: number, headers: readonly string[]): boolean {
  if (status !== 200) return false;
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'cache-control' && /no-store|private/.test(headers[i + 1] as string)) return false;
  return true;
}

function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string' }, 'origin-port': { type: 'string' }, dir: { type: 'string' } } });
  const port = Number(values.port);
  const originPort = Number(values['origin-port']);
  if (!Number.isInteger(port) || port <= 0 || !Number.isInteger(originPort) || originPort <= 0) throw new Error('floor-hit: --port N and --origin-port M are required');
  const dir = values.dir ?? null;
  const uWS = loadNativeUws();
  const origin = new Pool(`http://127.0.0.1:${originPort}`, { connections: 16, pipelining: 1 });
  const kept = new Map<string, Kept>();
  let files = 0;

  uWS
    .App()
    .get('/*', (res: HttpResponse, req: HttpRequest) => {
      const query = req.getQuery();
      const url = query === undefined || query === '' ? req.getUrl() : `${req.getUrl()}?${query}`;
      const state = { aborted: false };
      res.onAborted(() => {
        state.aborted = true;
      });
      const hit = kept.get(url);
      if (hit !== undefined && hit.etag !== '' && req.getHeader('if-none-match') === hit.etag) {
        res.cork(() => {
          res.writeStatus('304');
          res.writeHeader('etag', hit.etag);
          res.writeHeader('x-cache', 'HIT');
          res.endWithoutBody();
        });
        return;
      }
      if (hit !== undefined) {
        const head = (): void => writeHead(res, 200, hit.headers, 'HIT');
        if (hit.body !== null) send(res, hit.body, hit.size, state, head, () => undefined);
        else sendFile(res, hit, state, head);
        return;
      }
      fetchOrigin(origin, url, (status, headers, body) => {
        if (storable(status, headers) && !kept.has(url)) {
          const at = headers.indexOf('etag');
          const etag = at >= 0 && at % 2 === 0 ? (headers[at + 1] as string) : '';
          if (dir === null) kept.set(url, { headers, etag, size: body.length, body, fd: -1 });
          else {
            const path = join(dir, `object-${files++}`);
            writeFileSync(path, body);
            kept.set(url, { headers, etag, size: body.length, body: null, fd: openSync(path, 'r') });
          }
        }
        if (state.aborted) return;
        res.cork(() => {
          writeHead(res, status, headers, 'MISS');
          res.end(body);
        });
      });
    })
    .listen('127.0.0.1', port, (ls: us_listen_socket | false) => {
      if (ls === false) {
        console.error(`floor-hit: cannot listen on 127.0.0.1:${port}`);
        process.exit(1);
      }
      console.log(`floor-hit listening on 127.0.0.1:${port} (${dir === null ? 'bodies in memory' : `bodies in files under ${dir}`})`);
    });
  process.on('SIGTERM', () => {
    for (const k of kept.values()) if (k.fd >= 0) closeSync(k.fd);
    process.exit(0);
  });
}

main();
