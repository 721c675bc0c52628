/**
 * @module config/types
 * The validated, deep-frozen configuration every process works from. Produced only by config/validate.ts
 * (from conf/server.xml + conf/vhosts.xml), sent verbatim from the primary to workers over IPC, so it must stay
 * plain JSON data: no Maps, functions, Dates or class instances. Imports nothing.
 * Units are in the field names: `...Ms` milliseconds, `...Sec` seconds, `...Bytes` bytes.
 */

/** pino levels an operator may choose for the process (info) log. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** STON `<BalanceMode>` (see origin/selector.ts). */
export const BALANCE_MODES = ['RoundRobin', 'Hash', 'Session'] as const;
export type BalanceMode = (typeof BALANCE_MODES)[number];

/** STON `<Allow Role>`: Admin may call everything, User the monitoring APIs (/monitoring, /stats, /metrics), Looker only graphs. */
export const MANAGER_ROLES = ['Admin', 'User', 'Looker'] as const;
export type ManagerRole = (typeof MANAGER_ROLES)[number];

/** STON `<Purge2Expire>`: which purges are turned into expires. */
export const PURGE_TO_EXPIRE = ['NONE', 'ROOT', 'PATTERN', 'ALL'] as const;
export type PurgeToExpire = (typeof PURGE_TO_EXPIRE)[number];

/** STON `<RootPurgeExpire>`: which commands may target a whole vhost (`host/*`). */
export const ROOT_PURGE_EXPIRE = ['ON', 'PURGE', 'EXPIRE', 'OFF'] as const;
export type RootPurgeExpire = (typeof ROOT_PURGE_EXPIRE)[number];

/** `<SetCookie>`: `pass` = a response with Set-Cookie goes to its client intact and is not stored (nginx, Varnish); `strip` = stored without it (STON). */
export const SET_COOKIE_MODES = ['pass', 'strip'] as const;
export type SetCookieMode = (typeof SET_COOKIE_MODES)[number];

/** `<CookieRequest>`: `explicit` = a response to a request with Cookie is stored only when public/s-maxage or a TTL rule says so; `any` = like any other. */
export const COOKIE_REQUEST_MODES = ['explicit', 'any'] as const;
export type CookieRequestMode = (typeof COOKIE_REQUEST_MODES)[number];

/** One `ip:port` a vhost listens on. `host` is '0.0.0.0' for `*`, '::' for `[::]`, else the literal address. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** One origin `<Address>`: `host:port` (port defaults to 80), optionally followed by a `/path` prefix. */
export interface OriginAddress {
  /** As written in the config, for logs and /stats. */
  readonly text: string;
  readonly host: string;
  readonly port: number;
  /** Path prefix prepended to the request path ('' when none). Never ends with '/'. */
  readonly pathPrefix: string;
}

/** `<OriginOptions>` (VHostDefault, overridden per vhost). */
export interface OriginOptions {
  /** `<ConnectTimeout>` (seconds in XML): TCP connect to the origin; exceeded -> 504. Default 3 s. */
  readonly connectTimeoutMs: number;
  /** `<ReceiveTimeout>` (seconds in XML): max wait for response headers and between body chunks; exceeded -> 504. Default 10 s. */
  readonly receiveTimeoutMs: number;
  /** `<ReuseTimeout>` (seconds in XML): idle keep-alive origin connections are closed after this. Default 60 s. */
  readonly reuseTimeoutMs: number;
  /** `<MaxConnections>` (Flint's own): connections per origin address per worker. Default 128. */
  readonly maxConnections: number;
  /** `<BalanceMode>`. Default RoundRobin. */
  readonly balanceMode: BalanceMode;
  /** `<Host>`: Host header sent to the origin; null = the client's Host (STON `*`). Default null. */
  readonly hostHeader: string | null;
  /** `<UserAgent>`: User-Agent sent to the origin; null = the client's (STON `*`). Default null. */
  readonly userAgent: string | null;
  /** `<XFFClientIPOnly>`: ON replaces X-Forwarded-For with the client IP; OFF appends it. Default false. */
  readonly xffClientIpOnly: boolean;
  /** `<Exclusion>`: consecutive failures (connect/receive failure, a listed status) that exclude a member; 0 = never. Default 3. */
  readonly exclusion: number;
  /** `<Exclusion All>`: true = every member may be excluded; false = the vhost's last active member never is. Default false. */
  readonly exclusionAll: boolean;
  /** `<Exclusion ResCode>`: origin statuses that count as failures toward `<Exclusion>`. Default none. */
  readonly exclusionResCodes: readonly number[];
  /** `<Recovery>`: how an excluded member is probed back in. */
  readonly recovery: RecoveryProbe;
  /** `<Retry>`: how many times a transaction that never started is retried on another member (`all` = 65535). Default all. */
  readonly retries: number;
  /** `<DnsRefresh>` (seconds in XML, Flint's own): origin DNS names are re-resolved this often. Default 10 s. */
  readonly dnsRefreshMs: number;
  /** `<BalanceHashRules><IgnoreSuffix>`: Hash mode hashes the URL only up to the first of these. Default none. */
  readonly hashIgnoreSuffixes: readonly string[];
  /** `<OriginAffinity>`: bypassed requests of one client IP stick to one member. Default true. */
  readonly originAffinity: boolean;
  /**
   * `<Origin Protocol="HTTPS">` with `<CA>` and `<TlsVerify>`: per vhost (set from its `<Origin>`, never inherited
   * from VHostDefault); null = plain HTTP (the default). Kept here so every pool and probe that gets a vhost's
   * options also knows how to connect.
   */
  readonly tls: OriginTls | null;
}

/** How a vhost's origin connections (requests, health checks, recovery probes) use TLS. */
export interface OriginTls {
  /** `<Origin><TlsVerify>`: check the origin certificate chain and name. Default true; OFF is logged at start. */
  readonly verify: boolean;
  /** `<Origin><CA>`: absolute path of the extra trusted CA file (PEM); null = none. */
  readonly caFile: string | null;
  /** Its PEM text, read when the config is loaded (workers get it with the config, never read the file). */
  readonly caPem: string | null;
}

/** `<OriginOptions><Recovery Cycle Uri ResCode Log>N</Recovery>` (STON): probes of an excluded member. */
export interface RecoveryProbe {
  /** Consecutive good probes that re-admit the member; 0 = never re-admitted. Default 5. */
  readonly count: number;
  /** `Cycle` (seconds in XML): time between probes. Default 10 s. */
  readonly cycleMs: number;
  /** `Uri`: path (or http:// URL) probed. Default '/'. */
  readonly uri: string;
  /** `ResCode`: good status codes; [0] = any response. Default [0]. */
  readonly resCodes: readonly number[];
  /** `Log`: log each failed probe. Default true. */
  readonly log: boolean;
}

/** One `<Origin><HealthChecker>` (STON): an active check of every member, independent of passive health. */
export interface HealthCheckerConfig {
  /** The element text: a path, or an http:// URL whose host is sent as Host. */
  readonly target: string;
  /** `ResCode`: healthy status codes; [0] = any response. Default [0]. */
  readonly resCodes: readonly number[];
  /** `Timeout` (seconds in XML): the whole transaction, connect to last body byte. Default 10 s. */
  readonly timeoutMs: number;
  /** `Cycle` (seconds in XML): time between checks of one member. Default 10 s. */
  readonly cycleMs: number;
  /** `Exclusion`: consecutive failed checks that mark a member down. Default 3. */
  readonly exclusion: number;
  /** `Recovery`: consecutive good checks that mark it up again. Default 5. */
  readonly recovery: number;
  /** `Log`: log each failed check. Default true. */
  readonly log: boolean;
}

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

/** DIMS gravity (STON `<Composite Gravity>`): where an overlay sits on the image. */
export const DIMS_GRAVITIES = ['nw', 'n', 'ne', 'w', 'c', 'e', 'sw', 's', 'se'] as const;
export type DimsGravity = (typeof DIMS_GRAVITIES)[number];

/** Where and how an overlay (`<Composite>`, `<Annotation>`) is drawn: gravity, `Geometry="+x+y[%]"`, `Dissolve`. */
export interface DimsPlacement {
  readonly gravity: DimsGravity;
  /** Offset from the gravity's edge, pixels (or percent of the image with `percent`). */
  readonly x: number;
  readonly y: number;
  readonly percent: boolean;
  /** Opacity of the overlay, 0-100 (`Dissolve`). Default 100. */
  readonly dissolve: number;
}

/** `<Dims><Composite Name File Gravity Geometry Dissolve>`: a watermark for `composite/<name>`. */
export interface DimsCompositeConfig extends DimsPlacement {
  readonly name: string;
  readonly file: string;
  /** The file's bytes, base64, read at config load (a config must stay plain data for IPC and freezing). */
  readonly imageBase64: string;
}

/** `<Dims><Annotation Name Text FontSize FontColor BackgroundColor Gravity Geometry Dissolve>`: text for `annotation/<name>`. */
export interface DimsAnnotationConfig extends DimsPlacement {
  readonly name: string;
  /** Static text; null when it comes from the query (`$QUERYSTRING[key]`). */
  readonly text: string | null;
  /** Query parameter the text is read from; null for static text. */
  readonly queryKey: string | null;
  /** Pango font description (`sans`, `serif bold`). Default sans. */
  readonly font: string;
  /** Pixels. Default 24. */
  readonly fontSize: number;
  /** `#rrggbb`. Default #ffffff. */
  readonly fontColor: string;
  /** `#rrggbb` box behind the text; null = none. */
  readonly backgroundColor: string | null;
}

/** `<Dims><ByOriginal Name><Condition Width Height>/chain/</Condition>...`: a chain chosen by the source's size. */
export interface DimsByOriginalConfig {
  readonly name: string;
  /** In order; the first whose Width and Height the source reaches applies. */
  readonly conditions: ReadonlyArray<{ readonly width: number; readonly height: number; readonly chain: string }>;
}

/** `<Options><Dims Status="Active">` (issue 21, STON image.html): image transformation by URL. */
export interface DimsConfig {
  /** `Keyword`: the path segment that starts the chain. Default dims. */
  readonly keyword: string;
  /** `MaxSourceSize` (MiB in XML): larger originals are served as they are. Default 10 MiB. */
  readonly maxSourceBytes: number;
  /** `MaxPixels`: sources with more pixels (width x height x frames) are served as they are. Default 50 000 000. */
  readonly maxPixels: number;
  /** `FirstFrameOnly`: animated sources keep only their first frame unless the chain says otherwise. Default OFF. */
  readonly firstFrameOnly: boolean;
  readonly composites: readonly DimsCompositeConfig[];
  readonly annotations: readonly DimsAnnotationConfig[];
  readonly byOriginal: readonly DimsByOriginalConfig[];
}

/** `<Server><Cache><Dims>` (Flint's own): how much DIMS work one worker runs at once. */
export interface DimsLimits {
  /** `Concurrency`: conversions one worker runs at once (each takes a libuv pool thread). Default 2. */
  readonly concurrency: number;
  /** `Queue`: conversions waiting per worker; beyond it the request gets 503 + Retry-After. Default 32. */
  readonly queueLimit: number;
  /** `Timeout` (seconds in XML): one conversion's time limit, queueing included. Default 10 s. */
  readonly timeoutMs: number;
}

/**
 * One TTL rule (`<TTLRules><Rule>` or a line of svc/<vhost>/ttl.txt): when the URL glob and the origin status
 * match, a storable response is kept for ttlSec, overriding origin freshness and the `<TTL>` class TTLs (STON's
 * `custom` priority). Rules are tried in order; the first match wins.
 */
export interface TtlRule {
  /** Where the rule is defined: `vhosts.xml: Vhosts/Vhost[Name=a]/TTLRules/Rule[2]` or `svc/a/ttl.txt: line 3`. */
  readonly source: string;
  /** URL path glob (see policy/url-glob.ts); `*` = every URL. */
  readonly url: string;
  /** Origin status conditions: exact codes (`200`) or classes (`2xx`); [] = any status. */
  readonly status: readonly string[];
  readonly ttlSec: number;
}

/** What a matching bypass rule does: pass through, go through the cache, or invert the method's default (STON). */
export const BYPASS_ACTIONS = ['bypass', 'cache', 'invert'] as const;
export type BypassAction = (typeof BYPASS_ACTIONS)[number];

/** A header or cookie condition of a bypass rule. */
export interface NameValueMatch {
  readonly name: string;
  /** Glob (`*` = any run of characters) the value must match; null = presence is enough. */
  readonly value: string | null;
}

/** One bypass rule (`<BypassRules><Rule>` or a line of svc/<vhost>/bypass.txt); all its conditions must hold. */
export interface BypassRule {
  readonly source: string;
  /** Request method, upper-case; null = any. */
  readonly method: string | null;
  /** URL path glob; null = any. */
  readonly url: string | null;
  /** Request header (name lower-case) that must be present, and a glob its value must match (null = presence is enough). */
  readonly header: NameValueMatch | null;
  /** Cookie that must be present, and a glob its value must match (null = presence is enough). */
  readonly cookie: NameValueMatch | null;
  /** Client address or CIDR range; null = any client. */
  readonly clientIp: string | null;
  readonly action: BypassAction;
}

/** How a query-string rule shapes the cache key of the URLs it matches. */
export const QUERY_STRING_MODES = ['apply', 'ignore', 'keep', 'drop'] as const;
export type QueryStringMode = (typeof QUERY_STRING_MODES)[number];

/** One query-string rule (`<QueryStringRules><Rule>` or a line of svc/<vhost>/querystring.txt). */
export interface QueryStringRule {
  readonly source: string;
  readonly url: string;
  /** apply: whole query in the key; ignore: none of it; keep: only `keys`; drop: all but `keys`. */
  readonly mode: QueryStringMode;
  /** Query keys for keep/drop; [] otherwise. */
  readonly keys: readonly string[];
}

/** `<AccessControl>` (STON): ON enforces the acl list, then `Default`; denials answer `DenialCode`. */
export interface AccessControlOptions {
  /** Element text ON. Default false. */
  readonly enabled: boolean;
  /** `Default="Allow|Deny"`: the verdict when no acl rule matches. Default allow. */
  readonly defaultAction: 'allow' | 'deny';
  /** `DenialCode`: status of a `deny` without its own code and of the Deny default. Default 403. */
  readonly denialCode: number;
}

/**
 * One condition of an edge rule (acl.txt, headers.txt; policy/edge-rules/parse.ts). Plain data: compiled into
 * matchers in each worker (policy/edge-rules/conditions.ts).
 */
export type EdgeCondition =
  | { readonly kind: 'url'; readonly glob: string }
  /** An address, CIDR range or STON `a.b.c.x-y` last-octet range (IPv4-mapped IPv6 written as IPv4). */
  | { readonly kind: 'ip'; readonly range: string }
  /** Request header: name lower-case; value glob, null = presence only. */
  | { readonly kind: 'header'; readonly name: string; readonly value: string | null }
  /** Request methods, upper-case. */
  | { readonly kind: 'method'; readonly methods: readonly string[] }
  /** Client country (`$GEO[KR|JP]`, STON's `$IP[KR]`): ISO 3166-1 alpha-2 codes, upper-case, looked up in `<ServiceAccess GeoIP>`. */
  | { readonly kind: 'geo'; readonly countries: readonly string[] };

/** What an acl rule does with a request its conditions match. */
export type AclAction =
  | { readonly kind: 'allow' }
  /** `status` null = the vhost's DenialCode. */
  | { readonly kind: 'deny'; readonly status: number | null }
  /** `url` may hold `#HOST` and `#URL` (STON), replaced per request. */
  | { readonly kind: 'redirect'; readonly url: string };

/** One acl rule (a line of acl.txt or `<MatchingList Target="acl">`); all conditions must hold. */
export interface AclRule {
  readonly source: string;
  readonly conditions: readonly EdgeCondition[];
  readonly action: AclAction;
}

/** How a header rule changes its header (STON <ModifyHeader>): replace, add another, add to the value, remove. */
export const HEADER_ACTIONS = ['set', 'put', 'append', 'unset'] as const;
export type HeaderAction = (typeof HEADER_ACTIONS)[number];

/**
 * One header rule (a line of headers.txt or `<MatchingList Target="headers">`): when its conditions hold, `action`
 * changes header `name` of the origin request (`req`) or of the client response (`res`).
 */
export interface HeaderRule {
  readonly source: string;
  readonly conditions: readonly EdgeCondition[];
  readonly target: 'req' | 'res';
  /** Lower-case field name. */
  readonly name: string;
  /** Value template (`#CLIENTIP`, `#HOSTNAME`, `#PROTOCOL`, `#CACHEHIT`, `$REQ.<name>`); null for unset. */
  readonly value: string | null;
  readonly action: HeaderAction;
  /** Response statuses (`200`, `2xx`) the rule applies to; [] = any. Only for `res`. */
  readonly status: readonly string[];
}

/** A vhost's rules in evaluation order: inline XML rules first, then the svc/<vhost>/*.txt lines. */
export interface VhostRules {
  readonly ttl: readonly TtlRule[];
  readonly bypass: readonly BypassRule[];
  readonly queryString: readonly QueryStringRule[];
  /** Access rules, first match wins (enforced only with `<AccessControl>ON`). */
  readonly acl: readonly AclRule[];
  /** Header rules in order; every matching one applies (STON ModifyHeader FirstOnly OFF). */
  readonly headers: readonly HeaderRule[];
  /** Compression targets (any line matching makes an object a target); [] = the default MIME list. */
  readonly compression: readonly CompressionTarget[];
}

/** `<Access Form>`: Flint's JSON lines, STON's W3C fields with a `#Fields` header, Apache combined, or `<AccessFormat>`. */
export const ACCESS_FORMS = ['json', 'ston', 'apache', 'custom'] as const;
export type AccessForm = (typeof ACCESS_FORMS)[number];
/** `<Access Type>`/`<Origin Type>` (STON): roll on time boundaries, on size, on either; `none` = only on SIGUSR1. */
export const ROTATION_TYPES = ['none', 'time', 'size', 'both'] as const;
export type RotationType = (typeof ROTATION_TYPES)[number];

/** STON's common log attributes `Type Unit Retention Compression`: when the primary rolls a log file. */
export interface LogRotation {
  readonly type: RotationType;
  readonly unit: {
    /** `Unit` for `time` (the first number for `both`): minutes per file, aligned to UTC midnight. Default 1440. */
    readonly minutes: number;
    /** `Unit` for `size` (the second number for `both`), in bytes (written in MB). Default 100 MB. */
    readonly bytes: number;
  };
  /** `Retention`: rolled files kept per log; older ones are deleted. Default 10. */
  readonly retention: number;
  /** `Compression`: gzip rolled files (`.gz`). Default false. */
  readonly compression: boolean;
}

export interface VhostLog {
  /** `<Log><Access>`: absolute path of the access log; null = access logging off (`OFF`). */
  readonly accessPath: string | null;
  /** `<Access Form>`. Default json. */
  readonly accessForm: AccessForm;
  /** `<AccessFormat>`: the `%` format of `Form="custom"` (checked by logs/access-format.ts); null when not set. */
  readonly accessFormat: string | null;
  readonly accessRotation: LogRotation;
  /** `<Log><Origin>`: absolute path of the origin log (one W3C line per origin transaction); null = off (default). */
  readonly originPath: string | null;
  readonly originRotation: LogRotation;
  /** `<Log><Image>`: absolute path of the DIMS image log (JSON lines); null = off (default). */
  readonly imagePath: string | null;
}

/** `<Https MinVersion MaxVersion>`: the TLS versions Flint can be told to accept (TLS 1.0/1.1 are not offered). */
export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** `<Https Engine>`: node:http2 (tls/h2-server.ts) or uWS's SSLApp, HTTP/1.1 only (tls/uws-listener.ts). */
export const HTTPS_ENGINES = ['node', 'uws'] as const;
export type HttpsEngine = (typeof HTTPS_ENGINES)[number];

/** `<Https>` of a vhost (or inherited from `<VHostDefault>`): TLS termination, served by tls/h2-server.ts or tls/uws-listener.ts. */
export interface HttpsConfig {
  /** `<Https Listen>`: address of the TLS listener (HTTP/2 and HTTP/1.x via ALPN). */
  readonly listen: ListenAddress;
  /** `<Https Engine>`. Default node. */
  readonly engine: HttpsEngine;
  /** `<Cert>`: absolute path of the PEM certificate (chain included). */
  readonly certPath: string;
  /** `<Key>`: absolute path of the PEM private key. */
  readonly keyPath: string;
  /** The certificate and key as read and checked by the primary when the config loaded (workers never read them). */
  readonly certPem: string;
  readonly keyPem: string;
  /** The certificate's notAfter, ms since the epoch. */
  readonly notAfterMs: number;
  /** `<Https MinVersion>`. Default TLSv1.2. */
  readonly minVersion: TlsVersion;
  /** `<Https MaxVersion>`. Default TLSv1.3. */
  readonly maxVersion: TlsVersion;
  /** `<Https Ciphers>`: OpenSSL cipher list; null = Node's default. Default null. */
  readonly ciphers: string | null;
  /** `<Https><Hsts>`: the Strict-Transport-Security value sent over TLS; null = none. Default null. */
  readonly hsts: string | null;
}

/** `<Server><Host><Http2>` (Flint's own): HTTP/2 connection settings of every Https listener; start-only. */
export interface Http2Config {
  /** `<MaxConcurrentStreams>`: SETTINGS_MAX_CONCURRENT_STREAMS. Default 100. */
  readonly maxConcurrentStreams: number;
  /** `<InitialWindowSize>` in bytes: per-stream flow-control window for request bodies. Default 1 MiB. */
  readonly initialWindowSize: number;
  /** `<IdleTimeout>` (seconds in XML): an idle HTTPS connection is closed. Default 120 s. */
  readonly idleTimeoutMs: number;
}

export interface Vhost {
  /** `Name` attribute, lower-cased. */
  readonly name: string;
  /** `<Alias>` entries, lower-cased; exact names and `*.suffix` wildcards, in config order. */
  readonly aliases: readonly string[];
  /** `<Listen>` entries (default: VHostDefault's, else `*:80`). */
  readonly listen: readonly ListenAddress[];
  /** `<Https>`: TLS termination; null = plain HTTP only. Default: VHostDefault's, else null. */
  readonly https: HttpsConfig | null;
  /** `<RedirectHttpToHttps ResCode>`: plain-HTTP requests are redirected to the Https listener; null = off. */
  readonly redirectHttpToHttps: 301 | 302 | 307 | 308 | null;
  /** `<Origin><Address>` entries, at least one. */
  readonly origins: readonly OriginAddress[];
  /** `<Origin><HealthChecker>` entries (none by default). */
  readonly healthCheckers: readonly HealthCheckerConfig[];
  /** `<Origin><Address2>` entries: standbys used only while every `<Address>` member is down. Default none. */
  readonly standbyOrigins: readonly OriginAddress[];
  readonly originOptions: OriginOptions;
  readonly options: VhostOptions;
  readonly log: VhostLog;
  /** TTL, bypass and query-string rules (not inherited from VHostDefault). */
  readonly rules: VhostRules;
  /** `<VhostLink>`: where requests go when this vhost's origin answers with the condition; null = no link. Default null. */
  readonly link: VhostLink | null;
  /** `<Options><SignedUrl Status="Active">`; null = off. Not inherited from VHostDefault. */
  readonly signedUrl: SignedUrlConfig | null;
  /** `<Options><Cors>ON`; null = off. Not inherited. */
  readonly cors: CorsConfig | null;
  /** `<Options><ErrorPage>` entries; none by default. Not inherited. */
  readonly errorPages: readonly ErrorPageConfig[];
  /** `<TrafficCap>` and `<RateLimit>` (issue 20); inherited from VHostDefault. */
  readonly clientLimits: VhostClientLimits;
  /** `<Sub Status="Active"><Path Vhost>` (STON): paths of this vhost that another vhost serves, in order; none by default. */
  readonly sub: readonly SubPath[];
  /** `<Options><Dims Status="Active">`; null = off. Not inherited. */
  readonly dims: DimsConfig | null;
}

/** One `<Sub><Path Vhost="other.com">/other/</Path>`: a request to this vhost whose path matches goes to `vhost`. */
export interface SubPath {
  /** A URL glob (policy/url-glob.ts): STON's `/dir/` is written `/dir/*`, `*.jpg` stays. */
  readonly glob: string;
  /** Name of the vhost that serves it (validated to exist and to have no <Sub> itself). */
  readonly vhost: string;
}

/**
 * One `<URLRewrite>` (STON, vhosts.xml `<Vhosts>`): before the vhost is chosen, the first rule whose regex matches
 * `host/path?query` replaces the whole URL by its template (policy/url-rewrite.ts).
 */
export interface UrlRewriteRule {
  /** `Vhosts/URLRewrite[n]`, for messages. */
  readonly source: string;
  /** The regex (JavaScript syntax), unanchored unless it says `^`; compiled and checked at load. */
  readonly pattern: string;
  /** The new `host/path?query`: literal text and `#0` (the whole input) .. `#9` (capture groups). */
  readonly replace: string;
}

export interface ManagerConfig {
  /** `<Manager Port>`: the management HTTP port. Default 10040. */
  readonly port: number;
  /** `<Manager Listen>` (Flint's own attribute): bind address. Default 127.0.0.1. */
  readonly host: string;
  /** `<Allow>` entries: IPv4/IPv6 addresses or CIDR ranges allowed to call the API. Default [127.0.0.1, ::1]. */
  readonly allow: readonly string[];
  /** `<Manager Token>` (Flint's own): when set, requests must send `Authorization: Bearer <token>`. Default null. */
  readonly token: string | null;
  /** `<Allow Role>` of each `allow` entry (same order); absent Role = `<Manager Role>`. Default Admin. */
  readonly allowRoles: readonly ManagerRole[];
  /** `<Manager><ServerName>` (Flint's own): DNS names the manager answers as besides localhost and IP literals (lower-case). Default none. */
  readonly serverNames: readonly string[];
  /** `<Manager HttpMethod>`: Admin addresses may send PURGE to the manager port (and PURGE/EXPIRE/HARDPURGE to the service port). Default true. */
  readonly httpMethod: boolean;
}

/** `<Cache><ConfigHistory>`: every applied config is kept as a snapshot (server.xml + vhosts.xml) for rollback. */
export interface ConfigHistoryConfig {
  /** How many snapshots are kept (oldest dropped first); 0 = none. Default 30. */
  readonly keep: number;
  /** `<ConfigHistory Dir>` (Flint's own): absolute directory of the snapshots; null = `<conf dir>/history`. Default null. */
  readonly dir: string | null;
}

/** `<Cluster>` (server.xml, Flint's own): the fleet on NATS JetStream (src/fleet/). */
export interface ClusterConfig {
  /** `<Nats Url>`: NATS server URLs. Default nats://127.0.0.1:4222. */
  readonly urls: readonly string[];
  /** `<NodeName>`: this edge's fleet name. Default the host name's first label. */
  readonly nodeName: string;
  /** `<Group>`: the edge's group; null = none. Default null. */
  readonly group: string | null;
  /** `<PurgeRetention>` (seconds): how long fleet purges are kept for edges that were away. Default 86400. */
  readonly purgeRetentionSec: number;
  /** `<Wait>` (seconds in XML): default wait for fleet answers and for NATS at start-up. Default 5 s. */
  readonly waitMs: number;
}

export interface DiskConfig {
  /** Absolute path of the cache directory. */
  readonly path: string;
  /** `Quota` attribute in bytes (XML takes a size like `10G`); 0 = no quota. */
  readonly quotaBytes: number;
}

export interface StorageConfig {
  readonly disks: readonly DiskConfig[];
  /** `<BlockSize>`: block-file block size in bytes. Default 1 MiB. */
  readonly blockSizeBytes: number;
  /** `<Storage><InlineMaxSize>` (Flint's own): bodies up to this size live inside the LMDB index record. Default 1 KiB. */
  readonly inlineMaxBytes: number;
  /** `<Storage><HighWater>` (percent of the disk quota): eviction starts above this. Default 90. */
  readonly highWaterPercent: number;
  /** `<Storage><LowWater>` (percent of the disk quota): eviction stops below this (STON frees ~20%). Default 70. */
  readonly lowWaterPercent: number;
}

export interface MemoryConfig {
  /**
   * `<Cache><ContentMemoryRatio>` (percent of system memory): budget of the workers' content memory together (each
   * worker gets an equal share, half for its hot tier, half for its block memory). 0 = neither. Default 5.
   */
  readonly contentMemoryPercent: number;
  /** `<Cache><HotObjectMaxSize>` (Flint's own): only bodies up to this size enter the hot tier. Default 1 MiB. */
  readonly hotObjectMaxBytes: number;
}

export interface ServerLog {
  /** `<Log Level>`: process (info) log level. Default info. */
  readonly level: LogLevel;
  /** `<Log><Info>`: absolute path of the process log; null = stdout. Default null. */
  readonly infoPath: string | null;
  /** `<Info Type Unit Retention Compression>`: rolling of the process log file (by the primary, as access logs). */
  readonly infoRotation: LogRotation;
}

/**
 * `<ServiceAccess Default>` (STON, server.xml): client addresses refused on every vhost before routing. An address
 * in `allow` is served, else one in `deny` is refused, else `defaultAction`.
 */
export interface ServiceAccessConfig {
  /** `Default="Allow|Deny"`. Default allow. */
  readonly defaultAction: 'allow' | 'deny';
  /** `<Allow>` entries: addresses or CIDR ranges, or upper-case country codes (with `geoIp`). Default none. */
  readonly allow: readonly string[];
  /** `<Deny>` entries: addresses or CIDR ranges, or upper-case country codes (with `geoIp`). Default none. */
  readonly deny: readonly string[];
  /** `GeoIP` (STON's attribute; Flint takes one MaxMind .mmdb file): the database `$GEO[..]` rules read; null = none. */
  readonly geoIp: GeoIpConfig | null;
}

/** The GeoIP database as validated: workers open the same file; the digest makes a replaced file a config change. */
export interface GeoIpConfig {
  /** Absolute path of the .mmdb file. */
  readonly file: string;
  /** sha1 (hex) of the file's bytes when the config was loaded. */
  readonly sha1: string;
}

/** A vhost's client limits (issue 20): bandwidth caps (pipeline/traffic-cap.ts) and the per-address request rate (pipeline/rate-limit.ts). */
export interface VhostClientLimits {
  /** `<TrafficCap>`: response body bandwidth of the whole vhost in Mbps (10^6 bit/s); 0 = none. Default 0. */
  readonly trafficCapMbps: number;
  /** `<TrafficCap Session>`: per client connection (HTTP/2: per stream) in Mbps; 0 = none. Default 0. */
  readonly sessionCapMbps: number;
  /** `<RateLimit Burst>`: requests per second per client address, bucket size (0 = perSec); perSec 0 = off. Default 0, 0. */
  readonly rateLimit: { readonly perSec: number; readonly burst: number };
}

/** `<Host><MaxSockets Reopen>` and `<Host><RequestHeaderTimeout>` (issue 20): connection-level client limits. */
export interface ServerClientLimits {
  /** `<MaxSockets>`: open client connections of all workers; 0 = no limit. Default 80000. */
  readonly maxSockets: number;
  /** `<MaxSockets Reopen>`: percent of maxSockets below which refusing stops. Default 75. */
  readonly reopenPercent: number;
  /** `<RequestHeaderTimeout>` (seconds in XML): HTTPS connections without a complete request head are closed. Default 10 s. */
  readonly headerTimeoutMs: number;
}

export interface ServerConfig {
  readonly manager: ManagerConfig;
  readonly serviceAccess: ServiceAccessConfig;
  /** `<Cache><Workers>`: worker processes; 0 in XML (or absent) = one per core, resolved here to a number >= 1. */
  readonly workers: number;
  /** `<Cache><CpuAffinity>`: pin worker i to CPU i with taskset. Default true. */
  readonly cpuAffinity: boolean;
  /** `<Cache><ShutdownTimeout>` (seconds in XML): how long SIGTERM waits for in-flight responses. Default 30 s. */
  readonly shutdownTimeoutMs: number;
  /** `<Host><MaxRequestHeaderSize>`: largest request head a service port accepts (431 above); start-only. Default 32 KiB. */
  readonly maxRequestHeaderBytes: number;
  readonly http2: Http2Config;
  readonly clientLimits: ServerClientLimits;
  readonly storage: StorageConfig;
  readonly memory: MemoryConfig;
  readonly log: ServerLog;
  readonly configHistory: ConfigHistoryConfig;
  /** `<Cluster><Nats>ON</Nats>`: the fleet settings; null = standalone (no <Cluster>, or Nats OFF). Default null. */
  readonly cluster: ClusterConfig | null;
  readonly dims: DimsLimits;
}

export interface Config {
  /** Absolute path of the directory server.xml and vhosts.xml were read from. */
  readonly confDir: string;
  /** sha1 (hex) of server.xml + vhosts.xml contents (and svc/<vhost>/*.txt rule files, when any), to tell configs apart in logs and /stats. */
  readonly hash: string;
  readonly server: ServerConfig;
  readonly vhosts: readonly Vhost[];
  /** `<Vhosts><Default>`: name of the vhost that serves unknown Host headers; null = 404. */
  readonly defaultVhost: string | null;
  /** `<Vhosts><URLRewrite>` rules in order (first match wins); none by default. */
  readonly urlRewrites: readonly UrlRewriteRule[];
}
