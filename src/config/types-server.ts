/**
 * @module config/types-server
 * server.xml: management API, config history, <Cluster>, storage, memory, process log, service access,
 * client limits and ServerConfig.
 * Types (and the value lists their unions come from) only; part of config/types.ts, which re-exports it. Used by
 * every process: the primary builds the Config (config/validate.ts), workers receive it over IPC.
 */
import type { DimsLimits } from './types-dims.js';
import type { LogRotation, Http2Config } from './types-vhost.js';

/** `<Storage><Eviction Policy>` values (bench/README.md, "Eviction policies"). */
export const EVICTION_POLICIES = ['lru', 's3fifo', 'sieve', 'wtinylfu'] as const;
export type EvictionPolicyName = (typeof EVICTION_POLICIES)[number];

/** pino levels an operator may choose for the process (info) log. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** STON `<Allow Role>`: Admin may call everything, User the monitoring APIs (/monitoring, /stats, /metrics), Looker only graphs. */
export const MANAGER_ROLES = ['Admin', 'User', 'Looker'] as const;
export type ManagerRole = (typeof MANAGER_ROLES)[number];

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
  /** `<Storage><Eviction Policy>`: the order the evictor frees objects in (cache/eviction-policies.ts). Default s3fifo. */
  readonly evictionPolicy: EvictionPolicyName;
  /** `<Storage><HighWater>` (percent of the disk quota): eviction starts above this. Default 97. */
  readonly highWaterPercent: number;
  /** `<Storage><LowWater>` (percent of the disk quota): eviction stops below this. Default 95. */
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
  /** `<Cache><ParallelGc>`: workers keep V8's GC helper threads; false (default) starts them with --single-threaded-gc. */
  readonly parallelGc: boolean;
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
