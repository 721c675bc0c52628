/**
 * @module pipeline/url-rewrite
 * The request-entry steps that choose another URL or vhost than the client named (issue 20), run by
 * pipeline/edge.ts #route: `<URLRewrite>` before the vhost is chosen (policy/url-rewrite.ts), and a vhost's
 * `<Sub>` paths right after. A rewritten request continues as a RewrittenHead (new host, path and query; the
 * client's headers, address and TLS facts unchanged), so routing, the ACL, the cache key, the origin request and
 * the access log's URL fields all see the rewritten URL; the access log adds the original one. Runs in workers.
 */
import type { SubPath, Vhost } from '../config/types.js';
import type { RequestHead, TlsFacts } from '../http/request.js';
import { rulePath } from '../cache/key.js';
import { RuleIndex } from '../policy/rules.js';

/** A request head with the host, path and query a `<URLRewrite>` produced; everything else is the client's. */
export class RewrittenHead implements RequestHead {
  readonly host: string;
  readonly path: string;
  readonly query: string;
  /** The client's `host/path?query` as the rule saw it (access log). */
  readonly originalUrl: string;
  /** The rewritten `host/path?query` (access log). */
  readonly rewrittenUrl: string;
  readonly #client: RequestHead;

  constructor(client: RequestHead, host: string, path: string, query: string, originalUrl: string, rewrittenUrl: string) {
    this.#client = client;
    this.host = host;
    this.path = path;
    this.query = query;
    this.originalUrl = originalUrl;
    this.rewrittenUrl = rewrittenUrl;
  }

  get method(): string {
    return this.#client.method;
  }

  get headers(): readonly string[] {
    return this.#client.headers;
  }

  /** Read through: uWS gives the peer address lazily (http/request.ts). */
  get clientIp(): string {
    return this.#client.clientIp;
  }

  get badValue(): boolean | undefined {
    return this.#client.badValue;
  }

  get tls(): TlsFacts | undefined {
    return this.#client.tls;
  }
}

/** The original and rewritten URL of a request, or null when it was not rewritten. */
export function rewriteOf(head: RequestHead): RewrittenHead | null {
  return head instanceof RewrittenHead ? head : null;
}

/** A vhost's `<Sub>` paths, compiled once per Vhost object (a reload replaces the objects, so entries die with them). */
const SUBS = new WeakMap<Vhost, RuleIndex<SubPath>>();

/**
 * The name of the vhost a `<Sub><Path>` of `vhost` hands `path` (normalised) to, or null. One hop only: the target
 * vhost's own `<Sub>` does not apply (validation refuses a target that has one), so routing cannot loop.
 */
export function subTarget(vhost: Vhost, path: string): string | null {
  let index = SUBS.get(vhost);
  if (index === undefined) {
    const o = vhost.options;
    index = new RuleIndex(vhost.sub, (s) => s.glob, o.caseSensitive && o.ruleCaseSensitive);
    SUBS.set(vhost, index);
  }
  return index.first(rulePath(path), always, null)?.vhost ?? null;
}

const always = (): boolean => true;
