/**
 * @module config/types-rules
 * Per-vhost rules: TTL, bypass, query string, access control (acl) and header rules.
 * Types (and the value lists their unions come from) only; part of config/types.ts, which re-exports it. Used by
 * every process: the primary builds the Config (config/validate.ts), workers receive it over IPC.
 */
import type { CompressionTarget } from './types-options.js';
import type { ThrottleRule } from './types-throttle.js';

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
  /** Throttling rules, first match wins (enforced only with `<BandwidthThrottling><Throttling>ON`). */
  readonly throttling: readonly ThrottleRule[];
}
