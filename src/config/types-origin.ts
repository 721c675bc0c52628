/**
 * @module config/types-origin
 * Origin settings of a vhost: listen and origin addresses, <OriginOptions>, HTTPS to origins, health checks.
 * Types (and the value lists their unions come from) only; part of config/types.ts, which re-exports it. Used by
 * every process: the primary builds the Config (config/validate.ts), workers receive it over IPC.
 */
/** STON `<BalanceMode>` (see origin/selector.ts). */
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
