/**
 * @module origin/fetch
 * One request to an origin, streamed both ways, with errors mapped to FlintError codes. Knows nothing of the cache
 * or of client sockets: the caller gives a sink and gets back a handle to pause, resume or abort the transfer.
 * Runs in workers. The sink's methods are called at most in this order: onHeaders, onData*, then onEnd or onError
 * (onError may also come first). After abort() no sink method is called.
 */
import type { Readable } from 'node:stream';
import { FlintError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { Dispatcher } from './pool.js';
import { isTlsError } from './tls.js';

/** Response headers as undici parses them: lower-case names, repeated headers as arrays. */
export type OriginHeaders = Record<string, string | string[] | undefined>;

export interface OriginRequest {
  readonly method: string;
  /** Path and query, starting with '/'. */
  readonly path: string;
  /**
   * Flat name/value list (name0, value0, name1, ...), names lower-case, a repeated field once per value. undici
   * takes a flat list as it is; an object would be walked key by key on every request.
   */
  readonly headers: readonly string[];
  /** Request body stream, or null when there is none. */
  readonly body: Readable | null;
}

export interface OriginSink {
  onHeaders(status: number, headers: OriginHeaders, statusText: string): void;
  /** A body chunk; the buffer is the sink's to keep. */
  onData(chunk: Buffer): void;
  onEnd(): void;
  onError(error: FlintError): void;
  /** Called with the member key (`host:port`) each time the router picks a member for this transaction. */
  onMember?(member: string): void;
}

/** Control over one origin transaction. */
export interface OriginTransfer {
  pause(): void;
  resume(): void;
  abort(): void;
}

const UNDICI_CODES: Record<string, [ErrorCode, boolean]> = {
  UND_ERR_CONNECT_TIMEOUT: ['FLINT_ERR_ORIGIN_CONNECT_TIMEOUT', true],
  UND_ERR_HEADERS_TIMEOUT: ['FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT', false],
  UND_ERR_BODY_TIMEOUT: ['FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT', false],
  UND_ERR_SOCKET: ['FLINT_ERR_ORIGIN_RESET', false],
  ECONNRESET: ['FLINT_ERR_ORIGIN_RESET', false],
  EPIPE: ['FLINT_ERR_ORIGIN_RESET', false],
  ECONNREFUSED: ['FLINT_ERR_ORIGIN_CONNECT', true],
  EHOSTUNREACH: ['FLINT_ERR_ORIGIN_CONNECT', true],
  ENETUNREACH: ['FLINT_ERR_ORIGIN_CONNECT', true],
  ENOTFOUND: ['FLINT_ERR_ORIGIN_CONNECT', true],
  EAI_AGAIN: ['FLINT_ERR_ORIGIN_CONNECT', true],
};

/** Maps an undici/socket error to a FlintError with source 'origin'. */
export function originError(error: unknown, origin: string): FlintError {
  if (error instanceof FlintError) return error;
  const code = (error as { code?: string }).code ?? '';
  // A failed TLS handshake or certificate check: the connection never carried a request, so it is a connect
  // failure (another member may be tried; health counts it). Its detail goes to the log (origin/pool.ts), never
  // to the client.
  if (isTlsError(code)) return new FlintError('FLINT_ERR_ORIGIN_CONNECT', 'origin unreachable', { source: 'origin', retryable: true, cause: error });
  const [flintCode, retryable] = UNDICI_CODES[code] ?? ['FLINT_ERR_ORIGIN_PROTOCOL', false];
  const message = `origin ${origin}: ${(error as Error).message ?? String(error)}${code === '' ? '' : ` (${code})`}`;
  return new FlintError(flintCode, message, { source: 'origin', retryable, cause: error });
}

/**
 * One origin call: the undici handler (controller API) and the caller's OriginTransfer in one object, so a request
 * costs one allocation here rather than a handler plus a closure per control method.
 */
class OriginCall implements Dispatcher.DispatchHandler, OriginTransfer {
  #controller: Dispatcher.DispatchController | null = null;
  /** Set by abort(); applied in onRequestStart when abort() came before the request started. */
  #aborted = false;
  #paused = false;
  readonly #sink: OriginSink;
  readonly #origin: string;

  constructor(sink: OriginSink, origin: string) {
    this.#sink = sink;
    this.#origin = origin;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#aborted) controller.abort(new Error('aborted by flint'));
    else if (this.#paused) controller.pause();
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: OriginHeaders, statusText?: string): void {
    if (this.#aborted) return;
    this.#sink.onHeaders(statusCode, headers, statusText ?? '');
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#aborted) return;
    this.#sink.onData(chunk);
  }

  onResponseEnd(): void {
    if (this.#aborted) return;
    this.#sink.onEnd();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#aborted) return;
    this.#sink.onError(originError(error, this.#origin));
  }

  pause(): void {
    this.#paused = true;
    this.#controller?.pause();
  }

  resume(): void {
    if (this.#aborted) return;
    this.#paused = false;
    this.#controller?.resume();
  }

  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#controller?.abort(new Error('aborted by flint'));
  }
}

/**
 * Starts `request` on `dispatcher` (an origin pool) for `path` (the request's path with the member's prefix) and
 * streams the answer into `sink`.
 */
export function fetchFromOrigin(dispatcher: Dispatcher, origin: string, request: OriginRequest, path: string, sink: OriginSink): OriginTransfer {
  const call = new OriginCall(sink, origin);
  try {
    dispatcher.dispatch({ method: request.method as Dispatcher.HttpMethod, path, headers: request.headers as string[], body: request.body }, call);
  } catch (error) {
    queueMicrotask(() => sink.onError(originError(error, origin)));
  }
  return call;
}
