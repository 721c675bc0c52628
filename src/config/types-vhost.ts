/**
 * @module config/types-vhost
 * One vhost: its logs, HTTPS termination, HTTP/2, sub-paths and URL rewrites.
 * Types (and the value lists their unions come from) only; part of config/types.ts, which re-exports it. Used by
 * every process: the primary builds the Config (config/validate.ts), workers receive it over IPC.
 */
import type { ListenAddress, OriginAddress, OriginOptions, HealthCheckerConfig } from './types-origin.js';
import type { VhostOptions, VhostLink, SignedUrlConfig, CorsConfig, ErrorPageConfig } from './types-options.js';
import type { DimsConfig } from './types-dims.js';
import type { MediaConfig } from './types-media.js';
import type { VhostRules } from './types-rules.js';
import type { VhostClientLimits } from './types-server.js';
import type { ThrottlingConfig } from './types-throttle.js';

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
  /** `<Options><BandwidthThrottling>` with `<Throttling>ON` (media/throttle/); null = off. Not inherited. */
  readonly throttling: ThrottlingConfig | null;
  /** `<Sub Status="Active"><Path Vhost>` (STON): paths of this vhost that another vhost serves, in order; none by default. */
  readonly sub: readonly SubPath[];
  /** `<Options><Dims Status="Active">`; null = off. Not inherited. */
  readonly dims: DimsConfig | null;
  /** `<Media>` (issue 22): header relocation, trimming, HLS; inherited from VHostDefault. */
  readonly media: MediaConfig;
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
