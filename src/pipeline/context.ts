/**
 * @module pipeline/context
 * `RequestCtx`: the state of one client transaction shared by the pipeline steps (pingora's CTX), from the moment
 * the request head is copied out of uWS until the access record is written. Runs in workers.
 */
import type { CompressionEncoding, Vhost } from '../config/types.js';
import type { RequestHead } from '../http/request.js';
import type { BypassReason, VhostRuleSet } from '../policy/rules.js';
import type { HeaderPolicy } from '../policy/edge-rules/headers.js';
import type { CacheResult } from '../stats/counters.js';
import type { DimsRequest } from '../transform/dims/service.js';
import type { MediaRequest } from './media-request.js';

/** STON's x-transaction-status: the response ended normally, or the client (or Flint) cut it short. */
export type TransactionStatus = 'complete' | 'aborted';

export class RequestCtx {
  readonly head: RequestHead;
  readonly vhost: Vhost;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Status sent to the client; 0 until a status line went out. */
  status = 0;
  cacheResult: CacheResult = 'PASS';
  /** Origin address used, '' when none was contacted. */
  origin = '';
  /** performance.now() when the response head went out, 0 until then. */
  firstByteAt = 0;
  requestBodyBytes = 0;
  originBodyBytes = 0;
  /** Error code when the transaction failed, else ''. */
  errorCode = '';
  /** The error's message (origin address, library code) for the access log only, never for the client; else ''. */
  errorDetail = '';
  /** True when a cache fill counts this request's origin bytes and errors itself (fills are shared). */
  originCounted = false;
  /** Location and Content-Location of the origin's response to an unsafe request (invalidated with the target). */
  responseLocations: readonly string[] = [];
  /** Names of the vhosts that handed this request on by <VhostLink>, in order (empty when it was not linked). */
  linkedFrom: readonly string[] = [];
  /** The request path with dot segments removed (cache key and origin request use it). */
  readonly path: string;
  /** The query sent to the origin: as the client sent it, minus what edge policy cut (signed-URL parameters). */
  query: string;
  /** Path and query the cache key is built from (CaseSensitive, ApplyQueryString, query-string rules applied). */
  keyPath: string;
  keyQuery: string;
  /** The vhost's compiled rules (TTL rules at store time, Vary whitelist); null off the cache path. */
  rules: VhostRuleSet | null = null;
  /** The vhost's compiled header rules (policy/edge-rules/headers.ts); null when it has none. */
  headerRules: HeaderPolicy | null = null;
  /** The Content-Encoding Flint applied to the response (`<Compression>`; access log sc-resinfo), '' for none. */
  contentEncoding: '' | CompressionEncoding = '';
  /** A DIMS request (`<original>/dims/<chain>`): `path` is then the original's; null for any other request. */
  dims: DimsRequest | null = null;
  /** A media request (`<Media>`: relocation, trimming, HLS): `path` and `query` are then the original's; else null. */
  media: MediaRequest | null = null;
  /** Why the request bypassed the cache (access log `reqInfo: Bypass`); null when it did not. */
  bypassReason: BypassReason | null = null;

  constructor(head: RequestHead, vhost: Vhost, path: string, startedAt: number) {
    this.head = head;
    this.vhost = vhost;
    this.path = path;
    this.keyPath = path;
    this.query = head.query;
    this.keyQuery = head.query;
    this.startedAt = startedAt;
  }

  /** The vhost chain for the access log: `a.com+b.com+c.com` after two <VhostLink> hops, else the vhost name. */
  get vhostChain(): string {
    return this.linkedFrom.length === 0 ? this.vhost.name : `${this.linkedFrom.join('+')}+${this.vhost.name}`;
  }

  /** Path plus query as the client sent it (access log). */
  get url(): string {
    return this.head.query === '' ? this.head.path : `${this.head.path}?${this.head.query}`;
  }

  /** Normalised path plus query, as sent to the origin. */
  get originUrl(): string {
    return this.query === '' ? this.path : `${this.path}?${this.query}`;
  }
}
