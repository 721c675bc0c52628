/**
 * @module bench/clients/raw-get
 * One HTTP/1.1 GET on a fresh TCP connection whose response is read into a buffer shared by every connection (net's
 * `onread`) and checked in place against the expected body, so reading allocates nothing per chunk. node:http
 * allocates a buffer for every socket read: at 6.4 GiB per cold-100 run the client's allocations and page faults
 * made it the bottleneck (its CPU time equalled the run's wall time), so the run measured the client. Handles
 * Content-Length and chunked bodies; the response head is parsed only for the status and the cache headers.
 * Runs in the client process (http-client.ts).
 */
import { connect } from 'node:net';

/** What one GET saw; times in ms since `t0`, -1 = never. */
export interface RawResult {
  readonly headersMs: number;
  readonly firstBodyMs: number;
  readonly doneMs: number;
  readonly status: number;
  readonly bytes: number;
  /** The first problem: status, framing, length, a byte that differs from `expected`, a connection error. */
  readonly problem: string | undefined;
  /** Cache headers: cache-status, x-cache, x-cache-status, age. */
  readonly cache: string;
}

/** Something a deadline can cut short. */
export interface Destroyable {
  destroy(err: Error): void;
}

const CACHE_HEADERS = ['cache-status', 'x-cache', 'x-cache-status', 'age'];
const HEAD_MAX_BYTES = 64 * 1024;
const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** Incremental chunked-body decoder: feed() yields the data parts of a chunk stream; done once the last chunk ended. */
class ChunkedDecoder {
  #state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  #line = '';
  #left = 0;

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Calls `data(start, end)` for each run of body bytes in buf[start, end); returns an error text or undefined. */
  feed(buf: Buffer, start: number, end: number, data: (s: number, e: number) => void): string | undefined {
    let i = start;
    while (i < end && this.#state !== 'done') {
      if (this.#state === 'data') {
        const n = Math.min(this.#left, end - i);
        data(i, i + n);
        i += n;
        this.#left -= n;
        if (this.#left === 0) this.#state = 'data-end';
        continue;
      }
      const c = buf[i++] as number;
      if (c === 10) {
        const line = this.#line.replace(/\r$/, '');
        this.#line = '';
        if (this.#state === 'size') {
          const size = Number.parseInt(line.split(';')[0] ?? '', 16);
          if (!Number.isFinite(size) || size < 0) return `bad chunk size line '${line}'`;
          this.#left = size;
          this.#state = size === 0 ? 'trailer' : 'data';
        } else if (this.#state === 'data-end') {
          if (line !== '') return 'chunk data longer than its size';
          this.#state = 'size';
        } else if (line === '') this.#state = 'done';
      } else if (this.#line.length < 1024) this.#line += String.fromCharCode(c);
    }
    return undefined;
  }
}

/**
 * GETs `url` (`Connection: close`) and checks the response: status `status`, a body of exactly `expected.length`
 * bytes equal to `expected`. `shared` is the read buffer of every connection (reads are handled one at a time, so
 * they can share it). Never rejects; `live` holds the connection while it is open (for the deadline).
 */
export function rawGet(url: string, status: number, expected: Buffer, shared: Buffer, t0: number, live: Set<Destroyable>): Promise<RawResult> {
  const target = new URL(url);
  return new Promise((resolve) => {
    let headersMs = -1;
    let firstBodyMs = -1;
    let gotStatus = 0;
    let bytes = 0;
    let problem: string | undefined;
    let cache = '';
    let head: Buffer | null = Buffer.alloc(0);
    let length = -1;
    let chunked: ChunkedDecoder | null = null;
    let settled = false;
    const complete = (): boolean => (chunked === null ? length >= 0 && bytes >= length : chunked.done);
    const finish = (extra?: string): void => {
      if (settled) return;
      settled = true;
      live.delete(socket);
      socket.destroy();
      problem ??= extra;
      if (problem === undefined && bytes !== expected.length) problem = `body ${bytes} bytes, want ${expected.length}`;
      resolve({ headersMs, firstBodyMs, doneMs: performance.now() - t0, status: gotStatus, bytes, problem, cache });
    };
    const body = (buf: Buffer, start: number, end: number): void => {
      if (end <= start) return;
      if (firstBodyMs < 0) firstBodyMs = performance.now() - t0;
      const n = end - start;
      if (problem === undefined) {
        if (bytes + n > expected.length) problem = `more than ${expected.length} body bytes`;
        else if (buf.compare(expected, bytes, bytes + n, start, end) !== 0) problem = `wrong bytes at body offset ${bytes}`;
      }
      bytes += n;
    };
    /** Collects the head until it is whole, parses it, then checks the body bytes that came with it. */
    const takeHead = (buf: Buffer, n: number): void => {
      // A copy: once per connection, and `buf` is overwritten by the next read.
      const seen = Buffer.concat([head as Buffer, buf.subarray(0, n)]);
      const at = seen.indexOf(CRLF_CRLF);
      if (at < 0) {
        if (seen.length > HEAD_MAX_BYTES) finish(`response head over ${HEAD_MAX_BYTES} bytes`);
        else head = seen;
        return;
      }
      head = null;
      headersMs = performance.now() - t0;
      const lines = seen.subarray(0, at).toString('latin1').split('\r\n');
      gotStatus = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const fields = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      cache = CACHE_HEADERS.filter((h) => fields.has(h)).map((h) => `${h}: ${fields.get(h) as string}`).join('; ');
      if (gotStatus !== status) problem = `status ${gotStatus}, want ${status}`;
      if (/chunked/i.test(fields.get('transfer-encoding') ?? '')) chunked = new ChunkedDecoder();
      else if (fields.has('content-length')) length = Number(fields.get('content-length'));
      feedBody(seen, at + 4, seen.length);
    };
    const feedBody = (buf: Buffer, start: number, end: number): void => {
      if (chunked !== null) {
        const error = chunked.feed(buf, start, end, (s, e) => body(buf, s, e));
        if (error !== undefined) finish(error);
      } else body(buf, start, end);
      if (complete()) finish();
    };
    const socket = connect({
      host: target.hostname,
      port: Number(target.port),
      onread: {
        buffer: shared,
        callback: (n: number, buf: Uint8Array): boolean => {
          if (settled) return false;
          if (head !== null) takeHead(buf as Buffer, n);
          else feedBody(buf as Buffer, 0, n);
          return true;
        },
      },
    });
    live.add(socket);
    socket.once('connect', () => {
      socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`);
    });
    socket.once('error', (err) => finish(err.message));
    // A body with neither Content-Length nor chunked framing ends with the connection (the length check decides).
    const closeDelimited = (): boolean => head === null && chunked === null && length < 0;
    socket.once('close', () => finish(complete() || closeDelimited() ? undefined : `connection closed after ${bytes} body bytes`));
  });
}
