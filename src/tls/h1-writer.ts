/**
 * @module tls/h1-writer
 * The ClientWriter (http/writer.ts) for HTTP/1.x over TLS on node:http2's secure server (`allowHTTP1`): one
 * response on a node:http ServerResponse. Backpressure: `write()` false -> wait for 'drain'; a known length ends
 * the response once that many bytes were written (as uWS's tryEnd does); 'close' before the end is the client's
 * abort. HTTP/2 streams have their own writer (tls/h2-writer.ts). Runs in workers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientWriter, WriterState } from '../http/writer.js';
import { decodeHead } from './h2-writer.js';

const EMPTY = new ArrayBuffer(0);

export class Tls1ResponseWriter implements ClientWriter {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #remote: string;
  #state: WriterState = 'open';
  #totalSize = -1;
  #onAbort: (() => void) | null = null;
  #onDrain: (() => void) | null = null;
  #extra: string[] | null = null;
  /** A head written by writeHead and not sent yet: it goes out with the first body bytes or the end (discardHead). */
  #held: { status: number; reason: string; headers: readonly string[] } | null = null;
  bytesSent = 0;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#req = req;
    this.#res = res;
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
    const flat = this.#extra === null ? [...headers] : [...headers, ...this.#extra];
    if (length >= 0) flat.push('content-length', String(length));
    if (closeConnection) flat.push('connection', 'close');
    if (reason !== '') this.#res.writeHead(status, reason, flat);
    else this.#res.writeHead(status, flat);
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
    this.bytesSent += chunk.length;
    const ok = this.#res.write(chunk);
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
    this.#state = 'ended';
    this.#res.end();
  }

  endWithoutBody(status: number, reason: string, headers: readonly string[], contentLength: number): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    this.#head(status, reason, headers, contentLength);
    this.#res.end();
  }

  endWithBody(status: number, reason: string, headers: readonly string[], body: string | Buffer, closeConnection = false): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.#head(status, reason, headers, bytes.length, closeConnection);
    this.bytesSent += bytes.length;
    this.#res.end(bytes);
  }

  close(): void {
    if (this.#state === 'ended' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    this.#res.destroy();
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
