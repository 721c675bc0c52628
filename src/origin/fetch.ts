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
import { unforwardable } from './request-check.js';
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
  /** undici is writing the request now (the origin log learns the connection from this; logs/origin-log.ts). */
  onRequestStart?(): void;
}

/** Control over one origin transaction. */
export interface OriginTransfer {
  pause(): void;
  resume(): void;
  abort(): void;
}

/**
 * What a failed transaction says about the member it went to (origin health, primary/origin-health.ts): its
 * connection could not be made ('connect'), or it broke, timed out or answered garbage once made ('receive'); 'none'
 * when the failure says nothing about the origin (the request was refused or dropped on Flint's side before or while
 * it was sent: undici's own validation, an abort, a closed pool, a client body that failed).
 */
export type OriginCharge = 'connect' | 'receive' | 'none';

/** undici/socket error code -> [Flint code, retryable on another member, charge]. Only codes listed here are charged. */
const UNDICI_CODES: Record<string, readonly [ErrorCode, boolean, OriginCharge]> = {
  UND_ERR_CONNECT_TIMEOUT: ['FLINT_ERR_ORIGIN_CONNECT_TIMEOUT', true, 'connect'],
  ECONNREFUSED: ['FLINT_ERR_ORIGIN_CONNECT', true, 'connect'],
  EHOSTUNREACH: ['FLINT_ERR_ORIGIN_CONNECT', true, 'connect'],
  ENETUNREACH: ['FLINT_ERR_ORIGIN_CONNECT', true, 'connect'],
  ENOTFOUND: ['FLINT_ERR_ORIGIN_CONNECT', true, 'connect'],
  EAI_AGAIN: ['FLINT_ERR_ORIGIN_CONNECT', true, 'connect'],
  UND_ERR_HEADERS_TIMEOUT: ['FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT', false, 'receive'],
  // undici stops the body timer while Flint pauses the transfer for a slow client, so this is the origin's silence.
  UND_ERR_BODY_TIMEOUT: ['FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT', false, 'receive'],
  UND_ERR_SOCKET: ['FLINT_ERR_ORIGIN_RESET', false, 'receive'],
  ECONNRESET: ['FLINT_ERR_ORIGIN_RESET', false, 'receive'],
  EPIPE: ['FLINT_ERR_ORIGIN_RESET', false, 'receive'],
  UND_ERR_HEADERS_OVERFLOW: ['FLINT_ERR_ORIGIN_PROTOCOL', false, 'receive'],
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: ['FLINT_ERR_ORIGIN_PROTOCOL', false, 'receive'],
  // Refused by undici's request validation before a byte left (a method, target or header value it will not send):
  // the client's request, answered 400, never the origin's failure.
  UND_ERR_INVALID_ARG: ['FLINT_ERR_CLIENT_BAD_REQUEST', false, 'none'],
  UND_ERR_NOT_SUPPORTED: ['FLINT_ERR_CLIENT_BAD_REQUEST', false, 'none'],
  // The client's body did not match its Content-Length.
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: ['FLINT_ERR_CLIENT_BAD_REQUEST', false, 'none'],
};

/** What a client is told about a request that cannot be sent (the reason goes to the log through `cause`). */
const REFUSED_MESSAGE = 'the request cannot be forwarded to the origin';
const PARSER_ERROR = ['FLINT_ERR_ORIGIN_PROTOCOL', false, 'receive'] as const;
const UNKNOWN_ERROR = ['FLINT_ERR_ORIGIN_PROTOCOL', false, 'none'] as const;

/** An origin transaction's failure, with what it says about the member (`charge`). */
export class OriginFailure extends FlintError {
  readonly charge: OriginCharge;

  constructor(code: ErrorCode, message: string, retryable: boolean, charge: OriginCharge, cause: unknown) {
    super(code, message, { source: code === 'FLINT_ERR_CLIENT_BAD_REQUEST' ? 'client' : 'origin', retryable, cause });
    this.charge = charge;
  }
}

/**
 * Maps an undici/socket error to a FlintError. A FlintError passes as it is (a client body's failure: never charged);
 * an HTTP parser error (`HPE_*`: the origin's answer is not HTTP) is charged as 'receive'; any other code is mapped
 * to FLINT_ERR_ORIGIN_PROTOCOL without a charge: only failures known to be the origin's count against it.
 */
export function originError(error: unknown, origin: string): FlintError {
  if (error instanceof FlintError) return error;
  const code = (error as { code?: string }).code ?? '';
  // A failed TLS handshake or certificate check: the connection never carried a request, so it is a connect
  // failure (another member may be tried; health counts it). Its detail goes to the log (origin/pool.ts), never
  // to the client.
  if (isTlsError(code)) return new OriginFailure('FLINT_ERR_ORIGIN_CONNECT', 'origin unreachable', true, 'connect', error);
  const [flintCode, retryable, charge] = UNDICI_CODES[code] ?? (code.startsWith('HPE_') ? PARSER_ERROR : UNKNOWN_ERROR);
  const message =
    flintCode === 'FLINT_ERR_CLIENT_BAD_REQUEST'
      ? REFUSED_MESSAGE
      : `origin ${origin}: ${(error as Error).message ?? String(error)}${code === '' ? '' : ` (${code})`}`;
  return new OriginFailure(flintCode, message, retryable, charge, error);
}

/** The charge of an error an origin transaction ended with ('none' for anything but an OriginFailure). */
export function chargeOf(error: FlintError): OriginCharge {
  return error instanceof OriginFailure ? error.charge : 'none';
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
    if (!this.#aborted) this.#sink.onRequestStart?.();
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

  /** Ends a call that was never dispatched (request-check.ts refused it): the client's request, never charged. */
  refuse(reason: string): void {
    if (this.#aborted) return;
    this.#sink.onError(new OriginFailure('FLINT_ERR_CLIENT_BAD_REQUEST', REFUSED_MESSAGE, false, 'none', new Error(reason)));
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
  // Never hand undici a request it would refuse: its pool would lose a connection slot for good (request-check.ts).
  const refused = unforwardable(request.method, path, request.headers);
  if (refused !== null) {
    queueMicrotask(() => call.refuse(refused));
    return call;
  }
  try {
    dispatcher.dispatch({ method: request.method as Dispatcher.HttpMethod, path, headers: request.headers as string[], body: request.body }, call);
  } catch (error) {
    queueMicrotask(() => sink.onError(originError(error, origin)));
  }
  return call;
}
