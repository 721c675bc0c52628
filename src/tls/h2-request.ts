/**
 * @module tls/h2-request
 * A RequestHead (http/request.ts) from a request node:http2's secure server parsed: an HTTP/2 stream (its raw
 * header list, core API) or HTTP/1.x over TLS (IncomingMessage). Pseudo-header fields are dropped; HTTP/2's
 * `:authority` stands in for a missing Host, and a Host that differs from it is refused (RFC 9113 §8.3.1), and HTTP/2's split Cookie fields are joined again
 * (RFC 9113 §8.2.3) so the origin sees one field. The TLS facts of a connection are read once per connection.
 * Runs in workers.
 */
import type { TLSSocket } from 'node:tls';
import type { RequestHead, TlsFacts } from '../http/request.js';

/** Control characters, HTAB excepted (RFC 9110 §5.5); http/framing.ts refuses a request holding one. */
const CONTROL = /[^\t\x20-\x7e\x80-\uffff]/;

const FACTS = new WeakMap<object, TlsFacts>();

/** Protocol, cipher and ALPN of the TLS connection under `req`, computed once per connection. */
export function tlsFacts(socket: TLSSocket): TlsFacts {
  let facts = FACTS.get(socket);
  if (facts === undefined) {
    facts = {
      protocol: socket.getProtocol() ?? '-',
      cipher: socket.getCipher()?.name ?? '-',
      alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : 'http/1.1',
    };
    FACTS.set(socket, facts);
  }
  return facts;
}

/**
 * The request head of one request: `raw` is the flat name/value list as received (HTTP/2: with pseudo-header
 * fields), `target` the request target (`:path` over HTTP/2), `tls` the facts of its connection.
 */
export function tlsRequestHead(raw: readonly string[], h2: boolean, method: string, target: string, tls: TlsFacts, clientIp: string): RequestHead {
  const headers: string[] = [];
  let host = '';
  let authority = '';
  let cookies: string[] | null = null;
  let badValue = false;
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i] as string;
    const value = raw[i + 1] as string;
    if (rawName.charCodeAt(0) === 58 /* ':' */) {
      if (rawName === ':authority') authority = value;
      continue;
    }
    const name = h2 ? rawName : rawName.toLowerCase();
    if (CONTROL.test(value)) badValue = true;
    if (h2 && name === 'cookie') {
      (cookies ??= []).push(value);
      continue;
    }
    if (name === 'host' && host === '') host = value;
    headers.push(name, value);
  }
  if (cookies !== null) headers.push('cookie', cookies.join('; '));
  if (h2 && authority !== '') {
    if (host === '') {
      host = authority;
      headers.push('host', authority);
    } else if (host.toLowerCase() !== authority.toLowerCase()) {
      // RFC 9113 §8.3.1: a Host naming another entity than :authority makes the request malformed; a second host
      // field lets http/framing.ts refuse it as it refuses two Host headers.
      headers.push('host', authority);
    }
  }
  const q = target.indexOf('?');
  return {
    method,
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? '' : target.slice(q + 1),
    headers,
    host,
    clientIp,
    badValue,
    tls,
  };
}
