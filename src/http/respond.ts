/**
 * @module http/respond
 * Writing one response to a uWS HttpResponse: status and headers, then the body with backpressure, corked after
 * every await. A known body length streams with tryEnd (uWS writes Content-Length itself; tryEnd does not buffer
 * what the socket refused, so the unsent rest is kept and retried from onWritable, spikes.md item 1); an unknown
 * length streams with write() (chunked). The head is held until the first body bytes (or the end) are ready: uWS
 * ends a head (blank line, Content-Length or Transfer-Encoding) only with the first body write, so a head sent on
 * its own and then a close reached clients as a complete-looking empty 200 (issue 19); held, it can still be
 * replaced by an error response (discardHead). After onAborted or the final write no method touches the uWS
 * object again: uWS would crash the process. Runs in workers; knows nothing about caching.
 */
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from './uws.js';
import type { ClientWriter, WriterState } from './writer.js';
import type { AddressValue } from '../policy/address-set.js';
import { peerText, peerValue } from './peer-address.js';

const STATUS_LINES = new Map<number, string>();

/** `200 OK`-style status line text, cached per code. */
function statusLine(status: number, reason: string): string {
  if (reason !== '') return `${status} ${reason}`;
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    STATUS_LINES.set(status, line);
  }
  return line;
}

/**
 * A response's status line and headers as one buffer for a single uWS writeStatus call:
 * `200 OK\r\nname: value\r\n...name: value`. uWS writes a status as `HTTP/1.1 <status>\r\n` and copies its bytes
 * unchecked (uWS v20 API, both the aliased build and official releases), then adds Date and Content-Length as for
 * any response. One native call per head instead of one per header (each a string-to-UTF-8 conversion in uWS).
 * Encoded as latin1: undici decodes origin header bytes as latin1, so every byte goes back out as it came in
 * (uWS's own string conversion would re-encode bytes above 0x7f as UTF-8). Header values come from origin
 * responses that undici parsed, or from Flint itself, so they hold no CR or LF.
 */
export function encodeHead(status: number, reason: string, headers: readonly string[]): Buffer {
  let text = statusLine(status, reason);
  for (let i = 0; i < headers.length; i += 2) text += `\r\n${headers[i] as string}: ${headers[i + 1] as string}`;
  return Buffer.from(text, 'latin1');
}

export type { WriterState } from './writer.js';

export class ResponseWriter implements ClientWriter {
  readonly #res: HttpResponse;
  #state: WriterState = 'open';
  /** Body length announced in writeHead, or -1 for chunked. */
  #totalSize = -1;
  /** Part of a chunk the socket has not taken yet (tryEnd mode) or -- in write mode -- a marker that we wait. */
  #pending: Buffer | null = null;
  #pendingStart = 0;
  #onDrain: (() => void) | null = null;
  #onAbort: (() => void) | null = null;
  /** Status line and headers (encodeHead) written by writeHead but not yet sent: they go out with the first body bytes or the end. */
  #head: Buffer | null = null;
  /** Body bytes handed to uWS so far. */
  bytesSent = 0;
  /** uWS finished the response (res.end, or tryEnd reported done): no abort handler needed (armAbort). */
  #finishedByUws = false;
  #abortRegistered = false;
  /** Headers added by addHeader (CORS at the edge: pipeline/edge-policy.ts); null in the common case. */
  #extra: string[] | null = null;

  constructor(res: HttpResponse) {
    this.#res = res;
  }

  /**
   * Call as the uWS handler returns. uWS requires an abort handler for every response it does not consider
   * finished by then: registering it costs a native call and a closure, so a response uWS finished inside the
   * handler (res.end, endWithoutBody or a completing tryEnd: a hot-tier hit) skips it.
   */
  armAbort(): void {
    if (!this.#finishedByUws) this.#registerAbort();
  }

  #registerAbort(): void {
    if (this.#abortRegistered) return;
    this.#abortRegistered = true;
    this.#res.onAborted(() => {
      this.#state = 'aborted';
      this.#pending = null;
      this.#onAbort?.();
      // A body writer waiting for the socket to drain would wait forever: wake it, it sees the abort.
      const drain = this.#onDrain;
      this.#onDrain = null;
      drain?.();
    });
  }

  /** The client's IP as text (IPv4-mapped IPv6 as plain IPv4); '' once the response is over (uWS freed it). */
  remoteAddress(): string {
    return peerText(this.remoteAddressValue());
  }

  /**
   * The client's address as a value (http/peer-address.ts), null once the response is over. One getpeername per
   * call: the request head keeps it (http/request.ts).
   */
  remoteAddressValue(): AddressValue | null {
    if (this.#state === 'ended' || this.#state === 'aborted') return null;
    return peerValue(this.#res.getRemoteAddress());
  }

  get state(): WriterState {
    return this.#state;
  }

  /** True once the head went to uWS (or the connection is gone): an error can then only close the connection. */
  get headersSent(): boolean {
    return this.#state !== 'open' && this.#head === null;
  }

  /**
   * Drops a head written by writeHead that has not gone out yet, so the response can still be answered otherwise
   * (an error before the first body byte). True when nothing of the response reached uWS: the writer is open again.
   */
  discardHead(): boolean {
    if (this.#state === 'open') return true;
    if (this.#state !== 'streaming' || this.#head === null) return false;
    this.#head = null;
    this.#state = 'open';
    this.#totalSize = -1;
    return true;
  }

  /** Called once if the client goes away before the response ended. */
  onAbort(callback: () => void): void {
    this.#onAbort = callback;
  }

  /** A header every head of this response carries, whatever the pipeline writes (per-request, never stored). */
  addHeader(name: string, value: string): void {
    (this.#extra ??= []).push(name, value);
  }

  #withExtra(headers: readonly string[]): readonly string[] {
    return this.#extra === null ? headers : [...headers, ...this.#extra];
  }

  /**
   * An encoded head (the hot tier's, shared by every client) with the added headers appended: the shared buffer is
   * never changed, and a response without added headers costs one null check.
   */
  #encodedWithExtra(encoded: Buffer): Buffer {
    const extra = this.#extra;
    if (extra === null) return encoded;
    let text = '';
    for (let i = 0; i < extra.length; i += 2) text += `\r\n${extra[i] as string}: ${extra[i + 1] as string}`;
    return Buffer.concat([encoded, Buffer.from(text, 'latin1')]);
  }

  /**
   * Writes status and headers. `headers` is a flat name/value list without Content-Length or Transfer-Encoding;
   * `totalSize` is the body length, or -1 for an unknown length (chunked). The head is held back and sent in the
   * same corked write as the first body chunk or the end (one send syscall for a small response, measured as
   * the largest cost of a proxied 1 KiB response). It is never sent on its own: until body bytes are ready a
   * failure can still become a proper error response (discardHead), and uWS could not end the head anyway.
   */
  writeHead(status: number, reason: string, headers: readonly string[], totalSize: number): void {
    if (this.#state !== 'open') return;
    this.#totalSize = totalSize;
    this.#state = 'streaming';
    this.#head = encodeHead(status, reason, this.#withExtra(headers));
  }

  /**
   * Writes a head encoded by `encodeHead`; the caller writes the body (writeBody) in the same turn, which sends
   * both in one write. `totalSize` as for writeHead (>= 0).
   */
  writeEncodedHead(encoded: Buffer, totalSize: number): void {
    if (this.#state !== 'open') return;
    this.#totalSize = totalSize;
    this.#state = 'streaming';
    this.#head = this.#encodedWithExtra(encoded);
  }

  /** A complete response without a body (a 304) whose head was encoded by `encodeHead`. */
  endEncodedWithoutBody(encoded: Buffer): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    this.#finishedByUws = true;
    const res = this.#res;
    res.cork(() => {
      res.writeStatus(this.#encodedWithExtra(encoded));
      res.endWithoutBody();
    });
  }

  /** Writes a held-back head; call inside a cork. */
  #writeHeldHead(): void {
    const head = this.#head;
    if (head === null) return;
    this.#head = null;
    this.#res.writeStatus(head);
  }

  /**
   * Sends a body chunk. Returns true when the socket took all of it; false when the caller must wait for the
   * `drain` callback before writing more (the rest is kept and sent here).
   */
  writeBody(chunk: Buffer, drain: () => void): boolean {
    if (this.#state !== 'streaming') return true;
    this.bytesSent += chunk.length;
    const res = this.#res;
    if (this.#totalSize < 0) {
      let ok = true;
      res.cork(() => {
        this.#writeHeldHead();
        ok = res.write(chunk);
      });
      if (ok) return true;
      this.#waitForDrain(chunk, 0, drain, false);
      return false;
    }
    let start = 0;
    let ok = true;
    let done = false;
    res.cork(() => {
      this.#writeHeldHead();
      start = res.getWriteOffset();
      [ok, done] = res.tryEnd(chunk, this.#totalSize);
    });
    if (done) {
      this.#state = 'ended';
      this.#finishedByUws = true;
      return true;
    }
    if (ok) return true;
    this.#waitForDrain(chunk, start, drain, true);
    return false;
  }

  #waitForDrain(chunk: Buffer, start: number, drain: () => void, retry: boolean): void {
    this.#pending = retry ? chunk : null;
    this.#pendingStart = start;
    this.#onDrain = drain;
    this.#res.onWritable(this.#writable);
  }

  /** onWritable handler, one bound function per response rather than a closure per chunk. */
  readonly #writable = (offset: number): boolean => {
    if (this.#state !== 'streaming') return true;
    const pending = this.#pending;
    if (pending !== null) {
      const [ok, done] = this.#res.tryEnd(pending.subarray(offset - this.#pendingStart), this.#totalSize);
      if (done) this.#state = 'ended';
      else if (!ok) return false;
      this.#pending = null;
    }
    const drain = this.#onDrain;
    this.#onDrain = null;
    drain?.();
    return true;
  };

  /** Ends the body (chunked mode, or a known length already fully written). */
  end(): void {
    if (this.#state !== 'streaming') return;
    this.#state = 'ended';
    this.#finishedByUws = true;
    this.#res.cork(() => {
      this.#writeHeldHead();
      this.#res.end();
    });
  }

  /** A complete response without a body: HEAD, 204, 304; `contentLength` is reported as Content-Length if >= 0. */
  endWithoutBody(status: number, reason: string, headers: readonly string[], contentLength: number): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    const res = this.#res;
    // With a reported Content-Length (HEAD) uWS 20.30 neither counts the response as answered (no abort handler:
    // the process aborts) nor lets it be touched afterwards (registering one then throws): register it first.
    if (contentLength >= 0) this.#registerAbort();
    res.cork(() => {
      res.writeStatus(encodeHead(status, reason, this.#withExtra(headers)));
      if (contentLength >= 0) res.endWithoutBody(contentLength);
      else res.endWithoutBody();
    });
    this.#finishedByUws = true;
  }

  /**
   * A small complete response with an in-memory body (errors, 404s). `closeConnection`: uWS adds
   * `Connection: close` and closes the connection once the response is written (a refused request whose body was
   * not read); it still dispatches requests pipelined behind it in data already read (pipeline/refusals.ts).
   */
  endWithBody(status: number, reason: string, headers: readonly string[], body: string | Buffer, closeConnection = false): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    const res = this.#res;
    res.cork(() => {
      res.writeStatus(encodeHead(status, reason, this.#withExtra(headers)));
      res.end(body, closeConnection);
    });
    this.#finishedByUws = true;
    this.bytesSent += typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  }

  /** Drops the connection: the only honest signal once a body is half sent and the origin failed. */
  close(): void {
    if (this.#state === 'ended' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    // Closing inside the handler leaves a response uWS counts as unanswered; its abort handler keeps it content.
    this.#registerAbort();
    this.#res.cork(() => {
      this.#res.close();
    });
  }

  /** Receives the request body; `chunk` is only valid during the call (uWS reuses the memory). */
  onRequestBody(handler: (chunk: ArrayBuffer, isLast: boolean) => void): void {
    this.#res.onData(handler);
  }

  /** Pauses reading the request body from the client socket (backpressure towards the client). */
  pauseRequestBody(): void {
    if (this.#state !== 'aborted') this.#res.pause();
  }

  resumeRequestBody(): void {
    if (this.#state !== 'aborted') this.#res.resume();
  }
}
