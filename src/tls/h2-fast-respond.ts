/**
 * @module tls/h2-fast-respond
 * HEADERS for a hot hit's HTTP/2 response without node:http2's per-call header processing. `stream.respond(fields)`
 * copies the field object (processHeaders), adds Date, turns it into nghttp2's `name\0value\0flags` list
 * (mapToHeaders, with its checks) and only then calls the native stream's `respond(list, options)`: about a quarter
 * of a bare node:http2 server's CPU per 1 KiB response with Flint's ~11 fields (bench/README.md "HTTP/2 hits:
 * native respond"). A hot head sends the same fields until it is re-encoded, so its list is built once per head and
 * second (Date) and handed to the native call directly, with the one state flag `respond` sets (headers sent).
 * Invariants: a head takes this path only after node's own `respond` accepted the same fields once (node's checks
 * ran on exactly this list); only a plain response with a body does (no END_STREAM, no HEAD request, no
 * 204/205/304, where node ends the writable side itself); node's internals are found by their symbols once, and
 * when they are not what Node 20 has (another Node version) the path is off and node's `respond` is used always.
 * Runs in workers.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';

/** node:http2 core.js: `STREAM_FLAGS_HEADERS_SENT`, set by respond() so that a write does not send default headers. */
const STREAM_FLAGS_HEADERS_SENT = 0x4;

/** What node:http2 keeps on a stream under private symbols (Node 20 core.js: kHandle, kState). */
interface StreamInternals {
  readonly handle: symbol;
  readonly state: symbol;
}

interface NativeStream {
  respond(list: readonly [string, number], options: number): number;
}

/** The stream class the symbols were looked up on (node's ServerHttp2Stream in production; a test's stand-in). */
let probed: unknown = null;
/** null: this Node's internals differ from Node 20's, the path stays off for streams of class `probed`. */
let internals: StreamInternals | null = null;

/** Finds the native handle and state symbols on a real stream; null unless both look as in Node 20. */
function findInternals(stream: ServerHttp2Stream): StreamInternals | null {
  let handle: symbol | undefined;
  let state: symbol | undefined;
  for (const key of Object.getOwnPropertySymbols(stream)) {
    if (key.description === 'kHandle') handle = key;
    else if (key.description === 'state') state = key;
  }
  if (handle === undefined || state === undefined) return null;
  const record = stream as unknown as Record<symbol, unknown>;
  const native = record[handle] as { respond?: unknown } | undefined;
  const flags = (record[state] as { flags?: unknown } | undefined)?.flags;
  return typeof native?.respond === 'function' && typeof flags === 'number' ? { handle, state } : null;
}

/** How respondPrepared sent the HEADERS: natively, through node's respond(), or not (the native call failed). */
export const RESPOND_PATHS = ['native', 'node', 'failed'] as const;
export type RespondPath = (typeof RESPOND_PATHS)[number];

/** The Date field value of the current second (RFC 9110 §6.6.1), as node:http2 would add it. */
let dateText = '';
let dateUntil = 0;

function currentDate(): string {
  const now = Date.now();
  if (now >= dateUntil) {
    dateText = new Date(now).toUTCString();
    dateUntil = now - (now % 1000) + 1000;
  }
  return dateText;
}

/** The nghttp2 header list of one set of response fields, cached per fields object and Date second. */
export class PreparedFields {
  readonly fields: OutgoingHttpHeaders;
  /** Set once node's respond() accepted these fields (its checks passed on them). */
  accepted = false;
  #list: [string, number] | null = null;
  #date = '';

  constructor(fields: OutgoingHttpHeaders) {
    this.fields = fields;
  }

  /** `:status` first, every other field in order (arrays as repeats), Date last unless given: as mapToHeaders. */
  list(): readonly [string, number] {
    const date = currentDate();
    if (this.#list !== null && this.#date === date) return this.#list;
    const fields = this.fields;
    let text = `:status\0${String(fields[':status'])}\0\0`;
    let count = 1;
    for (const name of Object.keys(fields)) {
      const value = fields[name];
      if (name === ':status' || value === undefined) continue;
      if (Array.isArray(value)) {
        for (const one of value) text += `${name}\0${String(one)}\0\0`;
        count += value.length;
      } else {
        text += `${name}\0${String(value)}\0\0`;
        count++;
      }
    }
    if (fields['date'] === undefined) {
      text += `date\0${date}\0\0`;
      count++;
    }
    this.#list = [text, count];
    this.#date = date;
    return this.#list;
  }
}

/**
 * Sends `prepared` as the HEADERS of `stream` (no END_STREAM): natively when allowed (see the module header), else
 * through `stream.respond`, which throws as it always does. 'failed': the native call refused (the caller resets
 * the stream, as node's respond() would have destroyed it).
 */
export function respondPrepared(stream: ServerHttp2Stream, prepared: PreparedFields): RespondPath {
  if (stream.constructor !== probed) {
    probed = stream.constructor;
    internals = findInternals(stream);
  }
  const status = prepared.fields[':status'];
  if (internals === null || !prepared.accepted || status === 204 || status === 205 || status === 304 || (stream as { headRequest?: boolean }).headRequest === true || stream.destroyed || stream.closed || stream.headersSent) {
    stream.respond(prepared.fields);
    prepared.accepted = true;
    return 'node';
  }
  const record = stream as unknown as Record<symbol, unknown>;
  (record[internals.state] as { flags: number }).flags |= STREAM_FLAGS_HEADERS_SENT;
  return (record[internals.handle] as NativeStream).respond(prepared.list(), 0) >= 0 ? 'native' : 'failed';
}
