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

/** `<Options>` (VHostDefault, overridden per vhost). Grows with the cache engine issue. */
export interface VhostOptions {
  /** `<ViaHeader>`: add `Via: 1.1 flint` to responses. Default true. */
  readonly viaHeader: boolean;
  /** `<ServerHeader>`: pass the origin's Server header through (ON) or drop it (OFF). Default true. */
  readonly serverHeader: boolean;
  /** `<MaxRequestBodySize>` (bytes, Flint's own): larger request bodies get 413. 0 = no limit. Default 0. */
  readonly maxRequestBodyBytes: number;
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
