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

/** STON `<BalanceMode>`; only the first address is used until the "Origins" issue. */
export const BALANCE_MODES = ['RoundRobin', 'Hash', 'Session'] as const;
export type BalanceMode = (typeof BALANCE_MODES)[number];

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

/** `<Options>` (VHostDefault, overridden per vhost). */
export interface VhostOptions {
  /** `<ViaHeader>`: add `Via: 1.1 flint` to responses. Default true. */
  readonly viaHeader: boolean;
  /** `<ServerHeader>`: pass the origin's Server header through (ON) or drop it (OFF). Default true. */
  readonly serverHeader: boolean;
  /** `<MaxRequestBodySize>` (bytes, Flint's own): larger request bodies get 413. 0 = no limit. Default 0. */
  readonly maxRequestBodyBytes: number;
  /** `<Caching>` (Flint's own): OFF passes every request through without touching the cache. Default ON. */
  readonly caching: boolean;
  readonly ttl: TtlPolicy;
  /** `<TTLExtensionBy5xx>`: an origin 5xx on revalidation serves the stale copy and extends it. Default ON. */
  readonly ttlExtensionBy5xx: boolean;
  /** `<TTLExtensionByFail>`: an origin connect/receive failure on revalidation serves stale and extends it. Default ON. */
  readonly ttlExtensionByFail: boolean;
  /** `<RefreshExpired>`: ON = a stale object is revalidated while the client waits; OFF = served stale, refreshed in the background. Default ON. */
  readonly refreshExpired: boolean;
  /** `<AgeHeader>`: send `Age` on cached responses (RFC 9111 §5.1 requires it; OFF only for broken clients). Default ON. */
  readonly ageHeader: boolean;
  readonly ifRange: IfRangeOptions;
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

export interface VhostLog {
  /** `<Log><Access>`: absolute path of the JSON access log; null = access logging off (`OFF`). */
  readonly accessPath: string | null;
}

export interface Vhost {
  /** `Name` attribute, lower-cased. */
  readonly name: string;
  /** `<Alias>` entries, lower-cased; exact names and `*.suffix` wildcards, in config order. */
  readonly aliases: readonly string[];
  /** `<Listen>` entries (default: VHostDefault's, else `*:80`). */
  readonly listen: readonly ListenAddress[];
  /** `<Origin><Address>` entries, at least one. */
  readonly origins: readonly OriginAddress[];
  readonly originOptions: OriginOptions;
  readonly options: VhostOptions;
  readonly log: VhostLog;
  /** `<VhostLink>`: where requests go when this vhost's origin answers with the condition; null = no link. Default null. */
  readonly link: VhostLink | null;
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
  /** `<Storage><InlineMaxSize>` (Flint's own): bodies up to this size live inside the LMDB index record. Default 16 KiB. */
  readonly inlineMaxBytes: number;
  /** `<Storage><HighWater>` (percent of the disk quota): eviction starts above this. Default 90. */
  readonly highWaterPercent: number;
  /** `<Storage><LowWater>` (percent of the disk quota): eviction stops below this (STON frees ~20%). Default 70. */
  readonly lowWaterPercent: number;
}

export interface MemoryConfig {
  /**
   * `<Cache><ContentMemoryRatio>` (percent of system memory): budget of the per-worker hot tiers together (each
   * worker gets an equal share) for small hot objects kept ready to send. 0 = no hot tier. Default 5.
   */
  readonly contentMemoryPercent: number;
  /** `<Cache><HotObjectMaxSize>` (Flint's own): only bodies up to this size enter the hot tier. Default 64 KiB. */
  readonly hotObjectMaxBytes: number;
}

export interface ServerLog {
  /** `<Log Level>`: process (info) log level. Default info. */
  readonly level: LogLevel;
  /** `<Log><Info>`: absolute path of the process log; null = stdout. Default null. */
  readonly infoPath: string | null;
}

export interface ServerConfig {
  readonly manager: ManagerConfig;
  /** `<Cache><Workers>`: worker processes; 0 in XML (or absent) = one per core, resolved here to a number >= 1. */
  readonly workers: number;
  /** `<Cache><CpuAffinity>`: pin worker i to CPU i with taskset. Default true. */
  readonly cpuAffinity: boolean;
  /** `<Cache><ShutdownTimeout>` (seconds in XML): how long SIGTERM waits for in-flight responses. Default 30 s. */
  readonly shutdownTimeoutMs: number;
  readonly storage: StorageConfig;
  readonly memory: MemoryConfig;
  readonly log: ServerLog;
}

export interface Config {
  /** Absolute path of the directory server.xml and vhosts.xml were read from. */
  readonly confDir: string;
  /** sha1 (hex) of server.xml + vhosts.xml contents, to tell configs apart in logs and /stats. */
  readonly hash: string;
  readonly server: ServerConfig;
  readonly vhosts: readonly Vhost[];
  /** `<Vhosts><Default>`: name of the vhost that serves unknown Host headers; null = 404. */
  readonly defaultVhost: string | null;
}
