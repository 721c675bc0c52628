/**
 * @module config/schema
 * The one table of every configuration setting (the Varnish params.h idea): XML path, value type, default, unit,
 * range and a one-line doc. config/validate.ts reads defaults, ranges and the set of known elements from it, and
 * `renderConfigReference()` turns it into docs/configuration.md, so code, checks and docs cannot drift apart.
 * Pure data; loaded by the primary (validation, via validate.ts) and by the docs script, never needed by workers.
 */
import { TLS_VERSIONS, HTTPS_ENGINES, ACCESS_FORMS, BALANCE_MODES, COOKIE_REQUEST_MODES, LOG_LEVELS, MANAGER_ROLES, PURGE_TO_EXPIRE, ROOT_PURGE_EXPIRE, ROTATION_TYPES, SET_COOKIE_MODES } from './types.js';
import type { TtlPolicy } from './types.js';

/**
 * How a value is written in XML. Each type has one parser in config/validate.ts and one line in the reference.
 * `host-name` is a DNS name or IPv4 literal, `alias` adds a leading `*.` wildcard, `vhost-ref` names a vhost.
 * `seconds` (fractions allowed) feeds `...Ms` timeouts; `whole-seconds` feeds `...Sec` TTLs, which are whole seconds.
 */
export type SettingType =
  | 'int'
  | 'size'
  | 'seconds'
  | 'whole-seconds'
  | 'bool'
  | 'enum'
  | 'string'
  | 'token'
  | 'host-name'
  | 'alias'
  | 'vhost-ref'
  | 'link-condition'
  | 'ip'
  | 'ip-or-cidr'
  | 'address-or-country'
  | 'listen'
  | 'origin-address'
  | 'path'
  | 'log-path'
  | 'log-unit'
  | 'access-format'
  | 'probe-target'
  | 'name-list'
  | 'vary-list'
  | 'url-glob'
  | 'query-param'
  | 'origin-list'
  | 'status-match'
  | 'status-list'
  | 'status-set'
  | 'nats-urls'
  | 'fleet-name'
  | 'encoding-list'
  | 'kib-range';

/** One setting. `path` is `Root/Element/...` with an attribute as `Element@Attr`. */
export interface Setting {
  /**
   * `Server/...` lives in server.xml, `Vhosts/...` in vhosts.xml, and `Vhost/...` in every `<Vhosts><Vhost>`
   * (and also in `<Server><VHostDefault>` when `inherit` is set).
   */
  readonly path: string;
  readonly type: SettingType;
  /** The default as it would be written in XML; an array for repeated elements; null = none (see `doc`). */
  readonly default: string | readonly string[] | null;
  /** Unit of the XML value, for the reference (the Config field name carries the converted unit). */
  readonly unit?: string;
  /** Inclusive bounds in the XML unit (seconds for `seconds`, bytes for `size`). */
  readonly min?: number;
  readonly max?: number;
  /** The value must be a power of two (sizes). */
  readonly powerOfTwo?: boolean;
  /** Allowed values of an `enum` (matched case-insensitively, stored as written here). */
  readonly values?: readonly string[];
  /** The element may appear more than once; each occurrence adds one value. */
  readonly repeated?: boolean;
  /** The setting must be present (at least once when repeated). */
  readonly required?: boolean;
  /** A `Vhost/...` setting that may also be set in `<Server><VHostDefault>`; vhosts override it per element. */
  readonly inherit?: boolean;
  /** The `Config` field it fills (see config/types.ts); `[]` marks an array. */
  readonly field: string;
  /** One line for operators. */
  readonly doc: string;
}

const K = 1024;
const M = 1024 * K;
/**
 * Upper bound of every TTL-like `whole-seconds` setting: RFC 9111 §1.2.2 has caches treat a delta-seconds value
 * above 2^31 as 2^31, so a larger TTL could not mean anything more.
 */
const DELTA_SECONDS_MAX = 2 ** 31;

/** `<TTL Priority>` values; types.ts keeps the union inline, so the list is checked against it here. */
export const TTL_PRIORITIES = ['origin', 'config'] as const satisfies ReadonlyArray<TtlPolicy['priority']>;

/** Every setting Flint reads, in the order the reference lists them. */
export const SETTINGS: readonly Setting[] = [
  // ---- server.xml: <Host>
  {
    path: 'Server/Host/Manager@Port',
    type: 'int',
    default: '10040',
    unit: 'TCP port',
    min: 1,
    max: 65535,
    field: 'server.manager.port',
    doc: 'Port of the management HTTP API (/stats, /metrics, /command/*, /conf/*).',
  },
  {
    path: 'Server/Host/Manager@Listen',
    type: 'ip',
    default: '127.0.0.1',
    field: 'server.manager.host',
    doc: "Flint's own: address the management API binds to (`*` = 0.0.0.0). Keep it on loopback unless Allow and Token guard it.",
  },
  {
    path: 'Server/Host/Manager@Token',
    type: 'token',
    default: null,
    field: 'server.manager.token',
    doc: "Flint's own: when set, management requests must send `Authorization: Bearer <token>`. Absent = no token check.",
  },
  {
    path: 'Server/Host/Manager/Allow',
    type: 'ip-or-cidr',
    default: ['127.0.0.1', '::1'],
    repeated: true,
    field: 'server.manager.allow',
    doc: 'Client address or CIDR range allowed to call the management API; one element per entry. Replaces the default list.',
  },
  {
    path: 'Server/Host/Manager/ServerName',
    type: 'host-name',
    default: [],
    repeated: true,
    field: 'server.manager.serverNames',
    doc: "Flint's own: a DNS name clients use to reach the management API (e.g. a Prometheus target `cache1.example.com:10040`); one element per name. Requests whose Host is not localhost, an IP literal or one of these names, with the manager's port, get 421 (DNS rebinding defence). Default none.",
  },
  // ---- management roles and the purge methods on the service port (ops-purge)
  {
    path: 'Server/Host/Manager@Role',
    type: 'enum',
    default: 'Admin',
    values: MANAGER_ROLES,
    field: 'server.manager.allowRoles[]',
    doc: 'Role of every <Allow> entry without its own Role: Admin (everything), User (/monitoring/*, /stats, /metrics only), Looker (graphs only). A call the role does not cover gets 401.',
  },
  {
    path: 'Server/Host/Manager/Allow@Role',
    type: 'enum',
    default: null,
    values: MANAGER_ROLES,
    field: 'server.manager.allowRoles[]',
    doc: 'Role of this entry (see Manager@Role); absent = Manager@Role.',
  },
  {
    path: 'Server/Host/Manager@HttpMethod',
    type: 'bool',
    default: 'ON',
    field: 'server.manager.httpMethod',
    doc: 'Admin addresses in <Allow> may send `PURGE /host/path` to the management port, and PURGE, EXPIRE and HARDPURGE (same answer as /command/*) to the service port; other addresses get 403 and OFF answers 405.',
  },
  // ---- the client-facing HTTP parser (issue 18)
  // ---- edge policy: service access (acl)
  {
    path: 'Server/Host/ServiceAccess@Default',
    type: 'enum',
    default: 'Allow',
    values: ['Allow', 'Deny'],
    field: 'server.serviceAccess.defaultAction',
    doc: 'STON: the verdict for client addresses in neither list. Checked first on every request of every vhost (uWS.js has no accept hook: the refused client gets 403 and a closed connection).',
  },
  {
    path: 'Server/Host/ServiceAccess/Allow',
    type: 'address-or-country',
    default: [],
    repeated: true,
    field: 'server.serviceAccess.allow',
    doc: 'A client address, CIDR range or (with GeoIP) country code always served (wins over Deny); one element per entry.',
  },
  {
    path: 'Server/Host/ServiceAccess/Deny',
    type: 'address-or-country',
    default: [],
    repeated: true,
    field: 'server.serviceAccess.deny',
    doc: 'A client address, CIDR range or (with GeoIP, STON) country code such as `KR` refused on every vhost unless also in Allow; one element per entry.',
  },
  {
    path: 'Server/Host/ServiceAccess@GeoIP',
    type: 'path',
    default: null,
    field: 'server.serviceAccess.geoIp',
    doc: "STON's attribute, but naming one MaxMind database file (`.mmdb`: GeoLite2/GeoIP2 Country or City), not a directory: the country `$GEO[KR]` (or STON's `$IP[KR]`) acl and header conditions look up. Read at load and on every reload (a replaced file takes effect on SIGHUP); a missing, unreadable or corrupt file is a config error, and so is a `$GEO` rule without this.",
  },
  {
    path: 'Server/Host/MaxRequestHeaderSize',
    type: 'size',
    default: '32K',
    unit: 'bytes',
    min: 4 * K,
    max: 1 * M,
    field: 'server.maxRequestHeaderBytes',
    doc: "Flint's own: largest request head (request line, headers and the blank line) a service port accepts; larger gets 431, as do more than 98 headers. Each connection may buffer this much while its head arrives. Read at start (uWS's UWS_HTTP_MAX_HEADERS_SIZE): a change needs a restart.",
  },
  // ---- HTTPS connections (node:http2 engine, issue 18 §4); read at start
  {
    path: 'Server/Host/Http2/MaxConcurrentStreams',
    type: 'int',
    default: '100',
    min: 1,
    max: 1000,
    field: 'server.http2.maxConcurrentStreams',
    doc: "Flint's own: HTTP/2 streams one client connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). Start-only.",
  },
  {
    path: 'Server/Host/Http2/InitialWindowSize',
    type: 'size',
    default: '1M',
    unit: 'bytes',
    min: 65535,
    max: 2147483647,
    field: 'server.http2.initialWindowSize',
    doc: "Flint's own: HTTP/2 flow-control window Flint grants per stream for request bodies (SETTINGS_INITIAL_WINDOW_SIZE). Start-only.",
  },
  {
    path: 'Server/Host/Http2/IdleTimeout',
    type: 'seconds',
    default: '120',
    unit: 's',
    min: 1,
    max: 3600,
    field: 'server.http2.idleTimeoutMs',
    doc: "Flint's own: an HTTPS connection (HTTP/2 or HTTP/1.x) with no traffic for this long is closed (HTTP/2: GOAWAY). Start-only.",
  },
  // ---- client limits (issue 20): connections and request heads
  {
    path: 'Server/Host/MaxSockets',
    type: 'int',
    default: '80000',
    unit: 'connections',
    min: 0,
    max: 200000,
    field: 'server.clientLimits.maxSockets',
    doc: 'Client connections open at once on all service ports (HTTP and HTTPS); beyond it a new connection is closed as soon as it is accepted, until the count falls below Reopen. Each worker admits its share (MaxSockets / Workers). 0 = no limit.',
  },
  {
    path: 'Server/Host/MaxSockets@Reopen',
    type: 'int',
    default: '75',
    unit: '%',
    min: 1,
    max: 100,
    field: 'server.clientLimits.reopenPercent',
    doc: 'Once MaxSockets is reached, new connections are accepted again only when fewer than this percentage of it are open (STON).',
  },
  {
    path: 'Server/Host/RequestHeaderTimeout',
    type: 'seconds',
    default: '10',
    unit: 's',
    min: 1,
    max: 300,
    field: 'server.clientLimits.headerTimeoutMs',
    doc: "Flint's own: on HTTPS ports the TLS handshake, then each request head (counted from the handshake or the previous response), must be complete within this long, however slowly its bytes trickle in, or the connection is closed. Plain-HTTP ports use uWS's fixed 10 s instead (README Known limits). Start-only.",
  },
  // ---- server.xml: <Cache>
  {
    path: 'Server/Cache/Workers',
    type: 'int',
    default: '0',
    unit: 'processes',
    min: 0,
    max: 256,
    field: 'server.workers',
    doc: 'Worker processes serving traffic; 0 = one per CPU core.',
  },
  {
    path: 'Server/Cache/CpuAffinity',
    type: 'bool',
    default: 'ON',
    field: 'server.cpuAffinity',
    doc: 'Pin worker i to CPU i (taskset) so each worker keeps its core cache warm.',
  },
  {
    path: 'Server/Cache/ShutdownTimeout',
    type: 'seconds',
    default: '30',
    unit: 's',
    min: 0,
    max: 3600,
    field: 'server.shutdownTimeoutMs',
    doc: 'On SIGTERM, how long to wait for in-flight responses before exiting.',
  },
  {
    path: 'Server/Cache/Storage/Disk',
    type: 'path',
    default: ['var/cache'],
    repeated: true,
    field: 'server.storage.disks[].path',
    doc: 'Cache directory (index and block files); one element per disk; relative to the install directory.',
  },
  {
    path: 'Server/Cache/Storage/Disk@Quota',
    type: 'size',
    default: '0',
    unit: 'bytes',
    min: 0,
    field: 'server.storage.disks[].quotaBytes',
    doc: "Most bytes the cache may keep on this disk, at least one BlockSize; 0 = derived at start (logged): 90% of the space Flint can use on the disk's file system (its own files plus the free space), less a small reserve for the index. An object counts the slot of its body and 1 KiB for its index records, so bodiless objects (cached 404s, redirects) count too; the slots of all sizes the block files ever held stay within it too.",
  },
  {
    path: 'Server/Cache/Storage/InlineMaxSize',
    type: 'size',
    default: '1K',
    unit: 'bytes',
    min: 0,
    max: 1 * M,
    field: 'server.storage.inlineMaxBytes',
    doc: "Flint's own: bodies up to this size are kept inside their index record (one read, no block); 0 = every body goes to the block files. A record over about 2 KiB spills into LMDB overflow pages, which get costly when the cache is full and evicting (see bench/README.md, zipf).",
  },
  {
    path: 'Server/Cache/Storage/HighWater',
    type: 'int',
    default: '90',
    unit: '% of Quota',
    min: 1,
    max: 100,
    field: 'server.storage.highWaterPercent',
    doc: 'Eviction starts when the cache holds more than this share of its Quota on a disk (counting its own bytes, never the file system usage). Must be above LowWater.',
  },
  {
    path: 'Server/Cache/Storage/LowWater',
    type: 'int',
    default: '70',
    unit: '% of Quota',
    min: 0,
    max: 99,
    field: 'server.storage.lowWaterPercent',
    doc: 'Eviction stops once the disk is back below this share of its Quota, so it runs in batches, not per object (STON frees about 20%).',
  },
  {
    path: 'Server/Cache/BlockSize',
    type: 'size',
    default: '1M',
    unit: 'bytes',
    min: 64 * K,
    max: 64 * M,
    powerOfTwo: true,
    field: 'server.storage.blockSizeBytes',
    doc: 'Size of one block of the block files that hold object bodies. A body of at most 3/4 of a block is stored whole in the smallest slot that holds it of BlockSize/2, /4, /8 ... and 3/4, 3/8, 3/16 ... of BlockSize (whole pages, at least 4 KiB), and counts that slot against the Quota.',
  },
  {
    path: 'Server/Cache/ContentMemoryRatio',
    type: 'int',
    default: '5',
    unit: '% of system memory',
    min: 0,
    max: 80,
    field: 'server.memory.contentMemoryPercent',
    doc: 'Memory for content kept ready to send, shared equally by the workers, each using half of its share for whole bodies up to HotObjectMaxSize (the hot tier) and half for blocks of larger bodies read more than once; 0 = neither. STON defaults to 50.',
  },
  {
    path: 'Server/Cache/HotObjectMaxSize',
    type: 'size',
    default: '1M',
    unit: 'bytes',
    min: 0,
    max: 16 * M,
    field: 'server.memory.hotObjectMaxBytes',
    doc: "Flint's own: only bodies up to this size enter the hot tier (ContentMemoryRatio), whole, on their first hit (read before the first byte is sent); larger ones are kept by block from the second read of a block. Served from memory, a 1 MiB hit costs about three quarters of the CPU of one read from the block files (bench/README.md).",
  },
  // ---- config history (ops-purge)
  {
    path: 'Server/Cache/ConfigHistory',
    type: 'int',
    default: '30',
    unit: 'snapshots',
    min: 0,
    max: 10000,
    field: 'server.configHistory.keep',
    doc: 'Every applied config (start, reload, restore) is kept as a snapshot (time + hash) for /conf/history and /conf/restore; this many are kept. 0 = none.',
  },
  {
    path: 'Server/Cache/ConfigHistory@Dir',
    type: 'path',
    default: null,
    field: 'server.configHistory.dir',
    doc: "Flint's own: directory of the config snapshots; relative to the install directory. Absent = history/ inside the conf directory.",
  },
  // ---- server.xml: <Cluster> (the fleet on NATS JetStream; src/fleet/)
  {
    path: 'Server/Cluster/Nats',
    type: 'bool',
    default: 'OFF',
    field: 'server.cluster',
    doc: "Flint's own: ON joins the fleet on the NATS servers of Url (fleet purge, config push, fleet stats). OFF or no <Cluster> = a standalone edge that never loads the NATS client.",
  },
  {
    path: 'Server/Cluster/Nats@Url',
    type: 'nats-urls',
    default: 'nats://127.0.0.1:4222',
    field: 'server.cluster.urls',
    doc: "Flint's own: the NATS servers (with JetStream), separated by commas or spaces; the client moves between them and reconnects by itself.",
  },
  {
    path: 'Server/Cluster/NodeName',
    type: 'fleet-name',
    default: null,
    field: 'server.cluster.nodeName',
    doc: "Flint's own: this edge's name in the fleet (its durable purge consumer, its status and its answers). Absent = the host name's first label. Must be unique in the fleet.",
  },
  {
    path: 'Server/Cluster/Group',
    type: 'fleet-name',
    default: null,
    field: 'server.cluster.group',
    doc: "Flint's own: the edge's group; `flint fleet ... --group G` reaches only the edges of G. Absent = no group (reached only by fleet-wide commands).",
  },
  {
    path: 'Server/Cluster/PurgeRetention',
    type: 'whole-seconds',
    default: '86400',
    unit: 'seconds',
    min: 60,
    max: 31536000,
    field: 'server.cluster.purgeRetentionSec',
    doc: "Flint's own: how long fleet purges stay in the JetStream stream for edges that were down, and how long an edge may be away before its durable consumer (its place in the fleet) is dropped.",
  },
  {
    path: 'Server/Cluster/Wait',
    type: 'seconds',
    default: '5',
    unit: 'seconds',
    min: 0.1,
    max: 120,
    field: 'server.cluster.waitMs',
    doc: "Flint's own: default time a fleet command waits for the edges' answers (`--wait`), and how long start-up waits for NATS before serving without it.",
  },
  // ---- DIMS execution limits per worker (issue 21)
  {
    path: 'Server/Cache/Dims@Concurrency',
    type: 'int',
    default: '2',
    unit: 'conversions',
    min: 1,
    max: 64,
    field: 'server.dims.concurrency',
    doc: "Flint's own: DIMS conversions one worker runs at once. They run in the worker's converter process (a child at a lower CPU priority, with a libuv pool of Concurrency + 1 threads), so hits keep the worker's event loop and pool, and a crashing decoder takes down only the converter.",
  },
  {
    path: 'Server/Cache/Dims@Queue',
    type: 'int',
    default: '32',
    unit: 'conversions',
    min: 0,
    max: 10000,
    field: 'server.dims.queueLimit',
    doc: "Flint's own: DIMS conversions that may wait per worker; a request for a new variant beyond that gets 503 with Retry-After (cached variants are still served).",
  },
  {
    path: 'Server/Cache/Dims@Timeout',
    type: 'seconds',
    default: '10',
    min: 0.1,
    max: 300,
    field: 'server.dims.timeoutMs',
    doc: "Flint's own: time limit of one DIMS conversion, queueing included; past it the original is served (and the conversion is not retried for that object by this worker).",
  },
  // ---- vhosts.xml: <Vhosts>
  {
    path: 'Vhosts/Default',
    type: 'vhost-ref',
    default: null,
    field: 'defaultVhost',
    doc: 'Name of the vhost that serves requests whose Host matches no vhost. Absent = such requests get 404.',
  },
  {
    path: 'Vhosts/URLRewrite@AccessLog',
    type: 'enum',
    values: ['Replace'],
    default: 'Replace',
    field: 'urlRewrites',
    doc: "STON: one `<URLRewrite>` per rule, tried in order before the vhost is chosen; the first whose Pattern matches `host/path?query` (host lower-case without port, path normalised) replaces the URL by Replace, which may name another vhost's host. The access log's URL fields show the rewritten URL and `x-cs-original-url` (json `originalUrl`, `%W`) the client's; STON's `Pattern` value (log the original in the URL fields) is not supported. A result over 8192 characters is refused with 414, one that is not `host/path` with 400 (FLINT_ERR_CLIENT_REWRITE).",
  },
  {
    path: 'Vhosts/URLRewrite/Pattern',
    type: 'string',
    default: null,
    field: 'urlRewrites[].pattern',
    doc: 'A JavaScript regular expression (up to 1024 characters), unanchored unless it starts with `^` (so `^img\\.example\\.com/` and not `img.example.com/`, which also matches myimg.example.com). Run in V8\'s linear-time engine: no URL can make it backtrack catastrophically, and backreferences (`\\1`) and lookarounds are config errors. A pattern anchored on a literal host (`^www\\.a\\.com/`) is only tried for that host; other patterns are tried on every request whose URL holds their leading literal text. A run costs a few µs (that engine is slower than the backtracking one), paid once per URL: each worker keeps the last 16,384 decisions, so hosts without rules pay nothing and a URL seen before a Map lookup.',
  },
  {
    path: 'Vhosts/URLRewrite/Replace',
    type: 'string',
    default: null,
    field: 'urlRewrites[].replace',
    doc: 'The new `host/path?query`: URL text with `#1`..`#9` (capture groups) and `#0` (the whole input); a `#n` the pattern has no group for, `#10` or any other `#` is a config error.',
  },
  {
    path: 'Vhost@Name',
    type: 'host-name',
    default: null,
    required: true,
    field: 'vhosts[].name',
    doc: 'The vhost\'s host name, matched against the Host header (case-insensitive). Unique across vhosts.',
  },
  {
    path: 'Vhost/Alias',
    type: 'alias',
    default: [],
    repeated: true,
    field: 'vhosts[].aliases',
    doc: 'Another host name of this vhost: exact, or `*.suffix` for every subdomain. Lookup: Name, exact Alias, wildcard Alias.',
  },
  {
    path: 'Vhost/Listen',
    type: 'listen',
    default: ['*:80'],
    repeated: true,
    inherit: true,
    field: 'vhosts[].listen',
    doc: 'Address the vhost is served on; one element per address. Vhosts may share one (told apart by Host).',
  },
  // ---- HTTPS termination (issue 18 §3): tls/; certificates are read and checked when the config loads
  {
    path: 'Vhost/Https@Listen',
    type: 'listen',
    default: null,
    inherit: true,
    field: 'vhosts[].https.listen',
    doc: 'Address the vhost is served on over TLS (HTTP/2 and HTTP/1.x). Vhosts may share one: the SNI name picks the certificate, the Host header the vhost. Needs <Cert> and <Key>.',
  },
  {
    path: 'Vhost/Https/Cert',
    type: 'path',
    default: null,
    inherit: true,
    field: 'vhosts[].https.certPath',
    doc: 'PEM certificate file, chain included. Missing, unreadable, not matching <Key> or expired: a config error; expiring within 14 days: a warning and /stats `tls`.',
  },
  {
    path: 'Vhost/Https/Key',
    type: 'path',
    default: null,
    inherit: true,
    field: 'vhosts[].https.keyPath',
    doc: 'PEM private key of <Cert> (unencrypted).',
  },
  {
    path: 'Vhost/Https@Engine',
    type: 'enum',
    default: 'node',
    values: HTTPS_ENGINES,
    inherit: true,
    field: 'vhosts[].https.engine',
    doc:
      "What serves this Https Listen. `node` (node:http2): HTTP/2 and HTTP/1.x by ALPN, HTTP/1.0, MinVersion/MaxVersion/Ciphers, the access log's TLS fields. `uws` (uWS's SSLApp, one listen socket per worker): HTTP/1.1 only, about half the CPU per TLS request; no HTTP/2 (no ALPN: h2 clients fall back to HTTP/1.1), HTTP/1.0 gets uWS's 505, no MinVersion/MaxVersion/Ciphers (TLS 1.2 and 1.3, OpenSSL's default suites), `tlsProtocol`/`tlsCipher` logged as `-`, <Http2> does not apply (uWS's own 10 s idle timeout). Vhosts sharing one Https Listen must agree on it; changing it needs a restart.",
  },
  {
    path: 'Vhost/Https@MinVersion',
    type: 'enum',
    default: 'TLSv1.2',
    values: TLS_VERSIONS,
    inherit: true,
    field: 'vhosts[].https.minVersion',
    doc: 'Oldest TLS version accepted. Vhosts sharing one Https Listen must agree on it.',
  },
  {
    path: 'Vhost/Https@MaxVersion',
    type: 'enum',
    default: 'TLSv1.3',
    values: TLS_VERSIONS,
    inherit: true,
    field: 'vhosts[].https.maxVersion',
    doc: 'Newest TLS version accepted. Vhosts sharing one Https Listen must agree on it.',
  },
  {
    path: 'Vhost/Https@Ciphers',
    type: 'string',
    default: null,
    inherit: true,
    field: 'vhosts[].https.ciphers',
    doc: "OpenSSL cipher list (TLS 1.2 suites and TLS 1.3 suite names); absent = Node's default list. Vhosts sharing one Https Listen must agree on it.",
  },
  {
    path: 'Vhost/Https/Hsts',
    type: 'whole-seconds',
    default: null,
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    inherit: true,
    field: 'vhosts[].https.hsts',
    doc: 'Sends `Strict-Transport-Security: max-age=<value>` on responses over TLS; absent = no header.',
  },
  {
    path: 'Vhost/Https/Hsts@IncludeSubDomains',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].https.hsts',
    doc: 'Adds `; includeSubDomains` to the HSTS header.',
  },
  {
    path: 'Vhost/RedirectHttpToHttps@ResCode',
    type: 'enum',
    default: '301',
    values: ['301', '302', '307', '308'],
    inherit: true,
    field: 'vhosts[].redirectHttpToHttps',
    doc: 'With the element present, plain-HTTP requests get this redirect to the same URL on the vhost\'s Https Listen. Needs <Https>.',
  },
  {
    path: 'Vhost/Origin/Address',
    type: 'origin-address',
    default: null,
    repeated: true,
    required: true,
    field: 'vhosts[].origins',
    doc: 'Origin server: `host[:port][/path/prefix]` (port 80 when omitted); one element per address.',
  },
  // ---- <OriginOptions> (VHostDefault, overridden per vhost)
  {
    path: 'Vhost/OriginOptions/ConnectTimeout',
    type: 'seconds',
    default: '3',
    unit: 's',
    min: 0.001,
    max: 300,
    inherit: true,
    field: 'vhosts[].originOptions.connectTimeoutMs',
    doc: 'TCP connect to the origin; exceeded = 504.',
  },
  {
    path: 'Vhost/OriginOptions/ReceiveTimeout',
    type: 'seconds',
    default: '10',
    unit: 's',
    min: 0.001,
    max: 3600,
    inherit: true,
    field: 'vhosts[].originOptions.receiveTimeoutMs',
    doc: 'Longest wait for the origin\'s response headers and between body chunks; exceeded = 504.',
  },
  {
    path: 'Vhost/OriginOptions/ReuseTimeout',
    type: 'seconds',
    default: '60',
    unit: 's',
    min: 0.001,
    max: 3600,
    inherit: true,
    field: 'vhosts[].originOptions.reuseTimeoutMs',
    doc: 'Idle keep-alive connections to the origin are closed after this.',
  },
  {
    path: 'Vhost/OriginOptions/MaxConnections',
    type: 'int',
    default: '128',
    unit: 'connections',
    min: 1,
    max: 65535,
    inherit: true,
    field: 'vhosts[].originOptions.maxConnections',
    doc: "Flint's own: most connections per origin address per worker.",
  },
  {
    path: 'Vhost/OriginOptions/BalanceMode',
    type: 'enum',
    default: 'RoundRobin',
    values: BALANCE_MODES,
    inherit: true,
    field: 'vhosts[].originOptions.balanceMode',
    doc: 'How requests are spread over the origin addresses.',
  },
  {
    path: 'Vhost/OriginOptions/Host',
    type: 'string',
    default: '*',
    inherit: true,
    field: 'vhosts[].originOptions.hostHeader',
    doc: 'Host header sent to the origin; `*` = the vhost\'s Name, whatever Host the client sent (the cache key holds the Name, so an answer built from Host is right for every client).',
  },
  {
    path: 'Vhost/OriginOptions/UserAgent',
    type: 'string',
    default: '*',
    inherit: true,
    field: 'vhosts[].originOptions.userAgent',
    doc: 'User-Agent sent to the origin; `*` = the client\'s User-Agent.',
  },
  {
    path: 'Vhost/OriginOptions/XFFClientIPOnly',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].originOptions.xffClientIpOnly',
    doc: 'ON: X-Forwarded-For sent to the origin is only the client IP; OFF: the client IP is appended to it.',
  },
  // ---- Origin health (STON <Exclusion>, <Recovery>, <Origin><HealthChecker>): judged in the primary, pushed to workers
  {
    path: 'Vhost/OriginOptions/Exclusion',
    type: 'int',
    default: '3',
    unit: 'failures',
    min: 0,
    max: 1000,
    inherit: true,
    field: 'vhosts[].originOptions.exclusion',
    doc: "Consecutive failures of one origin member that exclude it: connect failures, resets and timeouts of the origin, and statuses ResCode lists; a request Flint or undici refused before sending never counts; an answer resets the count; 0 = never exclude.",
  },
  {
    path: 'Vhost/OriginOptions/Exclusion@All',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].originOptions.exclusionAll',
    doc: "OFF: the vhost's last active member is never excluded by failures (nginx never takes its only server out); ON: every member may be, and with all of them out a miss tries one member once per Recovery Cycle.",
  },
  {
    path: 'Vhost/OriginOptions/Exclusion@ResCode',
    type: 'status-set',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].originOptions.exclusionResCodes',
    doc: 'Origin statuses that count as failures toward Exclusion, e.g. `502,503,504`; OFF = an answer, whatever its status, is never a failure.',
  },
  {
    path: 'Vhost/OriginOptions/Recovery',
    type: 'int',
    default: '5',
    unit: 'probes',
    min: 0,
    max: 1000,
    inherit: true,
    field: 'vhosts[].originOptions.recovery.count',
    doc: 'Consecutive good recovery probes (every Cycle, to Uri) that re-admit an excluded member; 0 = an excluded member is never re-admitted.',
  },
  {
    path: 'Vhost/OriginOptions/Recovery@Cycle',
    type: 'seconds',
    default: '10',
    unit: 's',
    min: 0.05,
    max: 3600,
    inherit: true,
    field: 'vhosts[].originOptions.recovery.cycleMs',
    doc: 'How often an excluded member is probed.',
  },
  {
    path: 'Vhost/OriginOptions/Recovery@Uri',
    type: 'probe-target',
    default: '/',
    inherit: true,
    field: 'vhosts[].originOptions.recovery.uri',
    doc: 'What a recovery probe GETs from the excluded member; a probe is judged on the status line (the body is not read).',
  },
  {
    path: 'Vhost/OriginOptions/Recovery@ResCode',
    type: 'status-list',
    default: '0',
    inherit: true,
    field: 'vhosts[].originOptions.recovery.resCodes',
    doc: 'Status codes that count as a good recovery probe, comma-separated; 0 = any response.',
  },
  {
    path: 'Vhost/OriginOptions/Recovery@Log',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].originOptions.recovery.log',
    doc: 'Log each failed recovery probe (event origin.probe_failed); state changes are always logged.',
  },
  {
    path: 'Vhost/Origin/HealthChecker',
    type: 'probe-target',
    default: [],
    repeated: true,
    field: 'vhosts[].healthCheckers[].target',
    doc: 'An active health check run against every member of the vhost: a path, or an http:// URL whose host is sent as Host; one element per check, each judged on its own.',
  },
  {
    path: 'Vhost/Origin/HealthChecker@ResCode',
    type: 'status-list',
    default: '0',
    field: 'vhosts[].healthCheckers[].resCodes',
    doc: 'Status codes that count as healthy, comma-separated; 0 = any response. The whole transaction (body included) must complete within Timeout.',
  },
  {
    path: 'Vhost/Origin/HealthChecker@Timeout',
    type: 'seconds',
    default: '10',
    unit: 's',
    min: 0.05,
    max: 300,
    field: 'vhosts[].healthCheckers[].timeoutMs',
    doc: 'Longest time one check may take, connect to last body byte; exceeded = a failed check.',
  },
  {
    path: 'Vhost/Origin/HealthChecker@Cycle',
    type: 'seconds',
    default: '10',
    unit: 's',
    min: 0.05,
    max: 3600,
    field: 'vhosts[].healthCheckers[].cycleMs',
    doc: 'How often each member is checked.',
  },
  {
    path: 'Vhost/Origin/HealthChecker@Exclusion',
    type: 'int',
    default: '3',
    unit: 'checks',
    min: 1,
    max: 1000,
    field: 'vhosts[].healthCheckers[].exclusion',
    doc: 'Consecutive failed checks that mark a member down.',
  },
  {
    path: 'Vhost/Origin/HealthChecker@Recovery',
    type: 'int',
    default: '5',
    unit: 'checks',
    min: 1,
    max: 1000,
    field: 'vhosts[].healthCheckers[].recovery',
    doc: 'Consecutive good checks that mark a member this checker put down up again.',
  },
  {
    path: 'Vhost/Origin/HealthChecker@Log',
    type: 'bool',
    default: 'ON',
    field: 'vhosts[].healthCheckers[].log',
    doc: 'Log each failed check (event origin.probe_failed); state changes are always logged.',
  },
  // ---- HTTPS to origins (issue 18 §5): per <Origin>, not inherited; used by requests, health checks and recovery probes
  {
    path: 'Vhost/Origin@Protocol',
    type: 'enum',
    default: 'HTTP',
    values: ['HTTP', 'HTTPS'],
    field: 'vhosts[].originOptions.tls',
    doc: 'HTTPS: origin connections use TLS (an `<Address>` without a port then means 443), with SNI = `<OriginOptions><Host>` when set, else the `<Address>` DNS name (none for an IP literal, which is checked against the IP).',
  },
  {
    path: 'Vhost/Origin/CA',
    type: 'path',
    default: null,
    field: 'vhosts[].originOptions.tls',
    doc: "PEM file of CA certificates trusted for this origin besides Node's bundled Mozilla roots; read at start and on each reload (a missing or unreadable file, or one with no valid certificate, is a config error). Absent = Node's default trust store (those roots, plus NODE_EXTRA_CA_CERTS).",
  },
  {
    path: 'Vhost/Origin/TlsVerify',
    type: 'bool',
    default: 'ON',
    field: 'vhosts[].originOptions.tls',
    doc: 'OFF accepts any origin certificate (no chain or name check): for tests only; logged as a warning at start and on each reload.',
  },
  // ---- Origin members, balancing and failover ("Origins" issue, origins-balance)
  {
    path: 'Vhost/Origin/Address2',
    type: 'origin-address',
    default: [],
    repeated: true,
    field: 'vhosts[].standbyOrigins',
    doc: 'Standby origin, used only while every `<Address>` member is down; same forms as `<Address>`; one element per address.',
  },
  {
    path: 'Vhost/OriginOptions/Retry',
    type: 'int',
    default: 'all',
    unit: 'retries',
    min: 0,
    max: 65535,
    inherit: true,
    field: 'vhosts[].originOptions.retries',
    doc: 'An origin transaction that never started (connect refused, failed or timed out) is retried on another member, this many times; `all` = every member once. The client never sees the failures that were retried.',
  },
  {
    path: 'Vhost/OriginOptions/DnsRefresh',
    type: 'seconds',
    default: '10',
    unit: 's',
    min: 1,
    max: 86400,
    inherit: true,
    field: 'vhosts[].originOptions.dnsRefreshMs',
    doc: "Flint's own: how often origin DNS names are re-resolved; every resolved address is a member. A failed or empty answer keeps the last good set.",
  },
  {
    path: 'Vhost/OriginOptions/BalanceHashRules/IgnoreSuffix',
    type: 'string',
    default: [],
    repeated: true,
    inherit: true,
    field: 'vhosts[].originOptions.hashIgnoreSuffixes',
    doc: 'BalanceMode Hash: the URL is hashed only up to the first occurrence of this text (`/dims/`, `?start=`), so every variant of an object goes to the same member; one element per suffix.',
  },
  {
    path: 'Vhost/OriginOptions/OriginAffinity',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].originOptions.originAffinity',
    doc: "Bypassed (not cached) requests of one client IP always go to the same member (STON's OriginAffinity/Sticky); they move only when that member is down. OFF: BalanceMode applies to them too.",
  },
  // ---- <Options> (VHostDefault, overridden per vhost)
  {
    path: 'Vhost/Options/ViaHeader',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.viaHeader',
    doc: 'Add `Via: 1.1 flint` to responses.',
  },
  {
    path: 'Vhost/Options/ServerHeader',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.serverHeader',
    doc: 'Pass the origin\'s Server and X-Powered-By headers through (ON) or drop them (OFF).',
  },
  {
    path: 'Vhost/Options/MaxRequestBodySize',
    type: 'size',
    default: '0',
    unit: 'bytes',
    min: 0,
    inherit: true,
    field: 'vhosts[].options.maxRequestBodyBytes',
    doc: "Flint's own: a request whose Content-Length is larger gets 413 before the origin is contacted (and a body that grows past it is cut off with 413); 0 = no limit.",
  },
  {
    path: 'Vhost/Options/Caching',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.caching',
    doc: "Flint's own: OFF passes every request of the vhost through to the origin without looking up or storing anything.",
  },
  {
    path: 'Vhost/Options/Admission',
    type: 'int',
    default: '1',
    min: 1,
    max: 100,
    inherit: true,
    field: 'vhosts[].options.admission.minUses',
    doc: "Flint's own admission filter against one-hit wonders (nginx's proxy_cache_min_uses): a new object is stored on its Nth request within Window seconds, counted across all workers; until then it is fetched for the requests that ask for it (concurrent ones still share one origin request) and not stored. A fill that other requests follow is stored at once. 1 = every storable response is stored. Worth setting to 2 when the cache is much smaller than what its clients ask for: it keeps objects asked for once from pushing out the ones asked for again (bench/README.md, zipf).",
  },
  {
    path: 'Vhost/Options/Admission@Window',
    type: 'whole-seconds',
    default: '600',
    unit: 's',
    min: 1,
    max: 86400,
    inherit: true,
    field: 'vhosts[].options.admission.windowSec',
    doc: 'How long the admission filter remembers the requests for an object it has not stored; each object counted keeps a record of about 100 bytes in the index until its window ends.',
  },
  // <Options><TTL>: STON's TTL policy on top of RFC 9111. Defaults of 0 keep RFC behaviour (STON ships 1800/5/300/30/30).
  {
    path: 'Vhost/Options/TTL@Priority',
    type: 'enum',
    default: 'origin',
    values: TTL_PRIORITIES,
    inherit: true,
    field: 'vhosts[].options.ttl.priority',
    doc: "origin: the origin's freshness (Cache-Control max-age/s-maxage, Expires) wins and the TTLs below fill in only where it gives none (RFC 9111); config: the TTLs below override it. STON's ordered list is not supported.",
  },
  {
    path: 'Vhost/Options/TTL/Res2xx',
    type: 'whole-seconds',
    default: '0',
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    inherit: true,
    field: 'vhosts[].options.ttl.res2xxSec',
    doc: "TTL of cacheable 2xx responses without explicit freshness; 0 = RFC 9111: heuristic freshness from Last-Modified (HeuristicPercent), else revalidate every time.",
  },
  {
    path: 'Vhost/Options/TTL/Res2xx@Ratio',
    type: 'int',
    default: '0',
    unit: '%',
    min: 0,
    max: 1000,
    inherit: true,
    field: 'vhosts[].options.ttl.res2xxRatioPercent',
    doc: "STON's adaptive TTL: each 304 from the origin grows the object's TTL by this percent, up to Max; 0 = the TTL never grows.",
  },
  {
    path: 'Vhost/Options/TTL/Res2xx@Max',
    type: 'whole-seconds',
    default: '86400',
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    inherit: true,
    field: 'vhosts[].options.ttl.res2xxMaxSec',
    doc: "Cap of the TTL grown by Ratio.",
  },
  {
    path: 'Vhost/Options/TTL/NoCache',
    type: 'whole-seconds',
    default: '0',
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    inherit: true,
    field: 'vhosts[].options.ttl.noCacheSec',
    doc: "TTL of responses with `Cache-Control: no-cache`; 0 = RFC 9111: revalidate with the origin on every request.",
  },
  {
    path: 'Vhost/Options/TTL/Res3xx',
    type: 'whole-seconds',
    default: '0',
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    inherit: true,
    field: 'vhosts[].options.ttl.res3xxSec',
    doc: "TTL of 3xx responses without explicit freshness; 0 = RFC 9111: only those cacheable by default (300, 301, 308) get heuristic freshness.",
  },
  {
    path: 'Vhost/Options/TTL/Res4xx',
    type: 'whole-seconds',
    default: '0',
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    inherit: true,
    field: 'vhosts[].options.ttl.res4xxSec',
    doc: "Negative caching: TTL of 4xx responses without explicit freshness, to shield the origin; 0 = none beyond what RFC 9111 allows.",
  },
  {
    path: 'Vhost/Options/TTL/Res5xx',
    type: 'whole-seconds',
    default: '0',
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    inherit: true,
    field: 'vhosts[].options.ttl.res5xxSec',
    doc: "Negative caching: TTL of 5xx responses without explicit freshness, to shield a failing origin; 0 = none beyond what RFC 9111 allows.",
  },
  {
    path: 'Vhost/Options/TTL/HeuristicPercent',
    type: 'int',
    default: '10',
    unit: '%',
    min: 0,
    max: 100,
    inherit: true,
    field: 'vhosts[].options.ttl.heuristicPercent',
    doc: "Flint's own: heuristic freshness of a response with Last-Modified but no explicit freshness = this percent of (Date - Last-Modified), as RFC 9111 §4.2.2 suggests; 0 = no heuristic freshness.",
  },
  {
    path: 'Vhost/Options/TTL/HeuristicMax',
    type: 'whole-seconds',
    default: '86400',
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    inherit: true,
    field: 'vhosts[].options.ttl.heuristicMaxSec',
    doc: "Flint's own: cap of heuristic freshness (a day: beyond it RFC 7234 asked caches to add Warning 113).",
  },
  {
    path: 'Vhost/Options/TTL/ConnectTimeout',
    type: 'whole-seconds',
    default: '3',
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    inherit: true,
    field: 'vhosts[].options.ttl.errorExtensionSec',
    doc: "STON's name, not a timeout: how long a stale object's TTL is extended when the origin fails on revalidation (see TTLExtensionBy5xx, TTLExtensionByFail).",
  },
  {
    path: 'Vhost/Options/TTLExtensionBy5xx',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.ttlExtensionBy5xx',
    doc: "A 5xx from the origin on revalidation is treated like a 304: the stale copy is served and its TTL extended (TTL/ConnectTimeout).",
  },
  {
    path: 'Vhost/Options/TTLExtensionByFail',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.ttlExtensionByFail',
    doc: "A failed connect or receive on revalidation is treated like a 304: the stale copy is served and its TTL extended (TTL/ConnectTimeout).",
  },
  {
    path: 'Vhost/Options/RefreshExpired',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.refreshExpired',
    doc: "ON: the client waits while a stale object is revalidated; OFF: it gets the stale copy at once and the object is refreshed in the background (STON's smooth replacement).",
  },
  {
    path: 'Vhost/Options/AgeHeader',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.ageHeader',
    doc: "Send `Age` on responses served from the cache, as RFC 9111 §5.1 requires; OFF only for clients that mishandle it.",
  },
  // ---- Cache semantics hardening (issue 19): cookies, RFC 9213 targeted fields, invalidation, must-revalidate.
  {
    path: 'Vhost/Options/SetCookie',
    type: 'enum',
    default: 'pass',
    values: SET_COOKIE_MODES,
    inherit: true,
    field: 'vhosts[].options.setCookie',
    doc: "pass: a response with Set-Cookie goes to its client intact and is not stored (nginx, Varnish); strip: it is stored without Set-Cookie (STON), and only the client that caused the fill gets the cookie.",
  },
  {
    path: 'Vhost/Options/CookieRequest',
    type: 'enum',
    default: 'explicit',
    values: COOKIE_REQUEST_MODES,
    inherit: true,
    field: 'vhosts[].options.cookieRequest',
    doc: "explicit: a response to a request with Cookie is stored only when the origin marks it `public` or `s-maxage`, or a TTL rule or a `cache` bypass rule matches (other requests still store it; no hit-for-pass); any: cookies do not matter.",
  },
  {
    path: 'Vhost/Options/TargetedCacheControl',
    type: 'name-list',
    default: 'Flint-CDN-Cache-Control, CDN-Cache-Control',
    inherit: true,
    field: 'vhosts[].options.targetedCacheControl',
    doc: "RFC 9213 target list, most specific first: the first of these response fields with a valid value replaces Cache-Control and Expires for Flint's storage decisions; all of them are left out of stored copies. OFF = none.",
  },
  // ---- Cache tags (issue 24): origins label objects; /command/purge?tag= reaches every object with the tag.
  {
    path: 'Vhost/Options/CacheTag',
    type: 'name-list',
    default: 'Surrogate-Key, Cache-Tag',
    inherit: true,
    field: 'vhosts[].options.cacheTag.fields',
    doc: "Response fields whose values tag the stored object (tags separated by spaces or commas, as Surrogate-Key and Cache-Tag write them), for /command/purge?tag=. A tag is visible ASCII other than `,` and `\"`; a tag with other bytes, a longer one, and those past @Max are dropped and counted (flint_tags_dropped_total). OFF = no tags.",
  },
  {
    path: 'Vhost/Options/CacheTag@Strip',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.cacheTag.strip',
    doc: 'ON: the tag fields are removed before the client (and from stored copies); OFF: forwarded and stored as the origin sent them.',
  },
  {
    path: 'Vhost/Options/CacheTag@Max',
    type: 'int',
    default: '64',
    min: 1,
    max: 1024,
    inherit: true,
    field: 'vhosts[].options.cacheTag.max',
    doc: 'Tags kept per object (the first ones, duplicates counted once); each costs one entry of about 100 bytes in the index.',
  },
  {
    path: 'Vhost/Options/CacheTag@MaxLength',
    type: 'int',
    default: '128',
    unit: 'bytes',
    min: 1,
    max: 1024,
    inherit: true,
    field: 'vhosts[].options.cacheTag.maxLength',
    doc: 'Longest tag kept; a longer one is dropped (not cut, which could merge two tags).',
  },
  {
    path: 'Vhost/Options/UnsafeInvalidation',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.unsafeInvalidation',
    doc: "ON: a 2xx/3xx answer to POST, PUT, DELETE or PATCH evicts its URL and the same-host Location/Content-Location (RFC 9111 §4.4); OFF: it evicts nothing (clients cannot empty the cache by posting).",
  },
  {
    path: 'Vhost/Options/ViolateMustRevalidate',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].options.violateMustRevalidate',
    doc: "Violates RFC 9111 §4.2.4: ON lets TTLExtensionBy5xx/ByFail serve a stale response that has must-revalidate, proxy-revalidate or s-maxage when the origin fails; OFF: such a request gets 504 (or the origin's 5xx).",
  },
  // ---- Bypass defaults and cache key options (STON bypass.html, caching_policy.html); rules follow below.
  {
    path: 'Vhost/Options/BypassPostRequest',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.bypassPostRequest',
    doc: 'POST requests pass to the origin without caching. Must stay ON: Flint does not cache POST (STON <PostRequest> is not implemented).',
  },
  {
    path: 'Vhost/Options/BypassGetRequest',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].options.bypassGetRequest',
    doc: 'ON: every GET/HEAD passes to the origin without caching, except where a bypass rule says `cache`.',
  },
  {
    path: 'Vhost/Options/BypassNoCacheRequest',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].options.bypassNoCacheRequest',
    doc: 'ON: a request with `Cache-Control: no-cache` or `Pragma: no-cache` passes to the origin without touching the cache (checked before the bypass rules); OFF: it revalidates the cached copy (RFC 9111).',
  },
  {
    path: 'Vhost/Options/CaseSensitive',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.caseSensitive',
    doc: 'OFF: URL paths are lower-cased for the cache key and matched case-insensitively by rules, so /A.jpg and /a.jpg are one object (the origin still gets the path as sent).',
  },
  {
    path: 'Vhost/Options/RuleCaseSensitive',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].options.ruleCaseSensitive',
    doc: 'OFF: URL patterns of TTL, bypass and query-string rules match whatever the case, so /ADMIN/x cannot escape a /admin/* bypass rule on a case-insensitive origin; ON (with CaseSensitive ON): they match case-sensitively.',
  },
  {
    path: 'Vhost/Options/ApplyQueryString',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.applyQueryString',
    doc: 'ON: the query string is part of the cache key; OFF: it is ignored, so /a?x=1 and /a?x=2 are one object (the origin gets the first requester\'s query). QueryStringRules override it per URL.',
  },
  {
    path: 'Vhost/Options/ApplyQueryString@Collective',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].options.queryCollective',
    doc: "ON (STON's Collective): a purge, expire or hardpurge of a URL without a query string also reaches every query-string variant of it (`/a` purges `/a?x=1` and `/a?y=2`).",
  },
  {
    path: 'Vhost/Options/ApplyQueryString@Keep',
    type: 'name-list',
    default: null,
    inherit: true,
    field: 'vhosts[].options.queryStringKeep',
    doc: 'With ApplyQueryString ON: only these query keys go into the cache key (the others are dropped from it). Absent = every key.',
  },
  {
    path: 'Vhost/Options/ApplyQueryString@Drop',
    type: 'name-list',
    default: null,
    inherit: true,
    field: 'vhosts[].options.queryStringDrop',
    doc: 'With ApplyQueryString ON: these query keys are left out of the cache key (cache busters like `_` or `ts`). Not together with Keep.',
  },
  {
    path: 'Vhost/Options/VaryHeader',
    type: 'vary-list',
    default: '*',
    inherit: true,
    field: 'vhosts[].options.varyHeaders',
    doc: 'Which names of an origin Vary header make separate variants: `*` = all (RFC 9111), a list = only those (others are ignored, as STON does; so is `Vary: *`), OFF = none (one object per URL).',
  },
  // ---- Rules (per vhost, not inherited). Inline XML here, then svc/<vhost>/ttl.txt, bypass.txt, querystring.txt.
  {
    path: 'Vhost/TTLRules/Rule',
    type: 'whole-seconds',
    default: [],
    unit: 's',
    min: 0,
    max: DELTA_SECONDS_MAX,
    repeated: true,
    field: 'vhosts[].rules.ttl[].ttlSec',
    doc: "A TTL rule (STON ttl.txt `$URL[*.jpg] & $ORGSTATUS[200], 3600`): a storable response whose URL and status match is kept this long, overriding the origin's max-age/Expires and the TTL class defaults (not no-store, private or no-cache). First match wins.",
  },
  {
    path: 'Vhost/TTLRules/Rule@Url',
    type: 'url-glob',
    default: null,
    field: 'vhosts[].rules.ttl[].url',
    doc: 'URL pattern of the TTL rule; absent = every URL.',
  },
  {
    path: 'Vhost/TTLRules/Rule@Status',
    type: 'status-match',
    default: null,
    field: 'vhosts[].rules.ttl[].status',
    doc: 'Origin statuses the TTL rule applies to (304 is not accepted); absent = any status.',
  },
  {
    path: 'Vhost/BypassRules/Rule',
    type: 'enum',
    default: [],
    values: ['bypass', 'cache', 'invert'],
    repeated: true,
    field: 'vhosts[].rules.bypass[].action',
    doc: "A bypass rule (STON bypass.txt): when all its conditions hold, `bypass` passes the request to the origin without caching, `cache` sends a GET/HEAD through the cache, `invert` turns the method's default around. Checked after BypassNoCacheRequest; first match wins.",
  },
  {
    path: 'Vhost/BypassRules/Rule@Method',
    type: 'token',
    default: null,
    field: 'vhosts[].rules.bypass[].method',
    doc: 'Condition: the request method (any case); absent = any method.',
  },
  {
    path: 'Vhost/BypassRules/Rule@Url',
    type: 'url-glob',
    default: null,
    field: 'vhosts[].rules.bypass[].url',
    doc: 'Condition: the URL pattern; absent = any URL.',
  },
  {
    path: 'Vhost/BypassRules/Rule@Header',
    type: 'string',
    default: null,
    field: 'vhosts[].rules.bypass[].header',
    doc: 'Condition: `Name` (the request has that header) or `Name: value` (its value matches; `*` = any run of characters).',
  },
  {
    path: 'Vhost/BypassRules/Rule@Cookie',
    type: 'string',
    default: null,
    field: 'vhosts[].rules.bypass[].cookie',
    doc: 'Condition: `name` (the request carries that cookie) or `name=value` (its value matches; `*` = any run of characters).',
  },
  {
    path: 'Vhost/BypassRules/Rule@ClientIp',
    type: 'ip-or-cidr',
    default: null,
    field: 'vhosts[].rules.bypass[].clientIp',
    doc: 'Condition: the client address is this address or inside this CIDR range.',
  },
  {
    path: 'Vhost/QueryStringRules/Rule',
    type: 'enum',
    default: [],
    values: ['apply', 'ignore'],
    repeated: true,
    field: 'vhosts[].rules.queryString[].mode',
    doc: 'A query-string rule (STON querystring.txt): for matching URLs, `apply` puts the whole query in the cache key, `ignore` none of it; with Keep or Drop, no text. Empty = the opposite of ApplyQueryString. First match wins.',
  },
  {
    path: 'Vhost/QueryStringRules/Rule@Url',
    type: 'url-glob',
    default: null,
    field: 'vhosts[].rules.queryString[].url',
    doc: 'URL pattern of the query-string rule; required.',
  },
  {
    path: 'Vhost/QueryStringRules/Rule@Keep',
    type: 'name-list',
    default: null,
    field: 'vhosts[].rules.queryString[].keys',
    doc: 'Only these query keys go into the cache key of matching URLs.',
  },
  {
    path: 'Vhost/QueryStringRules/Rule@Drop',
    type: 'name-list',
    default: null,
    field: 'vhosts[].rules.queryString[].keys',
    doc: 'These query keys are left out of the cache key of matching URLs.',
  },
  {
    path: 'Vhost/MatchingList',
    type: 'string',
    default: [],
    repeated: true,
    field: 'vhosts[].rules',
    doc: "STON's embedded rule list (v2.11 vhost API): the lines of a ttl.txt, bypass.txt, querystring.txt, acl.txt, headers.txt or compression.txt (Target), usually in a CDATA section; read after the <Rule> elements and before the svc/<vhost>/ files. Any other svc/<vhost>/*.txt file and any line Flint cannot parse is a config error.",
  },
  {
    path: 'Vhost/MatchingList@Target',
    type: 'enum',
    default: null,
    values: ['ttl', 'bypass', 'querystring', 'acl', 'headers', 'compression'],
    field: 'vhosts[].rules',
    doc: 'Which list the MatchingList holds; required.',
  },
  {
    path: 'Vhost/Options/MatchingList',
    type: 'string',
    default: [],
    repeated: true,
    field: 'vhosts[].rules',
    doc: 'The same list as Vhost/MatchingList, written inside <Options> (issue 20 form); read after the Vhost-level ones.',
  },
  {
    path: 'Vhost/Options/MatchingList@Target',
    type: 'enum',
    default: null,
    values: ['ttl', 'bypass', 'querystring', 'acl', 'headers', 'compression'],
    field: 'vhosts[].rules',
    doc: 'Which list the MatchingList holds; required.',
  },
  // ---- edge policy: access control (acl)
  {
    path: 'Vhost/Options/AccessControl',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].options.accessControl.enabled',
    doc: 'STON: ON enforces the acl rules (acl.txt or MatchingList Target="acl": `$IP[..]`, `$HEADER[name: glob]`, `$URL[glob]`, `$METHOD[..]` joined by `&`; then `allow`, `deny[, status]` or `redirect, url`), first match wins, then Default; before any cache lookup or origin request. acl rules with this OFF are a config error.',
  },
  {
    path: 'Vhost/Options/AccessControl@Default',
    type: 'enum',
    default: 'Allow',
    values: ['Allow', 'Deny'],
    inherit: true,
    field: 'vhosts[].options.accessControl.defaultAction',
    doc: 'The verdict for a request no acl rule matches.',
  },
  {
    path: 'Vhost/Options/AccessControl@DenialCode',
    type: 'int',
    default: '403',
    min: 400,
    max: 599,
    inherit: true,
    field: 'vhosts[].options.accessControl.denialCode',
    doc: 'Status of a denial: the Deny default and every `deny` rule without its own status.',
  },
  // ---- purge guards (ops-purge)
  {
    path: 'Vhost/Options/Purge2Expire',
    type: 'enum',
    default: 'NONE',
    values: PURGE_TO_EXPIRE,
    inherit: true,
    field: 'vhosts[].options.purge2Expire',
    doc: 'Turns risky purges into expires: ROOT = purges of `host/*`, PATTERN = every glob purge, ALL = every purge, NONE = none.',
  },
  {
    path: 'Vhost/Options/RootPurgeExpire',
    type: 'enum',
    default: 'ON',
    values: ROOT_PURGE_EXPIRE,
    inherit: true,
    field: 'vhosts[].options.rootPurgeExpire',
    doc: 'Whether `host/*` (the whole vhost) may be purged or expired: ON = both, PURGE or EXPIRE = only that one, OFF = neither (the call answers 200 with Count 0 and a Denied reason). Hardpurge has its own guard, RootHardPurge.',
  },
  {
    path: 'Vhost/Options/RootHardPurge',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.rootHardPurge',
    doc: 'Whether `host/*` (the whole vhost) may be hard-purged (bytes and index deleted); OFF refuses it as RootPurgeExpire refuses a purge (200, Count 0, a Denied reason). RootPurgeExpire does not apply to hardpurge. Default ON keeps earlier Flint behaviour.',
  },
  {
    path: 'Server/Host/Log@Level',
    type: 'enum',
    default: 'info',
    values: LOG_LEVELS,
    field: 'server.log.level',
    doc: 'Level of the process (Info) log.',
  },
  {
    path: 'Server/Host/Log/Info',
    type: 'path',
    default: null,
    field: 'server.log.infoPath',
    doc: 'File of the process (Info) log, JSON lines; relative to the install directory. Absent = stdout.',
  },
  {
    path: 'Server/Host/Log/Info@Type',
    type: 'enum',
    default: 'time',
    values: ROTATION_TYPES,
    field: 'server.log.infoRotation.type',
    doc: 'When the primary rolls the file (renames it to `<file>.YYYYMMDD-HHMMSS`, then every process reopens): `time` on Unit-minute boundaries (UTC), `size` past Unit MB, `both`, `none` (only SIGUSR1/SIGHUP reopen, for an external logrotate).',
  },
  {
    path: 'Server/Host/Log/Info@Unit',
    type: 'log-unit',
    default: null,
    field: 'server.log.infoRotation.unit',
    doc: 'Minutes per file for `time` (default 1440, a day), MB per file for `size` (default 100), `minutes,MB` for `both` (default `1440,100`).',
  },
  {
    path: 'Server/Host/Log/Info@Retention',
    type: 'int',
    default: '10',
    min: 1,
    max: 10000,
    field: 'server.log.infoRotation.retention',
    doc: 'Rolled files kept; the oldest beyond this number are deleted.',
  },
  {
    path: 'Server/Host/Log/Info@Compression',
    type: 'bool',
    default: 'OFF',
    field: 'server.log.infoRotation.compression',
    doc: 'Gzip each rolled file (`.gz`, off the event loop) once every process has moved to the new file.',
  },
  // ---- <Options><IfRange> and <VhostLink> (issue 4: VhostLink chains and 2-tier parents)
  {
    path: 'Vhost/Options/IfRange',
    type: 'bool',
    default: 'ON',
    inherit: true,
    field: 'vhosts[].options.ifRange.enabled',
    doc: "ON: a Range request's If-Range is honoured (206 when it matches the stored copy, else the whole 200, RFC 9110); OFF: If-Range is ignored. STON's default is OFF; Flint keeps the RFC behaviour by default.",
  },
  {
    path: 'Vhost/Options/IfRange@Purge',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].options.ifRange.purge',
    doc: 'For 2-tier parents: when a client (a child cache) sends an If-Range date newer than the stored copy\'s Last-Modified, the copy is purged and refetched from the origin, so resumed downloads stay consistent across tiers.',
  },
  // ---- per-vhost client limits (issue 20)
  {
    path: 'Vhost/TrafficCap',
    type: 'int',
    default: '0',
    unit: 'Mbps',
    min: 0,
    max: 100000,
    inherit: true,
    field: 'vhosts[].clientLimits.trafficCapMbps',
    doc: 'Response body bandwidth of the whole vhost (STON); each worker paces its share (TrafficCap / Workers). 0 = no cap.',
  },
  {
    path: 'Vhost/TrafficCap@Session',
    type: 'int',
    default: '0',
    unit: 'Mbps',
    min: 0,
    max: 100000,
    inherit: true,
    field: 'vhosts[].clientLimits.sessionCapMbps',
    doc: 'Response body bandwidth of each client connection (HTTP/2: each stream) of the vhost (STON). 0 = no cap.',
  },
  {
    path: 'Vhost/RateLimit',
    type: 'int',
    default: '0',
    unit: 'requests/s',
    min: 0,
    max: 1000000,
    inherit: true,
    field: 'vhosts[].clientLimits.rateLimit.perSec',
    doc: "Flint's own: requests per second one client address may make to the vhost (a token bucket counted across workers); more get 429 with Retry-After. 0 = no limit.",
  },
  {
    path: 'Vhost/RateLimit@Burst',
    type: 'int',
    default: '0',
    unit: 'requests',
    min: 0,
    max: 1000000,
    inherit: true,
    field: 'vhosts[].clientLimits.rateLimit.burst',
    doc: "Flint's own: requests a client address may make at once above the rate (the bucket's size); 0 = one second's worth (the rate).",
  },
  // <Options><Compression> (STON, issue 21): cached text compressed once per encoding, stored as a derived variant.
  {
    path: 'Vhost/Options/Compression',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].options.compression.enabled',
    doc: 'ON: a client whose Accept-Encoding allows br or gzip gets the cached object compressed with the best encoding Method allows (made once per encoding from the stored identity body, off the event loop, then a plain hit; purged with the original). The origin is asked for identity; a response the origin already encoded is passed on as is. Targets: the `compression` MatchingList (or svc/<vhost>/compression.txt) of `$MIME[type/*]` and `$URL[glob]` lines, else text/html, text/css, text/plain, text/xml, application/javascript, application/json, application/xml and image/svg+xml. Responses with `Cache-Control: no-transform` are never compressed.',
  },
  {
    path: 'Vhost/Options/Compression@Method',
    type: 'encoding-list',
    default: 'br,gzip',
    inherit: true,
    field: 'vhosts[].options.compression.methods',
    doc: 'Encodings offered, preferred first (`br`, `gzip`; `,` or `|` between them). Among the encodings a client accepts with its highest q-value, the first listed here wins.',
  },
  {
    path: 'Vhost/Options/Compression@GzipLevel',
    type: 'int',
    default: '6',
    min: 1,
    max: 9,
    inherit: true,
    field: 'vhosts[].options.compression.gzipLevel',
    doc: 'zlib level of gzip variants (1 fastest .. 9 smallest).',
  },
  {
    path: 'Vhost/Options/Compression@BrotliQuality',
    type: 'int',
    default: '5',
    min: 0,
    max: 11,
    inherit: true,
    field: 'vhosts[].options.compression.brotliQuality',
    doc: 'Brotli quality of br variants (0 fastest .. 11 smallest; 11 compresses about 50x slower than 5, once per object).',
  },
  {
    path: 'Vhost/Options/Compression@SourceSize',
    type: 'kib-range',
    default: '1-4096',
    unit: 'KiB',
    inherit: true,
    field: 'vhosts[].options.compression.sourceSize',
    doc: 'Only objects whose identity body is within this size range are compressed (`min-max`, KiB, max at most 65536); smaller ones gain little, larger ones would hold a large buffer while compressed.',
  },
  {
    path: 'Vhost/VhostLink',
    type: 'vhost-ref',
    default: null,
    field: 'vhosts[].link',
    doc: 'When this vhost\'s origin answers as `Condition` says, the request is handed to this vhost (its origin, its cache). Chains (a -> b -> c) are followed; links to a missing vhost, to itself or in a cycle are rejected.',
  },
  {
    path: 'Vhost/VhostLink@Condition',
    type: 'link-condition',
    default: '404',
    field: 'vhosts[].link',
    doc: 'When the link applies: a comma-separated list of status codes (`404,410`), classes (`4xx`, `5xx`) and `fail` (connect/receive failure before the origin answered).',
  },
  {
    path: 'Vhost/Sub@Status',
    type: 'enum',
    values: ['Active', 'Inactive'],
    default: 'Active',
    field: 'vhosts[].sub',
    doc: 'STON: Active hands requests whose path matches a `<Path>` to that Path\'s vhost (its origin, cache, policy and access log), before anything else of this vhost applies; Inactive ignores the `<Path>` list.',
  },
  {
    path: 'Vhost/Sub/Path',
    type: 'url-glob',
    default: [],
    repeated: true,
    field: 'vhosts[].sub[].glob',
    doc: 'A directory (`/baseball/` or STON\'s `baseball`: everything below it) or a URL glob (`/img/*.png`; STON\'s `/*.jpg` and `*.jpg` match every .jpg at any depth), matched on the normalised path. First matching Path wins; the URL is not changed.',
  },
  {
    path: 'Vhost/Sub/Path@Vhost',
    type: 'vhost-ref',
    default: null,
    field: 'vhosts[].sub[].vhost',
    doc: 'The vhost that serves the path: required; another vhost, which has no `<Sub>` itself (one hop, so routing cannot loop).',
  },
  // ---- <Options><SignedUrl>, <Cors>, <ErrorPage> (issue 20: edge policy; per vhost, not inherited)
  {
    path: 'Vhost/Options/SignedUrl@Status',
    type: 'enum',
    values: ['Active', 'Inactive'],
    default: 'Inactive',
    field: 'vhosts[].signedUrl',
    doc: 'Active: requests under `<Path>` need `?<ExpiresParam>=<unix seconds>&<Param>=<token>`, token = base64url (no padding) of HMAC-SHA256(key, `<expires>:<path>`) with any `<Key>`; missing, expired or wrong = 403, nothing asked of the origin. Both parameters leave the cache key and the origin request.',
  },
  {
    path: 'Vhost/Options/SignedUrl/Key',
    type: 'token',
    default: [],
    repeated: true,
    field: 'vhosts[].signedUrl.keys[]',
    doc: 'An HMAC key (its text as UTF-8 bytes); every listed key verifies (rotation), the first signs (`flint sign-url`). At least one when Active; use 32 random characters or more.',
  },
  {
    path: 'Vhost/Options/SignedUrl/Path',
    type: 'url-glob',
    default: ['/*'],
    repeated: true,
    field: 'vhosts[].signedUrl.paths[]',
    doc: 'Where a signature is required, matched on the normalised path (as bypass rules are); other paths are served as before.',
  },
  {
    path: 'Vhost/Options/SignedUrl@Param',
    type: 'query-param',
    default: 'token',
    field: 'vhosts[].signedUrl.param',
    doc: 'Query parameter holding the token.',
  },
  {
    path: 'Vhost/Options/SignedUrl@ExpiresParam',
    type: 'query-param',
    default: 'expires',
    field: 'vhosts[].signedUrl.expiresParam',
    doc: 'Query parameter holding the expiry time (Unix seconds); a link is valid up to and including that second.',
  },
  {
    path: 'Vhost/Options/SignedUrl@BindClientIp',
    type: 'bool',
    default: 'OFF',
    field: 'vhosts[].signedUrl.bindClientIp',
    doc: 'ON: the signed message is `<expires>:<client-ip>:<path>` (the peer address as Flint sees it, IPv4 dotted, IPv6 in its compressed form), so a link works from that address only.',
  },
  {
    path: 'Vhost/Options/Cors',
    type: 'bool',
    default: 'OFF',
    field: 'vhosts[].cors',
    doc: 'ON: CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) are answered at the edge (204, or 403 for an origin not allowed), and responses to allowed origins get Access-Control-Allow-Origin and `Vary: Origin` at delivery (one cached copy for every Origin).',
  },
  {
    path: 'Vhost/Options/Cors@AllowOrigin',
    type: 'origin-list',
    default: '*',
    field: 'vhosts[].cors.allowOrigins',
    doc: 'Allowed origins separated by spaces (`https://app.example.com https://admin.example.com`), or `*` for every origin.',
  },
  {
    path: 'Vhost/Options/Cors@MaxAge',
    type: 'int',
    default: '600',
    unit: 's',
    min: 0,
    max: 86400,
    field: 'vhosts[].cors.maxAgeSec',
    doc: 'Access-Control-Max-Age of preflight answers: how long a browser may reuse one.',
  },
  {
    path: 'Vhost/Options/Cors@AllowMethods',
    type: 'name-list',
    default: 'GET, HEAD, OPTIONS',
    field: 'vhosts[].cors.allowMethods',
    doc: 'Methods a preflight may ask for (Access-Control-Allow-Methods); a preflight for another method is refused.',
  },
  {
    path: 'Vhost/Options/ErrorPage',
    type: 'path',
    default: [],
    repeated: true,
    field: 'vhosts[].errorPages[].file',
    doc: 'A file served as the body of the errors Flint makes itself (origin unreachable, timeouts, refusals) with a listed status; read at config load (64 KiB at most), Content-Type from the extension (.html, .htm, .txt, .json, .xml).',
  },
  {
    path: 'Vhost/Options/ErrorPage@ResCode',
    type: 'status-list',
    default: '0',
    field: 'vhosts[].errorPages[].statuses',
    doc: 'Statuses the page is for, comma-separated; `0` = every error Flint makes. The first page listing a status wins.',
  },
  // ---- <Options><Dims>: image transformation by URL (issue 21, STON image.html)
  {
    path: 'Vhost/Options/Dims@Status',
    type: 'enum',
    default: 'Inactive',
    values: ['Active', 'Inactive'],
    field: 'vhosts[].dims',
    doc: 'STON: Active turns DIMS on: `<original URL>/<Keyword>/<op>/<arg>/...` is the original converted by the chain (README "DIMS images" lists the ops), cached as a variant of the original. Malformed chains get 400.',
  },
  {
    path: 'Vhost/Options/Dims@Keyword',
    type: 'token',
    default: 'dims',
    field: 'vhosts[].dims.keyword',
    doc: 'STON: the path segment that starts the chain (case-sensitive; letters, digits, `-`, `_`).',
  },
  {
    path: 'Vhost/Options/Dims@MaxSourceSize',
    type: 'int',
    default: '10',
    unit: 'MiB',
    min: 1,
    max: 1024,
    field: 'vhosts[].dims.maxSourceBytes',
    doc: 'STON: larger originals are served as they are, not converted.',
  },
  {
    path: 'Vhost/Options/Dims@MaxPixels',
    type: 'int',
    default: '50000000',
    unit: 'pixels',
    min: 1,
    max: 268402689,
    field: 'vhosts[].dims.maxPixels',
    doc: "Flint's own: an original whose header claims more pixels (width x height x frames), or a chain whose result would have more, is served as it is (decompression bombs); checked before decoding.",
  },
  {
    path: 'Vhost/Options/Dims@FirstFrameOnly',
    type: 'bool',
    default: 'OFF',
    field: 'vhosts[].dims.firstFrameOnly',
    doc: 'STON: animated GIF/WebP originals keep only their first frame unless the chain says `firstframeonly/off` or `limit/N`.',
  },
  {
    path: 'Vhost/Options/Dims/Composite@Name',
    type: 'string',
    default: [],
    repeated: true,
    field: 'vhosts[].dims.composites[].name',
    doc: 'STON: `composite/<Name>` draws the image File over the result at Gravity (nw, n, ne, w, c, e, sw, s, se) offset by Geometry (`+x+y`, `+x+y%`) with Dissolve (opacity 0-100, default 100). File is read at config load (PNG, JPEG, WebP, GIF).',
  },
  {
    path: 'Vhost/Options/Dims/Composite@File',
    type: 'path',
    default: null,
    field: 'vhosts[].dims.composites[].file',
    doc: 'The overlay image; required.',
  },
  {
    path: 'Vhost/Options/Dims/Composite@Gravity',
    type: 'enum',
    default: 'c',
    values: ['nw', 'n', 'ne', 'w', 'c', 'e', 'sw', 's', 'se'],
    field: 'vhosts[].dims.composites[].gravity',
    doc: 'Where the overlay sits (see Composite@Name).',
  },
  {
    path: 'Vhost/Options/Dims/Composite@Geometry',
    type: 'string',
    default: '+0+0',
    field: 'vhosts[].dims.composites[].x',
    doc: 'Offset from the gravity\'s edges: `+x+y` pixels or `+x+y%` of the image.',
  },
  {
    path: 'Vhost/Options/Dims/Composite@Dissolve',
    type: 'int',
    default: '100',
    unit: 'percent',
    min: 0,
    max: 100,
    field: 'vhosts[].dims.composites[].dissolve',
    doc: 'Opacity of the overlay, percent.',
  },
  {
    path: 'Vhost/Options/Dims/Annotation@Name',
    type: 'string',
    default: [],
    repeated: true,
    field: 'vhosts[].dims.annotations[].name',
    doc: 'STON: `annotation/<Name>` (or `a*b`) draws Text (static, or `$QUERYSTRING[key]`: the request\'s query parameter, at most 256 characters) in Font (Pango name, default sans), FontSize (pixels, default 24), FontColor (`#rrggbb`, default #ffffff), on BackgroundColor (`#rrggbb`, default none), placed by Gravity, Geometry and Dissolve as a Composite.',
  },
  {
    path: 'Vhost/Options/Dims/Annotation@Text',
    type: 'string',
    default: null,
    field: 'vhosts[].dims.annotations[].text',
    doc: 'The text, or `$QUERYSTRING[key]`; required.',
  },
  {
    path: 'Vhost/Options/Dims/Annotation@Font',
    type: 'string',
    default: 'sans',
    field: 'vhosts[].dims.annotations[].font',
    doc: 'Pango font description.',
  },
  {
    path: 'Vhost/Options/Dims/Annotation@FontSize',
    type: 'int',
    default: '24',
    unit: 'pixels',
    min: 4,
    max: 512,
    field: 'vhosts[].dims.annotations[].fontSize',
    doc: 'Text height.',
  },
  {
    path: 'Vhost/Options/Dims/Annotation@FontColor',
    type: 'string',
    default: '#ffffff',
    field: 'vhosts[].dims.annotations[].fontColor',
    doc: 'Text colour, `#rrggbb`.',
  },
  {
    path: 'Vhost/Options/Dims/Annotation@BackgroundColor',
    type: 'string',
    default: null,
    field: 'vhosts[].dims.annotations[].backgroundColor',
    doc: '`#rrggbb` box behind the text; absent = none.',
  },
  {
    path: 'Vhost/Options/Dims/Annotation@Gravity',
    type: 'enum',
    default: 's',
    values: ['nw', 'n', 'ne', 'w', 'c', 'e', 'sw', 's', 'se'],
    field: 'vhosts[].dims.annotations[].gravity',
    doc: 'Where the overlay sits (see Composite@Name).',
  },
  {
    path: 'Vhost/Options/Dims/Annotation@Geometry',
    type: 'string',
    default: '+0+0',
    field: 'vhosts[].dims.annotations[].x',
    doc: 'As Composite@Geometry.',
  },
  {
    path: 'Vhost/Options/Dims/Annotation@Dissolve',
    type: 'int',
    default: '100',
    unit: 'percent',
    min: 0,
    max: 100,
    field: 'vhosts[].dims.annotations[].dissolve',
    doc: 'As Composite@Dissolve.',
  },
  {
    path: 'Vhost/Options/Dims/ByOriginal@Name',
    type: 'string',
    default: [],
    repeated: true,
    field: 'vhosts[].dims.byOriginal[].name',
    doc: 'STON: `byoriginal/<Name>` applies the chain of the first `<Condition Width Height>/op/arg/</Condition>` whose Width and Height the original reaches (none: no change). A condition chain holds image operations only.',
  },
  {
    path: 'Vhost/Options/Dims/ByOriginal/Condition',
    type: 'string',
    default: [],
    repeated: true,
    field: 'vhosts[].dims.byOriginal[].conditions[].chain',
    doc: 'A chain of image operations (`/resize/800x/quality/70/`).',
  },
  {
    path: 'Vhost/Options/Dims/ByOriginal/Condition@Width',
    type: 'int',
    default: '0',
    unit: 'pixels',
    min: 0,
    max: 1000000,
    field: 'vhosts[].dims.byOriginal[].conditions[].width',
    doc: 'The original must be at least this wide.',
  },
  {
    path: 'Vhost/Options/Dims/ByOriginal/Condition@Height',
    type: 'int',
    default: '0',
    unit: 'pixels',
    min: 0,
    max: 1000000,
    field: 'vhosts[].dims.byOriginal[].conditions[].height',
    doc: 'The original must be at least this high.',
  },
  // ---- <Log> (VHostDefault, overridden per vhost)
  {
    path: 'Vhost/Log/Access',
    type: 'log-path',
    default: 'var/log/access.log',
    inherit: true,
    field: 'vhosts[].log.accessPath',
    doc: 'Access log file, one line per transaction in `Form`; relative to the install directory. OFF = no access log.',
  },
  {
    path: 'Vhost/Log/Access@Form',
    type: 'enum',
    default: 'json',
    values: ACCESS_FORMS,
    inherit: true,
    field: 'vhosts[].log.accessForm',
    doc: "Record format: `json` (Flint's JSON lines), `ston` (STON's W3C fields after a `#Fields` header line), `apache` (combined log format), `custom` (`<AccessFormat>`).",
  },
  {
    path: 'Vhost/Log/Access@Type',
    type: 'enum',
    default: 'time',
    values: ROTATION_TYPES,
    inherit: true,
    field: 'vhosts[].log.accessRotation.type',
    doc: 'When the primary rolls the file (renames it to `<file>.YYYYMMDD-HHMMSS`, then every process reopens): `time` on Unit-minute boundaries (UTC), `size` past Unit MB, `both`, `none` (only SIGUSR1/SIGHUP reopen, for an external logrotate).',
  },
  {
    path: 'Vhost/Log/Access@Unit',
    type: 'log-unit',
    default: null,
    inherit: true,
    field: 'vhosts[].log.accessRotation.unit',
    doc: 'Minutes per file for `time` (default 1440, a day), MB per file for `size` (default 100), `minutes,MB` for `both` (default `1440,100`).',
  },
  {
    path: 'Vhost/Log/Access@Retention',
    type: 'int',
    default: '10',
    min: 1,
    max: 10000,
    inherit: true,
    field: 'vhosts[].log.accessRotation.retention',
    doc: 'Rolled files kept; the oldest beyond this number are deleted.',
  },
  {
    path: 'Vhost/Log/Access@Compression',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].log.accessRotation.compression',
    doc: 'Gzip each rolled file (`.gz`, off the event loop) once every process has moved to the new file.',
  },
  {
    path: 'Vhost/Log/AccessFormat',
    type: 'access-format',
    default: null,
    inherit: true,
    field: 'vhosts[].log.accessFormat',
    doc: 'The line of `Form="custom"`: text with Apache-style `%` codes (the `access-format` value type below lists the codes). Required with `custom`.',
  },
  {
    path: 'Vhost/Log/Origin',
    type: 'log-path',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].log.originPath',
    doc: "STON's origin log: one W3C line per origin transaction (connection id and reuse count, status, error, timings). OFF = none; ON = var/log/origin.log.",
  },
  {
    path: 'Vhost/Log/Image',
    type: 'log-path',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].log.imagePath',
    doc: "STON's image log (issue 21): one JSON line per DIMS conversion (source, ops, formats, bytes, sizes, ms, or the failure reason). OFF = none; ON = var/log/image.log. Reopened on SIGUSR1/SIGHUP, not rolled by the primary.",
  },
  {
    path: 'Vhost/Log/Origin@Type',
    type: 'enum',
    default: 'time',
    values: ROTATION_TYPES,
    inherit: true,
    field: 'vhosts[].log.originRotation.type',
    doc: 'When the primary rolls the file (renames it to `<file>.YYYYMMDD-HHMMSS`, then every process reopens): `time` on Unit-minute boundaries (UTC), `size` past Unit MB, `both`, `none` (only SIGUSR1/SIGHUP reopen, for an external logrotate).',
  },
  {
    path: 'Vhost/Log/Origin@Unit',
    type: 'log-unit',
    default: null,
    inherit: true,
    field: 'vhosts[].log.originRotation.unit',
    doc: 'Minutes per file for `time` (default 1440, a day), MB per file for `size` (default 100), `minutes,MB` for `both` (default `1440,100`).',
  },
  {
    path: 'Vhost/Log/Origin@Retention',
    type: 'int',
    default: '10',
    min: 1,
    max: 10000,
    inherit: true,
    field: 'vhosts[].log.originRotation.retention',
    doc: 'Rolled files kept; the oldest beyond this number are deleted.',
  },
  {
    path: 'Vhost/Log/Origin@Compression',
    type: 'bool',
    default: 'OFF',
    inherit: true,
    field: 'vhosts[].log.originRotation.compression',
    doc: 'Gzip each rolled file (`.gz`, off the event loop) once every process has moved to the new file.',
  },
];

/** How each value type is written, for the reference. */
export const TYPE_DOCS: Readonly<Record<SettingType, string>> = {
  int: 'a whole number',
  size: 'bytes, or a whole number with a binary suffix K, M, G or T (1K = 1024): `65536`, `64K`, `10G`',
  seconds: 'seconds, fractions allowed: `3`, `0.5`',
  'whole-seconds': 'a whole number of seconds: `0`, `300`, `86400`',
  bool: '`ON` or `OFF` (any case; `true`/`false` also accepted)',
  enum: 'one of the listed values (any case)',
  string: 'text without control characters',
  token: 'visible ASCII without spaces',
  'host-name': 'a DNS name or IPv4 address, no port: `example.com`',
  alias: 'a host name, or `*.` followed by one (every subdomain): `*.example.com`',
  'vhost-ref': 'the Name of a vhost in this file',
  'link-condition': 'comma-separated status codes (`404`), classes (`4xx`, `5xx`) and `fail`: `404,410`, `5xx,fail`',
  ip: 'an IPv4 or IPv6 address: `127.0.0.1`, `::1`',
  'ip-or-cidr': 'an IPv4/IPv6 address or CIDR range: `10.0.0.0/8`, `::1`, `fd00::/8`',
  'address-or-country': 'an IPv4/IPv6 address or CIDR range, or an ISO 3166-1 alpha-2 country code (`KR`; needs `<ServiceAccess GeoIP>`)',
  listen: '`*:port`, `ipv4:port` or `[ipv6]:port` (`*` = every IPv4 address, `[::]` = every IPv6 address)',
  'origin-address': '`host:port`, `host` (port 80), either followed by an optional `/path/prefix`; host is IPv4, `[ipv6]` or a DNS name',
  path: 'a file or directory path; relative paths are resolved against the parent of the conf directory',
  'log-path': 'a path as for `path`, or `OFF` (no log); `ON` = the default path',
  'log-unit': 'one whole number (minutes for `Type="time"`, MB for `size`) or two separated by a comma (`minutes,MB` for `both`): `1440`, `100`, `60,500`',
  'access-format': 'text with `%` codes: `%h` client IP, `%l` `%u` -, `%t` time, `%r` request line, `%m` method, `%U` path, `%q` query, `%H` protocol, `%>s`/`%s` status, `%b`/`%B` bytes sent, `%D` µs, `%T` s, `%v` vhost, `%{Name}i` request header, `%S` cache result, `%R` ms to first byte, `%L` vhost chain, `%j` Range, `%k` Accept-Encoding, `%X`/`%x` c (complete) or x (aborted), `%W` the URL before a URLRewrite (`host/path?query`, - when none), `%%` a percent sign',
  'probe-target': 'a path starting with `/` (query allowed), or an absolute `http://host[:port]/path` URL: `/alive.html`',
  'status-list': 'HTTP status codes separated by commas, or `0` for any: `200`, `200, 404`',
  'status-set': '`OFF` (none) or HTTP status codes separated by commas: `502, 503, 504`',
  'name-list': 'names separated by commas: `q,page`',
  'vary-list': '`*` (every name), `OFF` (none) or header names separated by commas: `Accept-Encoding, Accept-Language`',
  'url-glob':
    'a URL path pattern: `/` (the root only), `/img/logo.png`, `/img/*.jpg` (`*` stays inside one segment), `/img/*` (everything below), `/a/**/b.js` (any depth), `*.jpg` (any path ending so), `*` (every URL); never the query string',
  'query-param': 'a query parameter name: letters, digits, `-._~`',
  'origin-list': '`*`, or origins (`scheme://host[:port]`) separated by spaces',
  'status-match': 'origin status codes or classes separated by commas: `200`, `2xx`, `200,404`',
  'nats-urls': '`nats://host:port` or `tls://host:port` URLs separated by commas or spaces: `nats://10.0.0.1:4222, nats://10.0.0.2:4222`',
  'fleet-name': '1-64 letters, digits, `-` or `_`: `edge-1`, `seoul`',
  'encoding-list': 'content codings separated by `,` or `|`, each at most once: `br,gzip`, `gzip`',
  'kib-range': 'two whole numbers of KiB, `min-max`: `1-4096`',
};

/** The file that holds a setting: `Server/...` -> server.xml, everything else -> vhosts.xml. */
export function settingFile(setting: Setting): 'server.xml' | 'vhosts.xml' {
  return setting.path.startsWith('Server/') ? 'server.xml' : 'vhosts.xml';
}

/** Element names that may repeat; parse.ts turns them into arrays even when they appear once. */
export const REPEATED_ELEMENTS: readonly string[] = [
  'Vhost',
  // One <URLRewrite> per rule; it holds elements only, so no setting row marks it repeated.
  'URLRewrite',
  ...new Set(SETTINGS.filter((s) => s.repeated === true).map((s) => lastElementName(s.path))),
];

function lastElementName(path: string): string {
  const elementPath = path.split('@')[0] ?? path;
  return elementPath.slice(elementPath.lastIndexOf('/') + 1);
}

/** The setting at `path` (exactly as in the table); throws for an unknown path, which is a bug in the caller. */
export function getSetting(path: string): Setting {
  const setting = SETTINGS.find((s) => s.path === path);
  if (setting === undefined) throw new Error(`config/schema: no setting ${path}`);
  return setting;
}

/** `65536` -> `64K`: a byte count written the way the XML would write it. */
export function formatSize(bytes: number): string {
  const suffixes = ['', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let i = 0;
  while (value !== 0 && value % 1024 === 0 && i < suffixes.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value}${suffixes[i] ?? ''}`;
}

const INTRO =
  'Flint reads two XML files from its conf directory, as STON does: `server.xml` (the management API, the cache ' +
  'processes and storage, the process log, and `<VHostDefault>`, which every vhost inherits) and `vhosts.xml` ' +
  '(the vhosts and the default vhost). Every setting Flint knows is listed below with its default; an element or ' +
  'attribute not listed here is an error, and so is a value of the wrong type or out of range, so a typo never ' +
  'silently does nothing. Settings under `Vhost/` with "inherits" may also be set in `<Server><VHostDefault>`; a ' +
  'vhost overrides them element by element. Relative paths are resolved against the parent of the conf directory ' +
  '(the install directory), so `var/cache` next to `conf/` works from any working directory. Run ' +
  '`flint check-config` to validate a conf directory without starting. This file is generated from ' +
  '`src/config/schema.ts`: `node dist/src/config/print-reference.js > docs/configuration.md`.';

/** The whole configuration reference as Markdown (docs/configuration.md is exactly this text). */
export function renderConfigReference(): string {
  const lines: string[] = ['# Flint configuration reference', '', INTRO, ''];
  const sections: Array<[string, string, (s: Setting) => boolean]> = [
    ['server.xml', 'Global settings, in `<Server>`.', (s) => s.path.startsWith('Server/')],
    ['vhosts.xml', 'The vhost list, in `<Vhosts>`.', (s) => s.path.startsWith('Vhosts/')],
    [
      'Per vhost',
      'In each `<Vhosts><Vhost Name="...">`. Rows marked "inherits" may also be set in `<Server><VHostDefault>` ' +
        '(path without the leading `Vhost/`).',
      (s) => s.path.startsWith('Vhost/') || s.path.startsWith('Vhost@'),
    ],
  ];
  for (const [title, blurb, belongs] of sections) {
    lines.push(`## ${title}`, '', blurb, '');
    lines.push('| Setting | Type | Default | Unit | Range | Description |', '| --- | --- | --- | --- | --- | --- |');
    for (const setting of SETTINGS.filter(belongs)) lines.push(renderRow(setting));
    lines.push('');
  }
  lines.push('## Value types', '', '| Type | Written as |', '| --- | --- |');
  for (const [type, doc] of Object.entries(TYPE_DOCS)) lines.push(`| ${type} | ${escapeCell(doc)} |`);
  lines.push('');
  return lines.join('\n');
}

function renderRow(s: Setting): string {
  const flags = [s.repeated === true ? 'repeatable' : '', s.required === true ? 'required' : '', s.inherit === true ? 'inherits' : '']
    .filter((f) => f !== '')
    .join(', ');
  const type = s.values === undefined ? s.type : `${s.type}: ${s.values.join(', ')}`;
  return `| \`${s.path}\` | ${escapeCell(type)}${flags === '' ? '' : ` (${flags})`} | ${renderDefault(s)} | ${s.unit ?? ''} | ${renderRange(s)} | ${escapeCell(s.doc)} |`;
}

function renderDefault(s: Setting): string {
  if (s.default === null) return s.required === true ? '' : 'none';
  if (typeof s.default === 'string') return `\`${s.default}\``;
  return s.default.length === 0 ? 'none' : s.default.map((d) => `\`${d}\``).join(', ');
}

function renderRange(s: Setting): string {
  if (s.min === undefined && s.max === undefined) return '';
  const show = (n: number): string => (s.type === 'size' ? formatSize(n) : String(n));
  const range = s.max === undefined ? `>= ${show(s.min ?? 0)}` : `${show(s.min ?? 0)}..${show(s.max)}`;
  return s.powerOfTwo === true ? `${range}, power of two` : range;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
