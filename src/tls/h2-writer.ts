/**
 * @module tls/h2-writer
 * The ClientWriter (http/writer.ts) of an HTTP/2 stream, on node:http2's core stream API (`stream.respond`,
 * `write`, `end`) rather than its compatibility layer (Http2ServerResponse), which cost about 40% of the engine's
 * CPU per 1 KiB response (bench/README.md "TLS front door"). A known length ends the stream once that many bytes
 * were written; 'close' before the end is the client's reset.
 * Backpressure: writeBody reports a chunk taken only once the stream's write callback ran. node:http2 keeps a written
 * chunk by reference (no copy) until the session has put it in DATA frames, and a stream's `write()` returns true
 * while fewer than 16 KiB are queued, `end(chunk)` always: a caller told "taken" then reuses the buffer (a reader's
 * block scratch goes back to the pool and the next reader fills it) and the client got another object's bytes
 * (test/integration/tls-buffer-reuse.test.ts). One chunk is in flight at a time, as the delivery loop writes the next
 * after the drain callback.
 * HTTP/2 forbids connection-specific fields (RFC 9113 §8.2.2), so those are dropped. A hot head's HEADERS before
 * its body go through tls/h2-fast-respond.ts (its field list built once per head). Also `decodeHead`, shared with
 * tls/h1-writer.ts. Runs in workers.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { ClientWriter, WriterState } from '../http/writer.js';
import { PreparedFields, respondPrepared } from './h2-fast-respond.js';

/** Fields HTTP/2 must not carry (RFC 9113 §8.2.2); node:http2 throws on them. */
const CONNECTION_FIELDS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/**
 * Destroying a stream with an error resets it with INTERNAL_ERROR (RFC 9113 §7). `stream.close(code)` would first
 * end the writable side, sending END_STREAM: a body of unknown length would look complete to the client.
 */
const DROPPED = new Error('response dropped');
const EMPTY = new ArrayBuffer(0);
const END_STREAM = { endStream: true } as const;

/** Swallows a stream error: 'close' follows and is what the writer acts on. */
function ignoreStreamError(): void {}

export class Tls2StreamWriter implements ClientWriter {
  readonly #stream: ServerHttp2Stream;
  readonly #remote: string;
  #state: WriterState = 'open';
  #totalSize = -1;
  #onAbort: (() => void) | null = null;
  #onDrain: (() => void) | null = null;
  /** A body chunk's write callback (the stream no longer holds it: sent, or dropped with the stream), or 'drain'. */
  readonly #consumed = (): void => this.#wake();
  #extra: string[] | null = null;
  /** A head written by writeHead and not sent yet: it goes out with the first body bytes or the end (discardHead). */
  #held: readonly string[] | null = null;
  #heldStatus = 0;
  /** The decoded head `#held` came from (writeEncodedHead), whose HTTP/2 fields are built once (preparedOf). */
  #heldDecoded: DecodedHead | null = null;
  bytesSent = 0;

  /**
   * `remote`: the client's IP, read once per connection (tls/h2-server.ts). The 'close' listener is not added here:
   * the engine calls watchClose() once the request handler has returned and the response is not complete yet (a hot
   * hit ends within the handler, and no stream event can run before it returns).
   */
  constructor(stream: ServerHttp2Stream, remote: string) {
    this.#stream = stream;
    this.#remote = remote;
    // Always: a stream reset after the end still emits 'error', and an unhandled one would end the worker.
    stream.on('error', ignoreStreamError);
  }

  /** Acts on the client's reset ('close' before the end) from now on; the engine calls it once per stream. */
  watchClose(): void {
    this.#stream.on('close', () => this.#closed());
  }

  #closed(): void {
    if (this.#state === 'ended' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    this.#onAbort?.();
    this.#wake();
  }

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
    this.#heldDecoded = null;
    this.#state = 'open';
    this.#totalSize = -1;
    return true;
  }

  /** Sends a held head (before the first body bytes or the end). */
  #sendHeld(endStream: boolean): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    const decoded = this.#heldDecoded;
    if (decoded !== null && this.#extra === null) {
      this.#heldDecoded = null;
      const prepared = preparedOf(decoded, this.#totalSize);
      if (endStream) this.#send(prepared.fields, true);
      else this.#sendPrepared(prepared);
      return;
    }
    this.#respond(this.#heldStatus, held, this.#totalSize, endStream);
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

  /** HEADERS with `status` and `headers` (+ Content-Length when `length` >= 0); false if the stream was reset instead. */
  #respond(status: number, headers: readonly string[], length: number, endStream: boolean): boolean {
    const fields: OutgoingHttpHeaders = { ':status': status };
    add(fields, headers);
    if (this.#extra !== null) add(fields, this.#extra);
    if (length >= 0) fields['content-length'] = length;
    return this.#send(fields, endStream);
  }

  /** HEADERS with `fields` (node copies them, never changes them: processHeaders); false if the stream was reset instead. */
  #send(fields: OutgoingHttpHeaders, endStream: boolean): boolean {
    const stream = this.#stream;
    try {
      if (endStream) stream.respond(fields, END_STREAM);
      else stream.respond(fields);
      return true;
    } catch {
      // A field node:http2 refuses (RFC 9113 §8.2.1), or a stream the client already reset: reset it rather than
      // throw the worker over; the access log shows the transaction aborted.
      this.#state = 'aborted';
      stream.destroy(DROPPED);
      return false;
    }
  }

  /** HEADERS of a hot head before its body (tls/h2-fast-respond.ts); false if the stream was reset instead. */
  #sendPrepared(prepared: PreparedFields): boolean {
    const stream = this.#stream;
    try {
      if (respondPrepared(stream, prepared) !== 'failed') return true;
    } catch {
      // As #send: a field node:http2 refuses, or a stream the client already reset.
    }
    this.#state = 'aborted';
    stream.destroy(DROPPED);
    return false;
  }

  writeHead(status: number, _reason: string, headers: readonly string[], totalSize: number): void {
    if (this.#state !== 'open') return;
    this.#state = 'streaming';
    this.#totalSize = totalSize;
    this.#held = headers;
    this.#heldStatus = status;
    this.#heldDecoded = null;
    // No body to wait for: the response is complete now.
    if (totalSize === 0) this.end();
  }

  writeEncodedHead(encoded: Buffer, totalSize: number): void {
    const head = decodeHead(encoded);
    this.writeHead(head.status, head.reason, head.headers, totalSize);
    if (this.#held === head.headers) this.#heldDecoded = head;
  }

  endEncodedWithoutBody(encoded: Buffer): void {
    const head = decodeHead(encoded);
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    if (this.#extra === null) this.#send(preparedOf(head, -1).fields, true);
    else this.#respond(head.status, head.headers, -1, true);
  }

  writeBody(chunk: Buffer, drain: () => void, stable = false): boolean {
    if (this.#state !== 'streaming') return true;
    this.#sendHeld(false);
    if (this.#state !== 'streaming') return true;
    this.bytesSent += chunk.length;
    const stream = this.#stream;
    const last = this.#totalSize >= 0 && this.bytesSent >= this.#totalSize;
    if (stable) {
      // Nobody reuses this memory: taken as soon as the stream queued it.
      if (last) {
        // The announced length is complete: the last DATA frame carries END_STREAM.
        this.#state = 'ended';
        stream.end(chunk);
        return true;
      }
      if (stream.write(chunk)) return true;
      this.#onDrain = drain;
      stream.once('drain', this.#consumed);
      return false;
    }
    this.#onDrain = drain;
    stream.write(chunk, this.#consumed);
    if (last) {
      // END_STREAM goes with the last DATA frame: end() after the write queues the stream's shutdown behind it.
      this.#state = 'ended';
      stream.end();
    }
    return false;
  }

  end(): void {
    if (this.#state !== 'streaming') return;
    if (this.#held !== null) {
      // Nothing written since the head: one HEADERS frame with END_STREAM.
      this.#sendHeld(true);
      if (this.#state === 'streaming') this.#state = 'ended';
      return;
    }
    this.#state = 'ended';
    this.#stream.end();
  }

  endWithoutBody(status: number, _reason: string, headers: readonly string[], contentLength: number): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    this.#respond(status, headers, contentLength, true);
  }

  endWithBody(status: number, _reason: string, headers: readonly string[], body: string | Buffer): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (!this.#respond(status, headers, bytes.length, false)) return;
    this.bytesSent += bytes.length;
    this.#stream.end(bytes);
  }

  close(): void {
    if (this.#state === 'ended' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    this.#stream.destroy(DROPPED);
  }

  onRequestBody(handler: (chunk: ArrayBuffer, isLast: boolean) => void): void {
    const stream = this.#stream;
    stream.on('data', (chunk: Buffer) => handler(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length) as ArrayBuffer, false));
    stream.on('end', () => handler(EMPTY, true));
  }

  pauseRequestBody(): void {
    if (this.#state !== 'aborted') this.#stream.pause();
  }

  resumeRequestBody(): void {
    if (this.#state !== 'aborted') this.#stream.resume();
  }
}

/** Adds a flat name/value list to HTTP/2 fields: names lower-cased, connection fields dropped, repeats as arrays. */
function add(fields: OutgoingHttpHeaders, list: readonly string[]): void {
  for (let i = 0; i < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase();
    if (CONNECTION_FIELDS.has(name)) continue;
    const value = list[i + 1] as string;
    const had = fields[name];
    if (had === undefined) fields[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else fields[name] = [String(had), value];
  }
}

/** A decoded head; never mutated (the writers copy `headers` into what they hand to node). */
interface DecodedHead {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly string[];
  /** Its HTTP/2 fields with Content-Length `fieldsLength` (-1: none), built on first use (preparedOf). */
  prepared: PreparedFields | null;
  fieldsLength: number;
}

/**
 * The HTTP/2 fields of a decoded head and a Content-Length, built once per head and length: a hot hit sends the same
 * head (same length) until it is re-encoded, so it skips the per-response lower-casing and object building of add().
 * Shared between responses; node:http2's respond() copies the object it is given (processHeaders) and never writes to it.
 */
function preparedOf(head: DecodedHead, length: number): PreparedFields {
  if (head.prepared !== null && head.fieldsLength === length) return head.prepared;
  const fields: OutgoingHttpHeaders = { ':status': head.status };
  add(fields, head.headers);
  if (length >= 0) fields['content-length'] = length;
  head.prepared = new PreparedFields(fields);
  head.fieldsLength = length;
  return head.prepared;
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
  const head: DecodedHead = { status, reason, headers, prepared: null, fieldsLength: -1 };
  DECODED.set(encoded, head);
  return head;
}
