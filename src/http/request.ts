/**
 * @module http/request
 * Copies what Flint needs out of a uWS HttpRequest, synchronously, into a plain RequestHead: uWS invalidates the
 * request object as soon as the handler returns or awaits. Header names arrive lower-cased from uWS; repeated
 * headers stay separate entries. Runs in workers; knows nothing about caching.
 */
import type { HttpRequest, HttpResponse } from './uws.js';

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
}

/** Copies the request head; must run before the handler returns or awaits. */
export function readRequestHead(req: HttpRequest, res: HttpResponse): RequestHead {
  const headers: string[] = [];
  req.forEach((name, value) => {
    headers.push(name, value);
  });
  const ip = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
  return {
    method: req.getCaseSensitiveMethod(),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    host: req.getHeader('host'),
    clientIp: ip.startsWith('::ffff:') ? ip.slice(7) : ip,
  };
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
