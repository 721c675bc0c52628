/**
 * @module http/request
 * Copies what Flint needs out of a uWS HttpRequest, synchronously, into a plain RequestHead: uWS invalidates the
 * request object as soon as the handler returns or awaits. Header names arrive lower-cased from uWS; repeated
 * headers stay separate entries. Runs in workers; knows nothing about caching.
 */
import type { ResponseWriter } from './respond.js';
import type { AddressValue } from '../policy/address-set.js';
import { peerText } from './peer-address.js';
import type { HttpRequest } from './uws.js';

export interface RequestHead {
  /** As the client sent it (case-sensitive, e.g. GET). */
  readonly method: string;
  /** Path without the query, as sent (not decoded). */
  readonly path: string;
  /** Query string without '?', or '' when none. */
  readonly query: string;
  /** Flat list: name0, value0, name1, value1, ...; names lower-case, in arrival order. */
  readonly headers: readonly string[];
  /** The Host header ('' when absent). */
  readonly host: string;
  /** Peer IP address as text (IPv4-mapped IPv6 shown as plain IPv4). */
  readonly clientIp: string;
  /**
   * The peer address as a value (policy/address-set.ts clientAddressOf), when the engine gives it without text:
   * address rules read this, not clientIp. Absent on heads that only have the text.
   */
  readonly clientAddress?: AddressValue | null;
  /** True when a field value holds a control character (RFC 9110 §5.5): the request is refused (http/framing.ts). */
  readonly badValue?: boolean;
  /** The TLS session the request came over (tls/h2-request.ts); absent on plain HTTP. */
  readonly tls?: TlsFacts;
}

/** What the access log records about a TLS connection (STON's `x-sc-ssl-cipher`). */
export interface TlsFacts {
  /** Negotiated protocol version, e.g. `TLSv1.3`. */
  readonly protocol: string;
  /** OpenSSL cipher name, e.g. `TLS_AES_256_GCM_SHA384`. */
  readonly cipher: string;
  /** Application protocol: `h2`, or `http/1.1` (also for HTTP/1.0 over TLS). */
  readonly alpn: string;
}

/** Anything but visible ASCII, space and HTAB: a control character or a non-ASCII one; one test per value. */
const UNUSUAL = /[^\t\x20-\x7e]/;
/** Control characters, HTAB excepted. uWS v20.51 refuses those below 0x20 itself but lets DEL through. */
const CONTROL = /[^\t\x20-\x7e\x80-\uffff]/;

/**
 * A header value as one char per byte (latin1), the way undici reads and writes header strings. uWS.js decodes
 * request header bytes as UTF-8 (a byte sequence that is not UTF-8 becomes U+FFFD), so a value with non-ASCII
 * characters is turned back into its bytes: what the client sent reaches the origin unchanged, where undici would
 * otherwise re-encode it as latin1 or refuse it (a char above U+00FF) with a 502.
 */
function asBytes(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}

/**
 * A request head read from uWS. The peer address costs a getpeername syscall (and, as text, a conversion), about a
 * tenth of a hot-tier hit, and most hits never use it, so it is read on first use from the response writer. uWS can only
 * give it while the response is open ('' after): a caller that may need it later reads it early (Edge #route
 * for the access log, CacheFlow #lookup for a fill's X-Forwarded-For).
 */
class UwsRequestHead implements RequestHead {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: string[];
  readonly host: string;
  readonly badValue: boolean;
  readonly tls?: TlsFacts;
  readonly #writer: ResponseWriter;
  #clientIp: string | undefined = undefined;
  #clientAddress: AddressValue | null | undefined = undefined;

  constructor(req: HttpRequest, writer: ResponseWriter, tls: TlsFacts | undefined) {
    const headers: string[] = [];
    let badValue = false;
    req.forEach((name, value) => {
      if (UNUSUAL.test(value)) {
        if (CONTROL.test(value)) badValue = true;
        value = asBytes(value);
      }
      headers.push(name, value);
    });
    this.headers = headers;
    this.badValue = badValue;
    this.method = req.getCaseSensitiveMethod();
    this.path = req.getUrl();
    this.query = req.getQuery() ?? '';
    this.host = req.getHeader('host');
    this.#writer = writer;
    if (tls !== undefined) this.tls = tls;
  }

  get clientIp(): string {
    if (this.#clientIp === undefined) this.#clientIp = peerText(this.clientAddress);
    return this.#clientIp;
  }

  /** One peer read serves both forms: the text is made from this value only when asked for. */
  get clientAddress(): AddressValue | null {
    if (this.#clientAddress === undefined) this.#clientAddress = this.#writer.remoteAddressValue();
    return this.#clientAddress;
  }
}

/** Copies the request head; must run before the handler returns or awaits. `tls`: the request came over uWS's SSLApp. */
export function readRequestHead(req: HttpRequest, writer: ResponseWriter, tls?: TlsFacts): RequestHead {
  return new UwsRequestHead(req, writer, tls);
}

/** The first value of header `name` (lower-case), or undefined. */
export function headerValue(head: RequestHead, name: string): string | undefined {
  const h = head.headers;
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i] as string;
    if (n.length === name.length && n === name) return h[i + 1];
  }
  return undefined;
}
