/**
 * @module http/framing
 * Request framing and Host checks that Flint makes itself before a request reaches routing or an origin (RFC 9112
 * §3.2, §6.1-§6.3; RFC 9110 §7.2, §8.6): the checks uWS.js does not make, or makes differently across builds. Pure
 * functions over the request head's header list; the caller answers a rejection and closes the connection (the
 * body, if any, was not read, so the connection cannot be reused). Runs in workers.
 *
 * What uWS.js v20.51 answers itself (measured, test/integration/framing.test.ts): a Content-Length that is not
 * digits (`+5`, `5abc`, `5.0`, `-1`, `5, 5`, 20 digits), Content-Length with Transfer-Encoding, obs-fold, a space
 * before the colon, bare LF, control bytes below 0x20 in a value, a duplicated or missing Host, absolute-form
 * targets (505). What it lets through and Flint refuses here: an empty Content-Length, two differing ones, any
 * Transfer-Encoding value (uWS treats every value as chunked), DEL in a value, a Host that is not host[:port].
 *
 * Chunked request bodies: uWS de-chunks them itself and its chunk-size parser counts `;`, `:` and `g` as hex digits
 * (so `1;\r\nA\r\n0\r\n\r\nGET /victim` reaches the origin as one body swallowing the next request), and Flint only
 * sees the de-chunked bytes. A body whose framing cannot be checked cannot be forwarded safely, so every request
 * with Transfer-Encoding is refused: 411 for `chunked` (send Content-Length), 501 for a transfer coding Flint does
 * not implement, 400 when chunked is not the final coding (RFC 9112 §6.3 item 4).
 */

/** Why a request is refused: the status and what is wrong, in general terms (pipeline/fail.ts makes the body). */
export interface FramingRejection {
  readonly status: 400 | 411 | 501;
  readonly detail: string;
}

function reject(status: FramingRejection['status'], detail: string): FramingRejection {
  return { status, detail };
}

const NO_HOST = reject(400, 'a Host header is required');
const DUPLICATE_HOST = reject(400, 'more than one Host header');
const BAD_HOST = reject(400, 'the Host header is not a valid host[:port]');
const BAD_TARGET = reject(400, 'the request target must be an absolute path');
const BAD_VALUE = reject(400, 'a header field value holds a control character');
const BAD_LENGTH = reject(400, 'invalid Content-Length');
const CONFLICTING_LENGTHS = reject(400, 'differing Content-Length values');
const LENGTH_AND_CODING = reject(400, 'both Content-Length and Transfer-Encoding');
const CHUNKED_NOT_FINAL = reject(400, 'chunked is not the final transfer coding');
const UNKNOWN_CODING = reject(501, 'unsupported transfer coding');
const CHUNKED_REFUSED = reject(411, 'chunked request bodies are not accepted: send Content-Length');
/** A request that may have been pipelined behind a refused one on the same connection (pipeline/refusals.ts). */
export const PIPELINED = reject(400, 'request follows a refused request');

/**
 * The last Host value that passed isValidHost: nearly every request of a worker names one of a few hosts, so a
 * string comparison replaces the character walk (most of checkFraming's time without it: ~120 of ~150 ns, measured).
 */
let lastValidHost = '';

/** Longest Content-Length accepted: 15 digits stay exact as a double (and far above any body limit). */
const MAX_LENGTH_DIGITS = 15;

/**
 * The framing verdict for a request head: null = acceptable. `headers` is the flat name/value list with lower-case
 * names (http/request.ts), `path` the target as sent, `badValue` whether a field value held a control character.
 * A GET without body fields costs one pass over the header names and one over the Host value.
 */
export function checkFraming(headers: readonly string[], path: string, badValue: boolean): FramingRejection | null {
  let host: string | undefined;
  let hosts = 0;
  let length: string | undefined;
  let lengthsDiffer = false;
  let coding: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    // Compare by length first: most names are none of the three.
    if (name.length === 4) {
      if (name === 'host') {
        hosts++;
        host = headers[i + 1];
      }
    } else if (name.length === 14) {
      if (name === 'content-length') {
        const value = headers[i + 1] as string;
        if (length === undefined) length = value;
        else if (value !== length) lengthsDiffer = true;
      }
    } else if (name.length === 17 && name === 'transfer-encoding') {
      coding = coding === undefined ? (headers[i + 1] as string) : `${coding},${headers[i + 1] as string}`;
    }
  }
  if (badValue) return BAD_VALUE;
  if (hosts === 0 || host === undefined) return NO_HOST;
  if (hosts > 1) return DUPLICATE_HOST;
  if (host !== lastValidHost) {
    if (!isValidHost(host)) return BAD_HOST;
    lastValidHost = host;
  }
  if (path.charCodeAt(0) !== 0x2f) return BAD_TARGET;
  if (length !== undefined) {
    if (lengthsDiffer) return CONFLICTING_LENGTHS;
    if (!isDigits(length)) return BAD_LENGTH;
    if (coding !== undefined) return LENGTH_AND_CODING;
  }
  if (coding !== undefined) return checkCoding(coding);
  return null;
}

/** Transfer-Encoding (all its fields joined): chunked must be final and appear once; every outcome refuses. */
function checkCoding(value: string): FramingRejection {
  const codings = value
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '');
  if (codings.length === 0 || codings[codings.length - 1] !== 'chunked') return CHUNKED_NOT_FINAL;
  if (codings.indexOf('chunked') !== codings.length - 1) return CHUNKED_NOT_FINAL;
  return codings.length > 1 ? UNKNOWN_CODING : CHUNKED_REFUSED;
}

/** 1*DIGIT, at most MAX_LENGTH_DIGITS. */
function isDigits(text: string): boolean {
  if (text.length === 0 || text.length > MAX_LENGTH_DIGITS) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The declared body length of a head that passed checkFraming, or -1 when it has no Content-Length. */
export function declaredLength(headers: readonly string[]): number {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 14 && name === 'content-length') return Number(headers[i + 1]);
  }
  return -1;
}

/**
 * A Host value as RFC 9110 §7.2 allows it for http: `uri-host [ ":" port ]`, with uri-host restricted to what a
 * DNS name or IP address can be (letters, digits, `-`, `_`, `.`, no empty label except one trailing dot) or an
 * IPv6 literal in brackets, and port 1..5 digits up to 65535. Userinfo (`a@b`), paths, queries, spaces and
 * percent-escapes are refused: no vhost can be named so, and an origin or log must never see them as a host.
 */
export function isValidHost(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > 262) return false;
  let i = 0;
  if (value.charCodeAt(0) === 0x5b) {
    // [IPv6 literal]: hex digits, ':' and '.', at least one ':'.
    const close = value.indexOf(']');
    if (close < 3) return false;
    let colons = 0;
    for (i = 1; i < close; i++) {
      const c = value.charCodeAt(i);
      if (c === 0x3a) colons++;
      else if (!(isHex(c) || c === 0x2e)) return false;
    }
    if (colons < 2) return false;
    i = close + 1;
  } else {
    let labelLength = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c === 0x3a) break;
      if (c === 0x2e) {
        if (labelLength === 0) return false;
        labelLength = 0;
      } else if (isAlnum(c) || c === 0x2d || c === 0x5f) {
        labelLength++;
        if (labelLength > 63) return false;
      } else return false;
    }
    // Empty host, or a leading/double dot already refused; a single trailing dot is the absolute DNS form.
    if (i === 0) return false;
  }
  if (i === n) return true;
  if (value.charCodeAt(i) !== 0x3a) return false;
  const port = value.slice(i + 1);
  return port.length >= 1 && port.length <= 5 && isDigits(port) && Number(port) <= 65535;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}
