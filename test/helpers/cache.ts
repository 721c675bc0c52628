/**
 * @module test/helpers/cache
 * Shared pieces of the cache integration suites (test/integration/cache-*.test.ts): starting a caching Flint in
 * front of scripted origins, reading what the cache did (Cache-Status, /stats cache results, access records),
 * polling with a deadline instead of sleeping, barriers, deterministic bodies and a streaming download that
 * records when its first body byte arrived.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FlintProcess, serverXml, sleep, vhostXml } from './flint.js';
import type { VhostXmlOptions } from './flint.js';
import { TestOrigin } from './origin.js';
import type { SeenRequest } from './origin.js';
import { freePort } from './ports.js';
import type { TestResponse } from './http.js';

export const MiB = 1024 * 1024;

/** One vhost of a caching Flint: its Host name, origin and extra XML inside `<Vhost>` (e.g. `<Options>`). */
export interface CacheVhost {
  readonly name: string;
  readonly origin: TestOrigin;
  readonly extra?: string;
}

export interface CacheFlint {
  readonly flint: FlintProcess;
  /** The port every vhost listens on (told apart by Host). */
  readonly port: number;
}

/** Starts Flint (default 1 worker) with caching vhosts sharing one listen port. */
export async function startCacheFlint(vhosts: readonly CacheVhost[], opts: { workers?: number; cacheExtra?: string; nodeArgs?: readonly string[] } = {}): Promise<CacheFlint> {
  const port = await freePort();
  const flint = await FlintProcess.start(
    ({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: opts.workers ?? 1, ...(opts.cacheExtra === undefined ? {} : { cacheExtra: opts.cacheExtra }) }),
      vhosts: vhostXml(
        vhosts.map((v): VhostXmlOptions => ({ name: v.name, port, origin: v.origin.address, ...(v.extra === undefined ? {} : { extra: v.extra }) })),
      ),
    }),
    opts.nodeArgs,
  );
  return { flint, port };
}

/** The response's Cache-Status value ('' when absent). */
export function cacheStatus(res: Pick<TestResponse, 'headers'>): string {
  const value = res.headers['cache-status'];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** True when Cache-Status says the response came from the cache without a new body from the origin. */
export function isHit(res: Pick<TestResponse, 'headers'>): boolean {
  return /^flint; hit/.test(cacheStatus(res));
}

/** The `ttl=` parameter of Cache-Status, or null. */
export function cacheTtl(res: Pick<TestResponse, 'headers'>): number | null {
  const m = /ttl=(-?\d+)/.exec(cacheStatus(res));
  return m === null ? null : Number(m[1]);
}

/** The Age header as a number (NaN when absent). */
export function ageOf(res: Pick<TestResponse, 'headers'>): number {
  return Number(res.headers.age);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A deterministic body of `size` bytes, different per `seed`. */
export function patternBody(size: number, seed = 0): Buffer {
  const body = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + (i >> 11) + seed * 17) & 0xff;
  return body;
}

/** IMF-fixdate of a time in ms (for Date, Expires, Last-Modified headers the origin sends). */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** Polls `probe` every `everyMs` until it returns something other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Cumulative cache results of all vhosts (from /stats, exact: the primary asks every worker). */
export async function cacheResults(flint: FlintProcess): Promise<Record<string, number>> {
  return { ...(await flint.stats()).totals.cacheResults };
}

/** Per-vhost counters of one vhost from /stats. */
export async function vhostStats(flint: FlintProcess, vhost: string): Promise<{ originRequests: number; cacheResults: Record<string, number> } & Record<string, unknown>> {
  const v = (await flint.stats()).vhosts[vhost] as unknown as { originRequests: number; cacheResults: Record<string, number> } | undefined;
  if (v === undefined) return { originRequests: 0, cacheResults: {} };
  return v;
}

/**
 * The increase of each cache result of `vhost` since `before`, once the counters of `expectedTotal` transactions
 * have all landed (a transaction is counted when it finishes, a moment after the client saw its last byte).
 */
export async function resultDelta(
  flint: FlintProcess,
  vhost: string,
  before: Record<string, number>,
  expectedTotal: number,
): Promise<Record<string, number>> {
  let last: Record<string, number> = {};
  try {
    return await waitFor(`${expectedTotal} finished transactions on ${vhost}`, async () => {
      const now = (await vhostStats(flint, vhost)).cacheResults;
      const delta: Record<string, number> = {};
      let total = 0;
      for (const [k, v] of Object.entries(now)) {
        const d = v - (before[k] ?? 0);
        if (d !== 0) delta[k] = d;
        total += d;
      }
      last = delta;
      return total >= expectedTotal ? delta : undefined;
    }, 5000);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last delta ${JSON.stringify(last)}`);
  }
}

/** Access records of `url` on `vhost` once at least `count` of them are written (the log is asynchronous). */
export async function accessRecordsFor(flint: FlintProcess, vhost: string, url: string, count: number): Promise<Array<Record<string, unknown>>> {
  return waitFor(`${count} access records for ${vhost}${url}`, () => {
    const records = flint.accessLog().filter((r) => r.vhost === vhost && r.url === url);
    return records.length >= count ? records : undefined;
  }, 5000);
}

/** A one-shot barrier: `wait` resolves once `open` is called. */
export class Barrier {
  readonly #promise: Promise<void>;
  #open!: () => void;
  opened = false;

  constructor() {
    this.#promise = new Promise((resolve) => (this.#open = resolve));
  }

  wait(): Promise<void> {
    return this.#promise;
  }

  open(): void {
    this.opened = true;
    this.#open();
  }
}

/** A streamed download: status, headers, digest of the body and when (performance.now()) the first body byte came. */
export interface Download {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bytes: number;
  readonly sha256: string;
  readonly firstByteAt: number | null;
  readonly endAt: number;
  readonly error: string | null;
}

/** GETs `path` on a new connection, hashing the body as it streams; never rejects (errors are in the result). */
export function download(port: number, path: string, host: string, headers: Record<string, string> = {}): Promise<Download> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let firstByteAt: number | null = null;
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false }, (res) => {
      res.on('data', (c: Buffer) => {
        if (firstByteAt === null) firstByteAt = performance.now();
        bytes += c.length;
        hash.update(c);
      });
      const done = (error: string | null): void =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: error === null ? hash.digest('hex') : '', firstByteAt, endAt: performance.now(), error });
      res.on('end', () => done(null));
      res.on('error', (e) => done(e.message));
      res.on('aborted', () => done('aborted'));
    });
    req.on('error', (e) => resolve({ status: 0, headers: {}, bytes, sha256: '', firstByteAt, endAt: performance.now(), error: e.message }));
    req.end();
  });
}

/** An origin route: answers one path; `n` is how many requests for this exact URL the origin has seen, this one included. */
export type Route = (req: IncomingMessage, res: ServerResponse, n: number) => unknown;

/**
 * Starts an origin that dispatches by path (query ignored) to `routes`, which tests may add to as they go; unknown
 * paths get a 599 so a typo cannot pass for a cache miss.
 */
export async function startRoutedOrigin(routes: Record<string, Route>): Promise<TestOrigin> {
  const origin: TestOrigin = await TestOrigin.start((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const route = routes[path];
    if (route === undefined) {
      res.writeHead(599);
      res.end(`no route for ${path}`);
      return undefined;
    }
    return route(req, res, origin.seen.filter((r) => r.url === req.url).length);
  });
  return origin;
}

/**
 * Sends a whole response. Without `date` no Date header goes out (apparent age 0, so freshness is measured from
 * when Flint received the response); a 304 gets no framing headers.
 */
export function reply(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer = '', date = false): void {
  res.sendDate = date;
  const framing: Record<string, string> = status === 304 ? {} : { 'content-length': String(Buffer.byteLength(body)) };
  res.writeHead(status, { ...framing, ...headers });
  res.end(status === 304 ? undefined : body);
}

/** Requests the origin saw for `path` (query ignored). */
export function seenFor(origin: TestOrigin, path: string): SeenRequest[] {
  return origin.seen.filter((r) => r.url.split('?')[0] === path);
}
