/**
 * @module bench/floor-cache
 * The least a cache miss can cost on Flint's stack, to read Flint's miss figures against: a proxy built from the
 * same parts (uWS to the client, an undici Pool to the origin) with none of Flint's HTTP caching. Runs as its own
 * process, one thread: `node dist/bench/floor-cache.js --port N --origin-port M [--index DIR]`; SIGTERM ends it.
 *
 * - Without `--index`: a plain proxy. Every response goes through (`X-Cache: MISS`).
 * - With `--index DIR`: the smallest cache with a shared LMDB index, the design Flint's workers share. A request
 *   reads the object record; a hit is served from it (`X-Cache: HIT`). A miss first writes a fill lease (so other
 *   processes would wait instead of fetching too), then fetches, answers, and stores the record with the body
 *   inline while it drops the lease. The lease and the store are batched per event-loop turn into one synchronous
 *   write transaction, as Flint batches them. What it leaves out is everything else a cache must do: freshness,
 *   validators, Vary, followers, blocks, eviction, usage, purge, stats. Only a `200` without `no-store` is stored.
 *
 * Not a product: it answers GET only, and assumes a well-behaved origin (the bench's).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { open } from 'lmdb';
import { Pool } from 'undici';
import type { Database, RootDatabase } from 'lmdb';
import type { Dispatcher } from 'undici';
import { keyHash } from '../src/cache/key.js';
import { loadNativeUws } from '../src/http/uws.js';
import type { HttpRequest, HttpResponse, us_listen_socket } from '../src/http/uws.js';

/** A stored response: what a hit needs to answer. */
interface StoredResponse {
  readonly status: number;
  /** Flat name/value list, without the hop-by-hop and length fields. */
  readonly headers: string[];
  readonly body: Buffer;
}

/** A fill lease: who fetches the object, and until when the lease holds. */
interface Lease {
  readonly pid: number;
  readonly until: number;
}

const LEASE_MS = 10_000;
/** Response header names uWS writes itself or that describe the origin connection. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

/** The shared index: object records and fill leases, keyed by a 16-byte hash of the URL (as Flint's). */
class FloorIndex {
  readonly #root: RootDatabase;
  readonly #objects: Database<StoredResponse, Buffer>;
  readonly #fills: Database<Lease, Buffer>;
  #steps: Array<() => void> = [];
  #done: Array<() => void> = [];

  constructor(dir: string) {
    this.#root = open({ path: join(dir, 'floor.lmdb'), noSync: true, overlappingSync: false, noSubdir: true, maxDbs: 2 });
    this.#objects = this.#root.openDB({ name: 'objects', keyEncoding: 'binary' });
    this.#fills = this.#root.openDB({ name: 'fills', keyEncoding: 'binary' });
  }

  get(hash: Buffer): StoredResponse | undefined {
    return this.#objects.get(hash);
  }

  /** Takes the lease on `hash` in this turn's transaction (a live one is left alone); `then` runs after the commit. */
  lease(hash: Buffer, then: () => void): void {
    this.#inTurn(() => {
      const now = Date.now();
      const current = this.#fills.get(hash);
      if (current === undefined || current.until <= now) this.#fills.put(hash, { pid: process.pid, until: now + LEASE_MS });
    }, then);
  }

  /** Stores `response` (or only drops the lease, when null) in this turn's transaction. */
  store(hash: Buffer, response: StoredResponse | null): void {
    this.#inTurn(() => {
      this.#fills.remove(hash);
      if (response !== null) this.#objects.put(hash, response);
    });
  }

  #inTurn(step: () => void, then?: () => void): void {
    this.#steps.push(step);
    if (then !== undefined) this.#done.push(then);
    if (this.#steps.length === 1) setImmediate(() => this.#commit());
  }

  #commit(): void {
    const steps = this.#steps;
    const done = this.#done;
    this.#steps = [];
    this.#done = [];
    this.#root.transactionSync(() => {
      for (const step of steps) step();
    });
    for (const then of done) then();
  }
}

function respond(res: HttpResponse, status: number, headers: readonly string[], body: Buffer, cache: 'HIT' | 'MISS'): void {
  res.cork(() => {
    res.writeStatus(String(status));
    for (let i = 0; i < headers.length; i += 2) res.writeHeader(headers[i] as string, headers[i + 1] as string);
    res.writeHeader('x-cache', cache);
    res.end(body);
  });
}

/** Fetches `url` from the origin; calls `done` with the response (status 502 and no body when the fetch failed). */
function fetchOrigin(pool: Pool, url: string, done: (status: number, headers: string[], body: Buffer) => void): void {
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
  pool.dispatch({ method: 'GET', path: url, headers: ['host', 'bench.local'] }, handler);
}

function storable(status: number, headers: readonly string[]): boolean {
  if (status !== 200) return false;
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'cache-control' && /no-store|private/.test(headers[i + 1] as string)) return false;
  return true;
}

function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string' }, 'origin-port': { type: 'string' }, index: { type: 'string' } } });
  const port = Number(values.port);
  const originPort = Number(values['origin-port']);
  if (!Number.isInteger(port) || port <= 0 || !Number.isInteger(originPort) || originPort <= 0) throw new Error('floor-cache: --port N and --origin-port M are required');
  const uWS = loadNativeUws();
  const pool = new Pool(`http://127.0.0.1:${originPort}`, { connections: 128, pipelining: 1 });
  const index = values.index === undefined ? null : new FloorIndex(values.index);

  /** Fetches and answers; with an index, also stores (or drops the lease of) `hash`. */
  const proxy = (res: HttpResponse, aborted: { value: boolean }, url: string, hash: Buffer | null): void => {
    fetchOrigin(pool, url, (status, headers, body) => {
      if (!aborted.value) respond(res, status, headers, body, 'MISS');
      if (index !== null && hash !== null) index.store(hash, storable(status, headers) ? { status, headers, body } : null);
    });
  };

  uWS
    .App()
    .get('/*', (res: HttpResponse, req: HttpRequest) => {
      const query = req.getQuery();
      const url = query === undefined || query === '' ? req.getUrl() : `${req.getUrl()}?${query}`;
      const hash = index === null ? null : keyHash(url);
      const stored = hash === null ? undefined : index?.get(hash);
      if (stored !== undefined) return respond(res, stored.status, stored.headers, stored.body, 'HIT');
      const aborted = { value: false };
      res.onAborted(() => {
        aborted.value = true;
      });
      if (index === null || hash === null) return proxy(res, aborted, url, null);
      // The lease is visible to every process before the origin is asked: that is what a shared index costs.
      index.lease(hash, () => proxy(res, aborted, url, hash));
    })
    .listen('127.0.0.1', port, (ls: us_listen_socket | false) => {
      if (ls === false) {
        console.error(`floor-cache: cannot listen on 127.0.0.1:${port}`);
        process.exit(1);
      }
      console.log(`floor-cache listening on 127.0.0.1:${port} (${index === null ? 'no cache' : `index in ${values.index}`})`);
    });
  process.on('SIGTERM', () => process.exit(0));
}

main();
