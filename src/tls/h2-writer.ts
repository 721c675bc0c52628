/**
 * @module tls/h2-writer
 * The ClientWriter (http/writer.ts) of the TLS engine: one response on node:http2's compatibility API, which is an
 * Http2ServerResponse for HTTP/2 streams and a node:http ServerResponse for HTTP/1.x over TLS (`allowHTTP1`).
 * Backpressure: `write()` false -> wait for 'drain'; a known length ends the response once that many bytes were
 * written (as uWS's tryEnd does); 'close' before the end is the client's abort. HTTP/2 forbids connection-specific
 * fields (RFC 9113 §8.2.2), so those are dropped there. Runs in workers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { ClientWriter, WriterState } from '../http/writer.js';

/** Fields HTTP/2 must not carry (RFC 9113 §8.2.2); node:http2 throws on them. */
const CONNECTION_FIELDS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/** RST_STREAM code for a response dropped mid-body (RFC 9113 §7 INTERNAL_ERROR). */
const NGHTTP2_INTERNAL_ERROR = 2;
const EMPTY = new ArrayBuffer(0);

export type TlsRequest = Http2ServerRequest | IncomingMessage;
export type TlsResponse = Http2ServerResponse | ServerResponse;

export class TlsResponseWriter implements ClientWriter {
  readonly #req: TlsRequest;
  readonly #res: TlsResponse;
  readonly #h2: boolean;
  readonly #remote: string;
  #state: WriterState = 'open';
  #totalSize = -1;
  #onAbort: (() => void) | null = null;
  #onDrain: (() => void) | null = null;
  #extra: string[] | null = null;
  /** A head written by writeHead and not sent yet: it goes out with the first body bytes or the end (discardHead). */
  #held: { status: number; reason: string; headers: readonly string[] } | null = null;
  bytesSent = 0;

  constructor(req: TlsRequest, res: TlsResponse) {
    this.#req = req;
    this.#res = res;
    this.#h2 = req.httpVersionMajor === 2;
    const ip = req.socket?.remoteAddress ?? '';
    this.#remote = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    res.on('close', this.#closed);
  }

  readonly #closed = (): void => {
    if (this.#state === 'ended' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    this.#onAbort?.();
    this.#wake();
  };

  readonly #drained = (): void => this.#wake();

  #wake(): void {
    const drain = this.#onDrain;
    this.#onDrain = null;
    drain?.();
  }

  get state(): WriterState {
    return this.#state;
  }

  get headersSent(): boolean {
    return this.#state !== 'open' && this.#held === null;
  }

  discardHead(): boolean {
    if (this.#state === 'open') return true;
    if (this.#state !== 'streaming' || this.#held === null) return false;
    this.#held = null;
    this.#state = 'open';
    this.#totalSize = -1;
    return true;
  }

  /** Sends a held head (before the first body bytes or the end). */
  #sendHeld(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    this.#head(held.status, held.reason, held.headers, this.#totalSize);
  }

  /** Nothing to do: node:http2 needs no handler registered before the request handler returns. */
  armAbort(): void {}

  remoteAddress(): string {
    return this.#remote;
  }

  onAbort(callback: () => void): void {
    this.#onAbort = callback;
  }

  addHeader(name: string, value: string): void {
    (this.#extra ??= []).push(name, value);
  }

  /** Sends status and headers; `length` >= 0 becomes Content-Length. */
  #head(status: number, reason: string, headers: readonly string[], length: number, closeConnection = false): void {
    const res = this.#res;
    if (this.#h2) {
      const fields: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
      const add = (list: readonly string[]): void => {
        for (let i = 0; i < list.length; i += 2) {
          const name = (list[i] as string).toLowerCase();
          if (CONNECTION_FIELDS.has(name)) continue;
          const value = list[i + 1] as string;
          const had = fields[name];
          if (had === undefined) fields[name] = value;
          else if (Array.isArray(had)) had.push(value);
          else fields[name] = [had, value];
        }
      };
      add(headers);
      if (this.#extra !== null) add(this.#extra);
      if (length >= 0) fields['content-length'] = String(length);
      try {
        (res as Http2ServerResponse).writeHead(status, fields);
      } catch {
        // A field node:http2 refuses (RFC 9113 §8.2.1, e.g. a name HTTP/1.1 allows but HTTP/2 does not): the stream
        // is reset rather than the worker thrown over; the access log shows the transaction aborted.
        this.#state = 'aborted';
        (res as Http2ServerResponse).stream.close(NGHTTP2_INTERNAL_ERROR);
      }
      return;
    }
    const flat = this.#extra === null ? [...headers] : [...headers, ...this.#extra];
    if (length >= 0) flat.push('content-length', String(length));
    if (closeConnection) flat.push('connection', 'close');
    const h1 = res as ServerResponse;
    if (reason !== '') h1.writeHead(status, reason, flat);
    else h1.writeHead(status, flat);
  }

  writeHead(status: number, reason: string, headers: readonly string[], totalSize: number): void {
    if (this.#state !== 'open') return;
    this.#state = 'streaming';
    this.#totalSize = totalSize;
    this.#held = { status, reason, headers };
    // No body to wait for: the response is complete now.
    if (totalSize === 0) this.end();
  }

  writeEncodedHead(encoded: Buffer, totalSize: number): void {
    const head = decodeHead(encoded);
    this.writeHead(head.status, head.reason, head.headers, totalSize);
  }

  endEncodedWithoutBody(encoded: Buffer): void {
    const head = decodeHead(encoded);
    this.endWithoutBody(head.status, head.reason, head.headers, -1);
  }

  writeBody(chunk: Buffer, drain: () => void): boolean {
    if (this.#state !== 'streaming') return true;
    this.#sendHeld();
    if (this.#state !== 'streaming') return true;
    this.bytesSent += chunk.length;
    // Both response kinds take a Buffer and return false when their buffer is full (the union has no common signature).
    const ok = (this.#res as ServerResponse).write(chunk);
    if (this.#totalSize >= 0 && this.bytesSent >= this.#totalSize) {
      // The announced length is complete: end now (the engine keeps what the socket has not taken yet).
      this.end();
      return true;
    }
    if (ok) return true;
    this.#onDrain = drain;
    this.#res.once('drain', this.#drained);
    return false;
  }

  end(): void {
    if (this.#state !== 'streaming') return;
    this.#sendHeld();
    if (this.#state !== 'streaming') return;
    this.#state = 'ended';
    this.#res.end();
  }

  endWithoutBody(status: number, reason: string, headers: readonly string[], contentLength: number): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    this.#head(status, reason, headers, contentLength);
    if (this.#state === 'ended') this.#res.end();
  }

  endWithBody(status: number, reason: string, headers: readonly string[], body: string | Buffer, closeConnection = false): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.#head(status, reason, headers, bytes.length, closeConnection);
    if (this.#state !== 'ended') return;
    this.bytesSent += bytes.length;
    this.#res.end(bytes);
  }

  close(): void {
    if (this.#state === 'ended' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    if (this.#h2) (this.#res as Http2ServerResponse).stream.close(NGHTTP2_INTERNAL_ERROR);
    else (this.#res as ServerResponse).destroy();
  }

  onRequestBody(handler: (chunk: ArrayBuffer, isLast: boolean) => void): void {
    const req = this.#req;
    req.on('data', (chunk: Buffer) => handler(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length) as ArrayBuffer, false));
    req.on('end', () => handler(EMPTY, true));
  }

  pauseRequestBody(): void {
    if (this.#state !== 'aborted') this.#req.pause();
  }

  resumeRequestBody(): void {
    if (this.#state !== 'aborted') this.#req.resume();
  }
}

/** A decoded head; never mutated (the writer copies `headers` into what it hands to node). */
interface DecodedHead {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly string[];
}

/**
 * Heads decoded per encoded buffer: the hot tier reuses one encoded head for every hit of an object until its Age
 * or ttl ticks (pipeline/hot-head.ts), so a hot hit over TLS decodes it about once a second, not once per hit.
 */
const DECODED = new WeakMap<Buffer, DecodedHead>();

/** Status, reason and headers back out of an http/respond.ts `encodeHead` buffer (`200 OK\r\nname: value...`). */
export function decodeHead(encoded: Buffer): DecodedHead {
  const known = DECODED.get(encoded);
  if (known !== undefined) return known;
  const lines = encoded.toString('latin1').split('\r\n');
  const first = lines[0] ?? '';
  const space = first.indexOf(' ');
  const status = Number(space === -1 ? first : first.slice(0, space));
  const reason = space === -1 ? '' : first.slice(space + 1);
  const headers: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(': ');
    if (colon > 0) headers.push(line.slice(0, colon), line.slice(colon + 2));
  }
  const head = { status, reason, headers };
  DECODED.set(encoded, head);
  return head;
}
