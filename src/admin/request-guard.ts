/**
 * @module admin/request-guard
 * Keeps web browsers on the operator's machine out of the management API. A page of any site can make the browser
 * send requests to 127.0.0.1:10040 (CSRF), and a site whose DNS name it re-points at 127.0.0.1 can even read the
 * answers (DNS rebinding); the address allow list cannot tell either from the operator. So:
 * - Host must name the manager: `localhost`, an IP literal (IPv6 in brackets) or a `<Manager><ServerName>`, with
 *   the manager's port (no port only when that is 80). Rebinding needs a DNS name the attacker controls, and an IP
 *   literal is not one. Otherwise 421.
 * - A request a browser marks as coming from another page (`Origin` other than the manager's own, `Origin: null`,
 *   `Sec-Fetch-Site` other than same-origin/none) gets 403.
 * - State-changing endpoints (/command/*, /fleet/command/*, /conf/reload, /conf/restore) take POST; GET (and HEAD) stay for STON's
 *   tools only when `<Manager Token>` is set, since a browser never adds the Authorization header on its own.
 *   Otherwise 405. A cross-site form POST carries `Origin`, which the rule above refuses.
 * Pure; runs in the primary.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { ManagerConfig } from '../config/types.js';

/** Why a request is refused before routing, or null when it may go on. */
export interface Refusal {
  readonly status: number;
  readonly error: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** `host[:port]` with the host as a bracketed IPv6 literal or a name/IPv4 without `:`; port 1-65535 without leading zero. */
const HOST_HEADER = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::([1-9]\d{0,4}))?$/;

/** Whether a Host header value names this manager. */
export function isManagerHost(value: string, manager: Pick<ManagerConfig, 'serverNames' | 'port'>): boolean {
  const match = HOST_HEADER.exec(value);
  if (match === null) return false;
  const [, bracketed, plain, port] = match;
  if (port === undefined ? manager.port !== 80 : Number(port) !== manager.port) return false;
  if (bracketed !== undefined) return isIPv6(bracketed);
  const name = (plain as string).toLowerCase();
  return name === 'localhost' || isIPv4(name) || manager.serverNames.includes(name);
}

/** The endpoints that change state (cache contents, the running config). */
export function isCommandPath(path: string): boolean {
  return path.startsWith('/command/') || path.startsWith('/fleet/command/') || path === '/conf/reload' || path === '/conf/restore';
}

/**
 * Host and browser-origin checks, for every request (reads too: rebinding would let a page read /conf/server.xml
 * and /stats). `headers` as node's `headersDistinct` (every value of a repeated field). Missing Host is let
 * through: HTTP/1.0 tools send none, and every browser sends one.
 */
export function browserRefusal(headers: Readonly<Record<string, readonly string[] | undefined>>, manager: Pick<ManagerConfig, 'serverNames' | 'port'>): Refusal | null {
  const hosts = headers.host ?? [];
  if (hosts.length > 1) return { status: 400, error: 'more than one Host header' };
  const host = hosts[0];
  if (host !== undefined && !isManagerHost(host, manager)) {
    return { status: 421, error: `Host ${JSON.stringify(host)} is not this manager: use localhost or an IP address (127.0.0.1, [::1]) with port ${manager.port}, or list the name in <Manager><ServerName>` };
  }
  const origins = headers.origin ?? [];
  const origin = origins.join(', ');
  if (origins.length > 0 && (origins.length > 1 || host === undefined || origin.toLowerCase() !== `http://${host.toLowerCase()}`)) {
    return { status: 403, error: `requests from web pages of other origins are refused (Origin ${JSON.stringify(origin)})` };
  }
  const sites = headers['sec-fetch-site'] ?? [];
  if (sites.some((site) => site !== 'same-origin' && site !== 'none')) {
    return { status: 403, error: `requests from web pages of other sites are refused (Sec-Fetch-Site: ${sites.join(', ')})` };
  }
  return null;
}

/** The method rule of state-changing endpoints; null when `method` may call `path`. */
export function methodRefusal(method: string | undefined, path: string, tokenSet: boolean): Refusal | null {
  if (!isCommandPath(path) || method === 'POST') return null;
  if ((method === 'GET' || method === 'HEAD') && tokenSet) return null;
  return {
    status: 405,
    error: `${path} changes state: send it as POST (GET is accepted only when <Manager Token> is set, so a web page cannot trigger it)`,
    headers: { allow: tokenSet ? 'GET, POST' : 'POST' },
  };
}
