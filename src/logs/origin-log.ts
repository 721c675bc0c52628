/**
 * @module logs/origin-log
 * STON's origin log: one W3C line per origin transaction (each member tried is one transaction), written when it
 * ends, fails or is aborted: which connection carried it (`cs-sid`, and `cs-tcount`, its transaction number on that
 * connection: 1 = a new connection, more = reused), status, socket error, bytes and timings. OriginRouter wraps a
 * transaction's sink in an `OriginLogTap` only for vhosts with `<Log><Origin>`, so nothing is added otherwise.
 * The connection is learnt from undici's `undici:client:sendHeaders` diagnostics channel: undici calls the
 * handler's onRequestStart and then publishes sendHeaders synchronously in one call (client-h1 writeH1), so the tap
 * that started last is the one whose headers are being sent. Runs in workers.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Vhost } from '../config/types.js';
import type { ErrorCode, FlintError } from '../errors.js';
import type { OriginHeaders, OriginRequest, OriginSink, OriginTransfer } from '../origin/fetch.js';
import { openLogFile } from './log-file.js';
import { w3c, w3cDateTime } from './access-format.js';

/** The origin log's W3C fields (the `#Fields` header the primary writes at the top of each file). */
export const ORIGIN_LOG_FIELDS = [
  'date',
  'time',
  'x-vhost',
  'cs-sid',
  'cs-tcount',
  's-ip',
  'cs-method',
  'cs-uri',
  'sc-status',
  'cs-range',
  'sc-sock-error',
  'sc-http-error',
  'sc-bytes',
  'time-taken',
  'time-connect',
  'time-firstbyte',
  'time-complete',
] as const;

/** STON's sc-sock-error names for Flint's origin error codes. */
const SOCK_ERRORS: Partial<Record<ErrorCode, string>> = {
  FLINT_ERR_ORIGIN_CONNECT_TIMEOUT: 'Connect-Timeout',
  FLINT_ERR_ORIGIN_RECEIVE_TIMEOUT: 'Receive-Timeout',
  FLINT_ERR_ORIGIN_RESET: 'Server-Close',
  FLINT_ERR_ORIGIN_CONNECT: 'Connect-Fail',
};

/** A connection as the log names it: this worker's sequence number and how many requests it carried. */
interface Connection {
  readonly sid: string;
  count: number;
}

const WORKER = process.env.FLINT_WORKER_INDEX ?? '0';
const connections = new WeakMap<object, Connection>();
let nextSid = 1;
/** The tap whose request undici is writing right now (set in onRequestStart, taken by sendHeaders). */
const starting: { tap: OriginLogTap | null } = { tap: null };
let subscribed = false;

function onSendHeaders(message: unknown): void {
  const tap = starting.tap;
  starting.tap = null;
  const socket = (message as { socket?: object }).socket;
  if (tap === null || socket === undefined) return;
  let connection = connections.get(socket);
  if (connection === undefined) {
    connection = { sid: `${WORKER}-${nextSid++}`, count: 0 };
    connections.set(socket, connection);
  }
  connection.count++;
  tap.sent(connection);
}

/** Wraps one origin transaction's sink (and its transfer) so the transaction is logged when it ends. */
export function tapOriginTransaction(vhost: Vhost, memberKey: string, request: OriginRequest, path: string, sink: OriginSink): OriginLogTap | null {
  const file = vhost.log.originPath;
  if (file === null) return null;
  if (!subscribed) {
    subscribed = true;
    subscribe('undici:client:sendHeaders', onSendHeaders);
  }
  return new OriginLogTap(file, vhost.name, memberKey, request, path, sink);
}

export class OriginLogTap implements OriginSink, OriginTransfer {
  readonly #file: string;
  readonly #vhost: string;
  readonly #member: string;
  readonly #method: string;
  readonly #path: string;
  readonly #range: string | undefined;
  readonly #sink: OriginSink;
  readonly #startedAt = performance.now();
  #sentAt = 0;
  #headersAt = 0;
  #connection: Connection | null = null;
  /** Transaction number on the connection when this request went out (the connection's count moves on). */
  #tcount = 0;
  #status = 0;
  #bytes = 0;
  #written = false;
  #transfer: OriginTransfer | null = null;

  constructor(file: string, vhost: string, member: string, request: OriginRequest, path: string, sink: OriginSink) {
    this.#file = file;
    this.#vhost = vhost;
    this.#member = member;
    this.#method = request.method;
    this.#path = path;
    this.#range = rangeOf(request.headers);
    this.#sink = sink;
  }

  /** Keeps the transfer this tap controls; returns the tap, which the caller uses as that transfer. */
  attach(transfer: OriginTransfer): OriginTransfer {
    this.#transfer = transfer;
    return this;
  }

  /** undici is about to write this request (see the module header). */
  onRequestStart(): void {
    starting.tap = this;
    // Cleared after this synchronous write either way, so no later request can take this tap's place.
    queueMicrotask(() => {
      if (starting.tap === this) starting.tap = null;
    });
  }

  sent(connection: Connection): void {
    this.#sentAt = performance.now();
    this.#connection = connection;
    this.#tcount = connection.count;
  }

  onHeaders(status: number, headers: OriginHeaders, statusText: string): void {
    this.#headersAt = performance.now();
    this.#status = status;
    this.#sink.onHeaders(status, headers, statusText);
  }

  onData(chunk: Buffer): void {
    this.#bytes += chunk.length;
    this.#sink.onData(chunk);
  }

  onEnd(): void {
    this.#write('-', '-');
    this.#sink.onEnd();
  }

  onError(error: FlintError): void {
    this.#write(SOCK_ERRORS[error.code] ?? '-', error.code);
    this.#sink.onError(error);
  }

  onMember(member: string): void {
    this.#sink.onMember?.(member);
  }

  pause(): void {
    this.#transfer?.pause();
  }

  resume(): void {
    this.#transfer?.resume();
  }

  /** Flint gave up on the transaction (its client left, a fill was cancelled): STON's Client-Close. */
  abort(): void {
    this.#write('Client-Close', '-');
    this.#transfer?.abort();
  }

  #write(sockError: string, httpError: string): void {
    if (this.#written) return;
    this.#written = true;
    const end = performance.now();
    const [date, time] = w3cDateTime(Date.now());
    const ms = (from: number, to: number): string => (from === 0 || to === 0 ? '-' : String(Math.round(to - from)));
    const line = [
      date,
      time,
      w3c(this.#vhost),
      this.#connection?.sid ?? '-',
      this.#connection === null ? '-' : String(this.#tcount),
      w3c(this.#member),
      w3c(this.#method),
      w3c(this.#path),
      this.#status === 0 ? '-' : String(this.#status),
      w3c(this.#range),
      sockError,
      httpError,
      String(this.#bytes),
      ms(this.#startedAt, end),
      ms(this.#startedAt, this.#sentAt),
      ms(this.#startedAt, this.#headersAt),
      ms(this.#headersAt, this.#headersAt === 0 ? 0 : end),
    ].join(' ');
    openLogFile(this.#file).write(`${line}\n`);
  }
}

function rangeOf(headers: readonly string[]): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === 'range') return headers[i + 1];
  return undefined;
}
