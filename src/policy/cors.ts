/**
 * @module policy/cors
 * `<Cors>` (issue 20, Fetch standard "CORS protocol"): which request Origins are allowed, the answer to a preflight
 * (`OPTIONS` with Origin and Access-Control-Request-Method), and the headers an actual response gets. The headers
 * are added per request at delivery, never stored, so one cached copy serves every Origin (unless the origin's own
 * response varies on Origin: the cache then keeps a variant per Origin by its Vary, as for any header).
 * A preflight from an origin not allowed, or for a method not allowed, is refused with 403 and no CORS headers (a
 * browser fails the preflight either way; the 403 makes the refusal visible in logs and to curl).
 * Compiled once per config; pure. Runs in workers.
 */
import type { CorsConfig } from '../config/types.js';
import { TCHAR } from '../http-grammar.js';

/** Access-Control-Request-Headers we echo: a comma-separated list of header names (RFC 9110 tokens), bounded. */
const HEADER_LIST = new RegExp(`^[${TCHAR}]+(\\s*,\\s*[${TCHAR}]+)*$`);
const HEADER_LIST_MAX = 1024;

/** How an OPTIONS request is treated: not a preflight (proxied as any request), allowed (204), refused (403). */
export type PreflightVerdict = 'not-preflight' | 'allowed' | 'refused';

export class CorsPolicy {
  /** Allowed origins, lower case; null = every origin (`*`). */
  readonly #origins: ReadonlySet<string> | null;
  readonly #methods: ReadonlySet<string>;
  readonly #methodsText: string;
  readonly #maxAge: string;

  constructor(config: CorsConfig) {
    this.#origins = config.allowOrigins.length === 0 ? null : new Set(config.allowOrigins);
    this.#methods = new Set(config.allowMethods);
    this.#methodsText = config.allowMethods.join(', ');
    this.#maxAge = String(config.maxAgeSec);
  }

  /**
   * The Access-Control-Allow-Origin value for a request's Origin header, or null when it is not allowed (or absent).
   * The client's exact value is echoed only when it is in the list (compared lower-cased: scheme and host are
   * case-insensitive), so nothing a client invents reaches the header.
   */
  allowOrigin(origin: string | undefined): string | null {
    if (origin === undefined || origin === '') return null;
    if (this.#origins === null) return '*';
    const lower = origin.toLowerCase();
    return this.#origins.has(lower) ? lower : null;
  }

  /** Whether an OPTIONS request is a preflight, and whether it is allowed. */
  preflight(origin: string | undefined, requestMethod: string | undefined, requestHeaders: string | undefined): PreflightVerdict {
    if (origin === undefined || requestMethod === undefined) return 'not-preflight';
    if (this.allowOrigin(origin) === null || !this.#methods.has(requestMethod)) return 'refused';
    if (requestHeaders !== undefined && requestHeaders.trim() !== '' && (requestHeaders.length > HEADER_LIST_MAX || !HEADER_LIST.test(requestHeaders.trim()))) return 'refused';
    return 'allowed';
  }

  /** Headers of an allowed preflight's 204 (`allowOrigin` from allowOrigin, `requestHeaders` checked by preflight). */
  preflightHeaders(allowOrigin: string, requestHeaders: string | undefined): string[] {
    const headers = ['access-control-allow-origin', allowOrigin, 'access-control-allow-methods', this.#methodsText, 'access-control-max-age', this.#maxAge];
    const asked = requestHeaders?.trim() ?? '';
    // The requested headers are echoed (checked to be a list of names): the edge has no list of its own to offer.
    if (asked !== '') headers.push('access-control-allow-headers', asked);
    headers.push('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers', 'cache-control', 'no-store');
    return headers;
  }
}
