/**
 * @module http/writer
 * The seam between the request pipeline and a front engine: everything the pipeline does to answer a client, with
 * no engine type in sight. http/respond.ts implements it on a uWS HttpResponse (plain HTTP/1.1), tls/h2-writer.ts
 * on node:http2's compatibility response (HTTP/2 and HTTP/1.x over TLS). Runs in workers.
 */

/** Where a response is: nothing sent, head (maybe) and body under way, done, or the client is gone. */
export type WriterState = 'open' | 'streaming' | 'ended' | 'aborted';

export interface ClientWriter {
  /** Body bytes handed to the engine so far. */
  bytesSent: number;
  readonly state: WriterState;
  /** True once the head went to the engine (or the connection is gone): an error can then only close the connection. */
  readonly headersSent: boolean;
  /**
   * Drops a head written by writeHead that has not gone out yet (heads are held until the first body bytes or the
   * end), so an error before the first body byte can still be answered properly. True when nothing of the response
   * went out: the writer is open again.
   */
  discardHead(): boolean;
  /** Call as the engine's request handler returns (uWS needs its abort handler by then; others may ignore it). */
  armAbort(): void;
  /** The client's IP as text (IPv4-mapped IPv6 as plain IPv4); may be '' once the response is over. */
  remoteAddress(): string;
  /** Called once if the client goes away before the response ended (a later call replaces the callback). */
  onAbort(callback: () => void): void;
  /**
   * Status and headers, held until the first body bytes or the end; `headers` is a flat name/value list without
   * Content-Length or Transfer-Encoding; `totalSize` is the body length (the response ends by itself once that many
   * bytes were written), -1 = unknown.
   */
  writeHead(status: number, reason: string, headers: readonly string[], totalSize: number): void;
  /** A head encoded by http/respond.ts `encodeHead` (the hot tier keeps those); then the body as for writeHead. */
  writeEncodedHead(encoded: Buffer, totalSize: number): void;
  /** A complete response without a body (a 304) whose head was encoded by `encodeHead`. */
  endEncodedWithoutBody(encoded: Buffer): void;
  /**
   * Sends a body chunk; false = wait for `drain` before writing more (the writer keeps what it could not send).
   * Until true is returned or `drain` runs the chunk's memory must not change: a writer may hold it by reference.
   * `stable`: the caller never reuses this memory (a hot-tier or inline body, an origin chunk), so a writer that
   * queues chunks by reference may report it taken at once (tls/h2-writer.ts).
   */
  writeBody(chunk: Buffer, drain: () => void, stable?: boolean): boolean;
  /** Ends the body (unknown length, or a known length fully written). */
  end(): void;
  /** A complete response without a body: HEAD, 204, 304; `contentLength` is reported as Content-Length if >= 0. */
  endWithoutBody(status: number, reason: string, headers: readonly string[], contentLength: number): void;
  /** A small complete response with an in-memory body; `closeConnection` closes the connection after it. */
  endWithBody(status: number, reason: string, headers: readonly string[], body: string | Buffer, closeConnection?: boolean): void;
  /** Drops the connection (HTTP/2: resets the stream): the only honest signal once a body is half sent. */
  close(): void;
  /** Receives the request body; `chunk` is only valid during the call. */
  onRequestBody(handler: (chunk: ArrayBuffer, isLast: boolean) => void): void;
  /** Pauses reading the request body (backpressure towards the client). */
  pauseRequestBody(): void;
  resumeRequestBody(): void;
  /** A header every response of this writer carries (HSTS over TLS, CORS: pipeline/edge-policy.ts); call before the head. */
  addHeader?(name: string, value: string): void;
}
