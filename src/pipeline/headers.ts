/**
 * @module pipeline/headers
 * Header rules of a proxy (RFC 9110 §7.6): hop-by-hop fields and every field the Connection header names are not
 * forwarded in either direction; X-Forwarded-For and Via are added; repeated fields are kept. The origin's Host is
 * the vhost's Name (or <OriginOptions><Host>), never the client's: the cache key holds the vhost name, so an
 * origin answer that depends on Host (a redirect's Location) is the same for every client Host that reaches the
 * vhost, and a client cannot make the origin build a response for a host the key does not name. Pure functions
 * over plain data. Runs in workers.
 */
import type { Vhost, VhostOptions } from '../config/types.js';
import type { RequestHead } from '../http/request.js';
import type { OriginHeaders } from '../origin/fetch.js';

/** Never forwarded (RFC 9110 §7.6.1), plus framing fields each hop sets itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** Client request fields Flint sets or replaces itself; `expect` because 100-continue is answered hop-by-hop. */
const REQUEST_REPLACED = new Set(['host', 'x-forwarded-for', 'expect']);

/** Response fields uWS writes itself (framing, its marker), so an origin's copy must not be forwarded. */
const RESPONSE_REPLACED = new Set(['content-length', 'date', 'uwebsockets']);

export const VIA = '1.1 flint';

/** Adds the lower-case field names a Connection header value lists to `into` (created when null); returns it. */
function addConnectionListed(into: Set<string> | null, value: string): Set<string> {
  const names = into ?? new Set<string>();
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '') names.add(name);
  }
  return names;
}

/** Origin response fields that name the origin's software: forwarded only with <ServerHeader>ON. */
export function isServerField(name: string): boolean {
  return name === 'server' || name === 'x-powered-by';
}

/**
 * Headers for the origin request, as a flat name/value list: the client's in arrival order minus hop-by-hop (and
 * minus `drop`; identical repeated Content-Lengths, which http/framing.ts let through, once), then Host (the
 * vhost's), User-Agent (when the vhost replaces it), X-Forwarded-For and Via.
 */
export function originRequestHeaders(head: RequestHead, vhost: Vhost, drop: ReadonlySet<string> | null = null): string[] {
  const origin = vhost.originOptions;
  const h = head.headers;
  let listed: Set<string> | null = null;
  let xff: string | undefined;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] as string;
    if (name === 'connection') listed = addConnectionListed(listed, h[i + 1] as string);
    else if (name === 'x-forwarded-for') xff = xff === undefined ? (h[i + 1] as string) : `${xff}, ${h[i + 1] as string}`;
  }
  const userAgent = origin.userAgent;
  const out: string[] = [];
  let lengthSent = false;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] as string;
    if (HOP_BY_HOP.has(name) || REQUEST_REPLACED.has(name) || listed?.has(name) === true || drop?.has(name) === true) continue;
    if (userAgent !== null && name === 'user-agent') continue;
    if (name === 'content-length') {
      if (lengthSent) continue;
      lengthSent = true;
    }
    out.push(name, h[i + 1] as string);
  }
  out.push('host', origin.hostHeader ?? vhost.name);
  if (userAgent !== null) out.push('user-agent', userAgent);
  out.push('x-forwarded-for', origin.xffClientIpOnly || xff === undefined ? head.clientIp : `${xff}, ${head.clientIp}`);
  if (vhost.options.viaHeader) out.push('via', VIA);
  return out;
}

/** Result of filtering an origin response's headers for the client. */
export interface ClientResponseHead {
  /** Flat name/value list to write. */
  readonly headers: string[];
  /** Content-Length from the origin, or -1 when absent/invalid (the body is then sent chunked). */
  readonly contentLength: number;
}

/** The origin's response headers as the client should see them; Content-Length is returned apart for uWS. */
export function clientResponseHead(origin: OriginHeaders, options: VhostOptions): ClientResponseHead {
  const connection = origin.connection;
  let listed: Set<string> | null = null;
  if (typeof connection === 'string') listed = addConnectionListed(null, connection);
  else if (connection !== undefined) for (const value of connection) listed = addConnectionListed(listed, value);
  const headers: string[] = [];
  for (const name in origin) {
    if (HOP_BY_HOP.has(name) || RESPONSE_REPLACED.has(name) || listed?.has(name) === true) continue;
    if (!options.serverHeader && isServerField(name)) continue;
    // RFC 9213 targeted fields (<TargetedCacheControl>) steer this cache only; stored copies leave them out too.
    if (options.targetedCacheControl.includes(name)) continue;
    // Cache tags (<CacheTag Strip="ON">) are for this cache's purges, not for clients.
    if (options.cacheTag.strip && options.cacheTag.fields.includes(name)) continue;
    const value = origin[name];
    if (value === undefined) continue;
    if (typeof value === 'string') headers.push(name, value);
    else for (const v of value) headers.push(name, v);
  }
  if (options.viaHeader) headers.push('via', VIA);
  return { headers, contentLength: parseContentLength(origin['content-length']) };
}

const NO_FIELDS: readonly string[] = [];

/** The tag fields (<CacheTag>) removed before clients and from stored copies: all of them with Strip ON, else none. */
export function strippedTagFields(options: VhostOptions): readonly string[] {
  return options.cacheTag.strip ? options.cacheTag.fields : NO_FIELDS;
}

/** A valid Content-Length as a number, else -1 (RFC 9110 §8.6: digits only; repeated identical values allowed). */
export function parseContentLength(value: string | string[] | undefined): number {
  if (value === undefined) return -1;
  const text = typeof value === 'string' ? value : value.every((v) => v === value[0]) ? value[0] : undefined;
  if (text === undefined || text.length === 0 || text.length > 15) return -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(text);
}
