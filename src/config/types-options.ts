/**
 * @module config/types-options
 * Per-vhost <Options>: the TTL policy, cookies, compression, cache tags, purge guards, IfRange, VhostLink,
 * and the edge policy blocks <SignedUrl>, <Cors>, <ErrorPage>.
 * Types (and the value lists their unions come from) only; part of config/types.ts, which re-exports it. Used by
 * every process: the primary builds the Config (config/validate.ts), workers receive it over IPC.
 */
import type { AccessControlOptions } from './types-rules.js';

/** `<SetCookie>`: `pass` = a response with Set-Cookie goes to its client intact and is not stored (nginx, Varnish); `strip` = stored without it (STON). */
export const SET_COOKIE_MODES = ['pass', 'strip'] as const;
export type SetCookieMode = (typeof SET_COOKIE_MODES)[number];

/** `<CookieRequest>`: `explicit` = a response to a request with Cookie is stored only when public/s-maxage or a TTL rule says so; `any` = like any other. */
export const COOKIE_REQUEST_MODES = ['explicit', 'any'] as const;
export type CookieRequestMode = (typeof COOKIE_REQUEST_MODES)[number];

/** STON `<Purge2Expire>`: which purges are turned into expires. */
export const PURGE_TO_EXPIRE = ['NONE', 'ROOT', 'PATTERN', 'ALL'] as const;
export type PurgeToExpire = (typeof PURGE_TO_EXPIRE)[number];

/** STON `<RootPurgeExpire>`: which commands may target a whole vhost (`host/*`). */
export const ROOT_PURGE_EXPIRE = ['ON', 'PURGE', 'EXPIRE', 'OFF'] as const;
export type RootPurgeExpire = (typeof ROOT_PURGE_EXPIRE)[number];

/**
 * `<Options><TTL>`: STON's TTL policy on top of RFC 9111. All values in seconds. Defaults keep RFC behaviour:
 * a response without explicit freshness gets heuristic freshness (Last-Modified) or must be revalidated.
 */
export interface TtlPolicy {
  /** `<Res2xx>`: freshness for cacheable 2xx without explicit freshness (0 = RFC heuristic / revalidate). Default 0. */
  readonly res2xxSec: number;
  /** `<Res2xx Ratio>`: percent the TTL grows after each 304 from the origin (STON adaptive TTL). Default 0. */
  readonly res2xxRatioPercent: number;
  /** `<Res2xx Max>`: cap of the grown TTL. Default 86400. */
  readonly res2xxMaxSec: number;
  /** `<NoCache>`: freshness for responses with `Cache-Control: no-cache` (0 = revalidate every time, RFC). Default 0. */
  readonly noCacheSec: number;
  /** `<Res3xx>`: freshness for 3xx without explicit freshness (0 = not stored unless cacheable by default). Default 0. */
  readonly res3xxSec: number;
  /** `<Res4xx>`: negative caching TTL for 4xx without explicit freshness (0 = off). Default 0. */
  readonly res4xxSec: number;
  /** `<Res5xx>`: negative caching TTL for 5xx without explicit freshness (0 = off). Default 0. */
  readonly res5xxSec: number;
  /** `<TTL Priority>`: `origin` (default) = origin freshness headers win; `config` = the TTLs above override them. */
  readonly priority: 'origin' | 'config';
  /** `<HeuristicPercent>` (Flint's own): heuristic freshness = this % of (Date - Last-Modified) (RFC 9111 §4.2.2). Default 10. */
  readonly heuristicPercent: number;
  /** `<HeuristicMax>` (Flint's own): cap on heuristic freshness. Default 86400. */
  readonly heuristicMaxSec: number;
  /** `<ConnectTimeout>`: how long a stale object's TTL is extended when the origin fails (TTLExtensionBy*). Default 3. */
  readonly errorExtensionSec: number;
}

/** Content codings Flint can compress with (`<Compression Method>`). */
export const COMPRESSION_ENCODINGS = ['br', 'gzip'] as const;
export type CompressionEncoding = (typeof COMPRESSION_ENCODINGS)[number];

/** `<Options><Compression Method GzipLevel BrotliQuality SourceSize>` (STON, issue 21; transform/compression.ts). */
export interface CompressionOptions {
  /** The element's ON/OFF. Default OFF. */
  readonly enabled: boolean;
  /** `Method`: encodings offered, preferred first. Default br, gzip. */
  readonly methods: readonly CompressionEncoding[];
  /** `GzipLevel` 1..9. Default 6. */
  readonly gzipLevel: number;
  /** `BrotliQuality` 0..11. Default 5. */
  readonly brotliQuality: number;
  /** `SourceSize` (KiB in XML): identity bodies outside [minBytes, maxBytes] are not compressed. Default 1-4096 KiB. */
  readonly sourceSize: { readonly minBytes: number; readonly maxBytes: number };
}

/** One line of the compression list (`<MatchingList Target="compression">`, compression.txt): every term set must hold. */
export interface CompressionTarget {
  /** `$MIME[glob]`: lower-case media type glob (`text/*`); null = any. */
  readonly mime: string | null;
  /** `$URL[glob]` (or a bare glob): path glob; null = any. */
  readonly url: string | null;
}

/** `<Options>` (VHostDefault, overridden per vhost). */
/** `<CacheTag Strip Max MaxLength>`: which response fields tag stored objects, and the bounds on what an origin may send. */
export interface CacheTagOptions {
  /** Lower-case field names; [] = tags off. Default surrogate-key, cache-tag. */
  readonly fields: readonly string[];
  /** Remove the fields before the client and from stored copies. Default ON. */
  readonly strip: boolean;
  /** Tags kept per object. Default 64. */
  readonly max: number;
  /** Longest tag kept, bytes. Default 128. */
  readonly maxLength: number;
}

export interface VhostOptions {
  /** `<ViaHeader>`: add `Via: 1.1 flint` to responses. Default true. */
  readonly viaHeader: boolean;
  /** `<ServerHeader>`: pass the origin's Server header through (ON) or drop it (OFF). Default true. */
  readonly serverHeader: boolean;
  /** `<MaxRequestBodySize>` (bytes, Flint's own): larger request bodies get 413. 0 = no limit. Default 0. */
  readonly maxRequestBodyBytes: number;
  /** `<Caching>` (Flint's own): OFF passes every request through without touching the cache. Default ON. */
  readonly caching: boolean;
  /** `<Admission Window>` (Flint's own): a new object is stored on its `minUses`th request within `windowSec`. Default 1 (always). */
  readonly admission: { readonly minUses: number; readonly windowSec: number };
  readonly ttl: TtlPolicy;
  /** `<TTLExtensionBy5xx>`: an origin 5xx on revalidation serves the stale copy and extends it. Default ON. */
  readonly ttlExtensionBy5xx: boolean;
  /** `<TTLExtensionByFail>`: an origin connect/receive failure on revalidation serves stale and extends it. Default ON. */
  readonly ttlExtensionByFail: boolean;
  /** `<RefreshExpired>`: ON = a stale object is revalidated while the client waits; OFF = served stale, refreshed in the background. Default ON. */
  readonly refreshExpired: boolean;
  /** `<AgeHeader>`: send `Age` on cached responses (RFC 9111 §5.1 requires it; OFF only for broken clients). Default ON. */
  readonly ageHeader: boolean;
  /** `<ViolateMustRevalidate>`: TTL extension / stale-if-error also serve stale must-revalidate, proxy-revalidate and s-maxage responses (violates RFC 9111 §4.2.4). Default OFF. */
  readonly violateMustRevalidate: boolean;
  /** `<SetCookie>`: responses with Set-Cookie are passed unstored (`pass`) or stored without the cookie (`strip`). Default pass. */
  readonly setCookie: SetCookieMode;
  /** `<CookieRequest>`: when a response to a request with Cookie may be stored. Default explicit. */
  readonly cookieRequest: CookieRequestMode;
  /** `<TargetedCacheControl>`: RFC 9213 target list, lower-case field names, most specific first; [] = none. Default flint-cdn-cache-control, cdn-cache-control. */
  readonly targetedCacheControl: readonly string[];
  /** `<CacheTag>`: tags from origin response fields (issue 24; cache/tags.ts). */
  readonly cacheTag: CacheTagOptions;
  /** `<UnsafeInvalidation>`: a successful POST/PUT/DELETE/PATCH evicts its URL and same-host Location/Content-Location (RFC 9111 §4.4). Default ON. */
  readonly unsafeInvalidation: boolean;
  /** `<BypassPostRequest>`: POST is passed to the origin without caching. Must stay ON (no POST caching). Default ON. */
  readonly bypassPostRequest: boolean;
  /** `<BypassGetRequest>`: ON passes every GET/HEAD through unless a bypass rule says `cache`. Default OFF. */
  readonly bypassGetRequest: boolean;
  /** `<BypassNoCacheRequest>`: a request with `Cache-Control: no-cache` or `Pragma: no-cache` is passed through. Default OFF. */
  readonly bypassNoCacheRequest: boolean;
  /** `<CaseSensitive>`: OFF lower-cases the URL path for the cache key and rule matching. Default ON. */
  readonly caseSensitive: boolean;
  /** `<RuleCaseSensitive>`: with CaseSensitive ON, rule URL patterns match case-sensitively too; OFF = case-insensitively. Default OFF. */
  readonly ruleCaseSensitive: boolean;
  /** `<ApplyQueryString>`: the query string is part of the cache key (ON) or ignored (OFF). Default ON. */
  readonly applyQueryString: boolean;
  /** `<ApplyQueryString Collective>` (STON): a purge/expire of a URL without a query also reaches its query-string variants. Default false. */
  readonly queryCollective: boolean;
  /** `<ApplyQueryString Keep>`: with ON, only these query keys make the key (others dropped); null = all. Default null. */
  readonly queryStringKeep: readonly string[] | null;
  /** `<ApplyQueryString Drop>`: with ON, these query keys are left out of the key; null = none. Default null. */
  readonly queryStringDrop: readonly string[] | null;
  /** `<VaryHeader>`: origin Vary names honoured (lower-case); null = all (`*`); [] = none (`OFF`). Default null. */
  readonly varyHeaders: readonly string[] | null;
  /** `<AccessControl Default DenialCode>ON`: the vhost's acl rules apply (policy/edge-rules/acl.ts). */
  readonly accessControl: AccessControlOptions;
  /** `<Purge2Expire>`: NONE, ROOT (`host/*` purges), PATTERN (glob purges) or ALL purges are run as expires. Default NONE. */
  readonly purge2Expire: PurgeToExpire;
  /** `<RootPurgeExpire>`: ON allows purge and expire of `host/*`, PURGE/EXPIRE only that one, OFF neither. Default ON. */
  readonly rootPurgeExpire: RootPurgeExpire;
  /** `<RootHardPurge>`: whether `host/*` may be hard-purged (RootPurgeExpire does not apply to hardpurge). Default ON. */
  readonly rootHardPurge: boolean;
  readonly ifRange: IfRangeOptions;
  readonly compression: CompressionOptions;
}

/** `<Options><IfRange Purge="OFF">ON</IfRange>`: how client If-Range is treated (STON enterprise.html). */
export interface IfRangeOptions {
  /** Element text: ON = honour If-Range (206 when it matches, else 200); OFF = ignore it. Default ON (STON: OFF). */
  readonly enabled: boolean;
  /** `Purge`: a client (child cache) with a newer Last-Modified than the stored copy purges it and refetches. Default OFF. */
  readonly purge: boolean;
}

/** `<VhostLink Condition>`: which origin answers hand a request to the linked vhost. */
export interface LinkCondition {
  /** Exact status codes (`404,410`). */
  readonly statuses: readonly number[];
  /** Status classes by first digit (`4xx` = 4). */
  readonly classes: readonly number[];
  /** `fail`: the origin could not be reached or stopped answering before the response head. */
  readonly onFail: boolean;
}

/** `<VhostLink Condition="...">other.vhost</VhostLink>` (STON adv_vhost.html). */
export interface VhostLink {
  /** Name of the vhost the request is handed to. */
  readonly target: string;
  readonly condition: LinkCondition;
}


/**
 * `<Options><SignedUrl>` (issue 20): links under `paths` must carry a valid, unexpired signature
 * (policy/signed-url.ts). Keys are secrets: never logged, never put in a problem text.
 */
export interface SignedUrlConfig {
  /** `Key` elements, each verifies (rotation); the first one signs (`flint sign-url`). At least one. */
  readonly keys: readonly string[];
  /** `Path` URL globs that need a signature. Default [`/*`] (every path). */
  readonly paths: readonly string[];
  /** `Param`: the query parameter holding the token. Default `token`. */
  readonly param: string;
  /** `ExpiresParam`: the query parameter holding the expiry (Unix seconds). Default `expires`. */
  readonly expiresParam: string;
  /** `BindClientIp`: the client's address is part of the signed message. Default OFF. */
  readonly bindClientIp: boolean;
}

/** `<Options><Cors AllowOrigin MaxAge AllowMethods>ON</Cors>` (issue 20): answered at the edge (policy/cors.ts). */
export interface CorsConfig {
  /** Allowed origins (`https://app.example.com`, lower case, no trailing slash); empty = every origin (`*`). */
  readonly allowOrigins: readonly string[];
  /** `MaxAge`: Access-Control-Max-Age of preflight answers, seconds. Default 600. */
  readonly maxAgeSec: number;
  /** `AllowMethods`: methods a preflight may ask for. Default GET, HEAD, OPTIONS. */
  readonly allowMethods: readonly string[];
}

/** `<Options><ErrorPage ResCode>file</ErrorPage>` (issue 20): the body of errors Flint makes for these statuses. */
export interface ErrorPageConfig {
  readonly statuses: readonly number[];
  /** The file as configured (resolved path), for problems and the reference. */
  readonly file: string;
  /** Content-Type, from the file's extension. */
  readonly contentType: string;
  /** The file's text, read at config load (UTF-8). */
  readonly body: string;
}
