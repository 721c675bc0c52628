/**
 * @module origin/request-check
 * Whether undici will accept an origin request, checked before it is dispatched. undici (7.30) validates a request
 * inside Client.dispatch; when it refuses one there, the dispatch returns false and the Pool waits for a 'drain'
 * from that client that never comes, so each refused request takes one of the pool's `<MaxConnections>` slots for
 * good and a few hundred hostile requests (a raw UTF-8 byte in the target, a control byte in a header) leave a
 * healthy origin unreachable. The rules below are undici's (lib/core/request.js, processHeader): a request that
 * breaks one is refused here, never sent, and never charged to the origin. Runs in workers; pure.
 */
import { TOKEN } from '../http-grammar.js';

/** RFC 9110 §5.6.2 token characters (what undici's isValidHTTPToken accepts). */
/** Field value characters undici sends: HTAB, visible ASCII, space and obs-text (U+0080..U+00FF). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Target characters undici sends (no space, no control, nothing above U+00FF). */
const BAD_TARGET = /[^\u0021-\u00ff]/;
const DIGITS = /^\d+$/;
/** Fields undici refuses outright: it frames the message and manages the connection itself. */
const REFUSED_FIELDS = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

/**
 * Why undici would refuse the request (a short phrase for the log), or null when it will send it. `headers` is the
 * flat name/value list with lower-case names, as origin/fetch.ts OriginRequest carries it.
 */
export function unforwardable(method: string, path: string, headers: readonly string[]): string | null {
  if (!TOKEN.test(method)) return 'method is not a token';
  if (path.charCodeAt(0) !== 0x2f || BAD_TARGET.test(path)) return 'target has a character undici does not send';
  let hosts = 0;
  let lengths = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1];
    if (value === undefined) return 'header list has a name without a value';
    if (!TOKEN.test(name)) return 'header name is not a token';
    if (BAD_VALUE.test(value)) return `${name} has a character undici does not send`;
    if (REFUSED_FIELDS.has(name)) return `${name} is not forwarded`;
    if (name === 'host' && ++hosts > 1) return 'duplicate host';
    if (name === 'content-length' && (++lengths > 1 || !DIGITS.test(value))) return 'content-length is not one decimal number';
    if (name === 'connection') {
      for (const token of value.split(',')) if (!TOKEN.test(token.trim())) return 'connection lists a non-token';
    }
  }
  return null;
}
