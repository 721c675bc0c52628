/**
 * @module config/read-vhost-settings
 * Reads the settings a vhost may inherit from <VHostDefault>: listen, HTTPS, origin options, recovery, <Options>
 * (TTL, key options, compression), client limits and <Log>; with the HTTPS cross-checks.
 * Part of config validation; runs in the primary and in `flint check-config`.
 */
import { getSetting } from './schema.js';
import { TLS_VERSIONS } from './types.js';
import type { CompressionOptions, LogRotation, HttpsConfig, ListenAddress, ManagerConfig, RecoveryProbe, TtlPolicy, Vhost, VhostClientLimits, VhostLog, VhostOptions } from './types.js';
import { DEFAULT_UNIT, resolveLogUnit } from '../logs/log-settings.js';
import { checkCertificate } from '../tls/certificate-check.js';
import { childElements } from './xml-tree.js';
import { quote, INT, SIZE, SECONDS_AS_MS, WHOLE_SECONDS, BOOL, ENCODING_LIST, KIB_RANGE, NAME_LIST, VARY_LIST, TARGETED_FIELDS, TAG_FIELDS, SET_COOKIE, COOKIE_REQUEST, BALANCE_MODE, TTL_PRIORITY, PURGE_2_EXPIRE, ROOT_PURGE, STAR_OR_STRING, TLS_VERSION, HTTPS_ENGINE, REDIRECT_CODE, CIPHERS } from './value-types.js';
import { ALLOW_DENY, LISTEN, RETRY, SUFFIX, PATH, LOG_PATH, ACCESS_FORM, ROTATION_TYPE, LOG_UNIT, ACCESS_FORMAT, PROBE_TARGET, STATUS_LIST, STATUS_SET } from './value-types-net.js';
import type { Validator, Scope, VhostDefaults } from './validator.js';
import { readMedia } from './read-media.js';

/**
 * The `Vhost/...` settings of one scope: <VHostDefault> (inherited undefined: schema defaults apply) or one
 * <Vhost> (inherited = the resolved VHostDefault, overridden element by element).
 */
export function readVhostSettings(v: Validator, scope: Scope, inherited: VhostDefaults | undefined): VhostDefaults {
  const listen = v.many(scope, 'Vhost/Listen', LISTEN);
  if (listen !== undefined) reportRepeatedListen(v, scope, listen);
  const io = inherited?.originOptions;
  const o = inherited?.options;
  return {
    listen: listen ?? inherited?.listen ?? v.defaultsOf('Vhost/Listen', LISTEN),
    https: readHttps(v, scope, inherited?.https),
    redirectHttpToHttps: readRedirect(v, scope, inherited?.redirectHttpToHttps),
    originOptions: {
      connectTimeoutMs: v.one(scope, 'Vhost/OriginOptions/ConnectTimeout', SECONDS_AS_MS, io?.connectTimeoutMs),
      receiveTimeoutMs: v.one(scope, 'Vhost/OriginOptions/ReceiveTimeout', SECONDS_AS_MS, io?.receiveTimeoutMs),
      reuseTimeoutMs: v.one(scope, 'Vhost/OriginOptions/ReuseTimeout', SECONDS_AS_MS, io?.reuseTimeoutMs),
      maxConnections: v.one(scope, 'Vhost/OriginOptions/MaxConnections', INT, io?.maxConnections),
      balanceMode: v.one(scope, 'Vhost/OriginOptions/BalanceMode', BALANCE_MODE, io?.balanceMode),
      hostHeader: v.one(scope, 'Vhost/OriginOptions/Host', STAR_OR_STRING, io?.hostHeader),
      userAgent: v.one(scope, 'Vhost/OriginOptions/UserAgent', STAR_OR_STRING, io?.userAgent),
      xffClientIpOnly: v.one(scope, 'Vhost/OriginOptions/XFFClientIPOnly', BOOL, io?.xffClientIpOnly),
      exclusion: v.one(scope, 'Vhost/OriginOptions/Exclusion', INT, io?.exclusion),
      exclusionAll: v.one(scope, 'Vhost/OriginOptions/Exclusion@All', BOOL, io?.exclusionAll),
      exclusionResCodes: v.one(scope, 'Vhost/OriginOptions/Exclusion@ResCode', STATUS_SET, io?.exclusionResCodes),
      recovery: readRecovery(v, scope, io?.recovery),
      retries: v.one(scope, 'Vhost/OriginOptions/Retry', RETRY, io?.retries),
      dnsRefreshMs: v.one(scope, 'Vhost/OriginOptions/DnsRefresh', SECONDS_AS_MS, io?.dnsRefreshMs),
      hashIgnoreSuffixes: v.many(scope, 'Vhost/OriginOptions/BalanceHashRules/IgnoreSuffix', SUFFIX) ?? io?.hashIgnoreSuffixes ?? [],
      originAffinity: v.one(scope, 'Vhost/OriginOptions/OriginAffinity', BOOL, io?.originAffinity),
      tls: null,
    },
    options: {
      viaHeader: v.one(scope, 'Vhost/Options/ViaHeader', BOOL, o?.viaHeader),
      serverHeader: v.one(scope, 'Vhost/Options/ServerHeader', BOOL, o?.serverHeader),
      maxRequestBodyBytes: v.one(scope, 'Vhost/Options/MaxRequestBodySize', SIZE, o?.maxRequestBodyBytes),
      caching: v.one(scope, 'Vhost/Options/Caching', BOOL, o?.caching),
      admission: {
        minUses: v.one(scope, 'Vhost/Options/Admission', INT, o?.admission.minUses),
        windowSec: v.one(scope, 'Vhost/Options/Admission@Window', WHOLE_SECONDS, o?.admission.windowSec),
      },
      ttl: readTtl(v, scope, o?.ttl),
      ttlExtensionBy5xx: v.one(scope, 'Vhost/Options/TTLExtensionBy5xx', BOOL, o?.ttlExtensionBy5xx),
      ttlExtensionByFail: v.one(scope, 'Vhost/Options/TTLExtensionByFail', BOOL, o?.ttlExtensionByFail),
      refreshExpired: v.one(scope, 'Vhost/Options/RefreshExpired', BOOL, o?.refreshExpired),
      ageHeader: v.one(scope, 'Vhost/Options/AgeHeader', BOOL, o?.ageHeader),
      violateMustRevalidate: v.one(scope, 'Vhost/Options/ViolateMustRevalidate', BOOL, o?.violateMustRevalidate),
      setCookie: v.one(scope, 'Vhost/Options/SetCookie', SET_COOKIE, o?.setCookie),
      cookieRequest: v.one(scope, 'Vhost/Options/CookieRequest', COOKIE_REQUEST, o?.cookieRequest),
      targetedCacheControl: v.one(scope, 'Vhost/Options/TargetedCacheControl', TARGETED_FIELDS, o?.targetedCacheControl),
      unsafeInvalidation: v.one(scope, 'Vhost/Options/UnsafeInvalidation', BOOL, o?.unsafeInvalidation),
      cacheTag: {
        fields: v.one(scope, 'Vhost/Options/CacheTag', TAG_FIELDS, o?.cacheTag.fields),
        strip: v.one(scope, 'Vhost/Options/CacheTag@Strip', BOOL, o?.cacheTag.strip),
        max: v.one(scope, 'Vhost/Options/CacheTag@Max', INT, o?.cacheTag.max),
        maxLength: v.one(scope, 'Vhost/Options/CacheTag@MaxLength', INT, o?.cacheTag.maxLength),
      },
      ...readKeyOptions(v, scope, o),
      accessControl: {
        enabled: v.one(scope, 'Vhost/Options/AccessControl', BOOL, o?.accessControl.enabled),
        defaultAction: v.one(scope, 'Vhost/Options/AccessControl@Default', ALLOW_DENY, o?.accessControl.defaultAction),
        denialCode: v.one(scope, 'Vhost/Options/AccessControl@DenialCode', INT, o?.accessControl.denialCode),
      },
      purge2Expire: v.one(scope, 'Vhost/Options/Purge2Expire', PURGE_2_EXPIRE, o?.purge2Expire),
      rootPurgeExpire: v.one(scope, 'Vhost/Options/RootPurgeExpire', ROOT_PURGE, o?.rootPurgeExpire),
      rootHardPurge: v.one(scope, 'Vhost/Options/RootHardPurge', BOOL, o?.rootHardPurge),
      ifRange: {
        enabled: v.one(scope, 'Vhost/Options/IfRange', BOOL, o?.ifRange.enabled),
        purge: v.one(scope, 'Vhost/Options/IfRange@Purge', BOOL, o?.ifRange.purge),
      },
      compression: readCompression(v, scope, o?.compression),
    },
    log: readLog(v, scope, inherited?.log),
    clientLimits: {
      trafficCapMbps: v.one(scope, 'Vhost/TrafficCap', INT, inherited?.clientLimits.trafficCapMbps),
      sessionCapMbps: v.one(scope, 'Vhost/TrafficCap@Session', INT, inherited?.clientLimits.sessionCapMbps),
      rateLimit: readRateLimit(v, scope, inherited?.clientLimits.rateLimit),
    },
    media: readMedia(v, scope, inherited?.media),
  };
}

/** <RateLimit Burst>: a Burst with no rate would be silently ignored, so it is a problem. */
function readRateLimit(v: Validator, scope: Scope, inherited: VhostClientLimits['rateLimit'] | undefined): VhostClientLimits['rateLimit'] {
  const perSec = v.one(scope, 'Vhost/RateLimit', INT, inherited?.perSec);
  const burst = v.one(scope, 'Vhost/RateLimit@Burst', INT, inherited?.burst);
  if (perSec === 0 && burst > 0) v.report(scope.file, `${scope.where}/RateLimit@Burst`, `${burst} has no effect without a rate: set <RateLimit> to requests per second, or remove Burst`);
  return { perSec, burst };
}

/**
 * <Https>: a vhost's own element replaces VHostDefault's whole. The certificate and key are read and checked
 * here (tls/certificate-check.ts): a problem names the file and the <Cert> or <Key> element.
 */
function readHttps(v: Validator, scope: Scope, inherited: HttpsConfig | null | undefined): HttpsConfig | null {
  const element = childElements(scope.element, 'Https')[0];
  if (element === undefined) return inherited ?? null;
  const where = element.where;
  const problemsBefore = v.problems.length;
  const listen = v.optional(scope, 'Vhost/Https@Listen', LISTEN);
  if (listen === null && element.attrs.get('Listen') === undefined) v.report(scope.file, `${where}@Listen`, 'missing; it is required');
  const certPath = v.optional(scope, 'Vhost/Https/Cert', PATH);
  if (certPath === null && childElements(element, 'Cert').length === 0) v.report(scope.file, `${where}/Cert`, 'missing; it is required');
  const keyPath = v.optional(scope, 'Vhost/Https/Key', PATH);
  if (keyPath === null && childElements(element, 'Key').length === 0) v.report(scope.file, `${where}/Key`, 'missing; it is required');
  const minVersion = v.one(scope, 'Vhost/Https@MinVersion', TLS_VERSION);
  const maxVersion = v.one(scope, 'Vhost/Https@MaxVersion', TLS_VERSION);
  if (TLS_VERSIONS.indexOf(minVersion) > TLS_VERSIONS.indexOf(maxVersion)) {
    v.report(scope.file, `${where}@MinVersion`, `${minVersion} is newer than MaxVersion ${maxVersion}`);
  }
  const ciphers = v.optional(scope, 'Vhost/Https@Ciphers', CIPHERS);
  const engine = v.one(scope, 'Vhost/Https@Engine', HTTPS_ENGINE);
  // uWS's SSLApp takes no version bounds and its cipher option is OpenSSL's TLS 1.2 list only (one that names no
  // TLS 1.2 suite fails when a worker builds the context): refused here rather than half applied.
  if (engine === 'uws' && (minVersion !== 'TLSv1.2' || maxVersion !== 'TLSv1.3' || ciphers !== null)) {
    v.report(scope.file, `${where}@Engine`, 'Engine="uws" takes no MinVersion, MaxVersion or Ciphers (it offers TLS 1.2 and 1.3 with OpenSSL\'s default suites); use Engine="node" to set them');
  }
  const hstsAge = v.optional(scope, 'Vhost/Https/Hsts', WHOLE_SECONDS);
  const subDomains = v.one(scope, 'Vhost/Https/Hsts@IncludeSubDomains', BOOL);
  const hsts = hstsAge === null ? null : `max-age=${hstsAge}${subDomains ? '; includeSubDomains' : ''}`;
  if (listen === null || certPath === null || keyPath === null || v.problems.length !== problemsBefore) return null;
  const check = checkCertificate(certPath, keyPath, Date.now());
  if (!check.ok) {
    v.report(scope.file, `${where}/${check.element}`, check.problem);
    return null;
  }
  return { listen, engine, certPath, keyPath, certPem: check.certPem, keyPem: check.keyPem, notAfterMs: check.notAfterMs, minVersion, maxVersion, ciphers, hsts };
}

/** <RedirectHttpToHttps ResCode>: the element's presence turns it on (ResCode default 301). */
function readRedirect(v: Validator, scope: Scope, inherited: 301 | 302 | 307 | 308 | null | undefined): 301 | 302 | 307 | 308 | null {
  if (childElements(scope.element, 'RedirectHttpToHttps').length === 0) return inherited ?? null;
  return Number(v.one(scope, 'Vhost/RedirectHttpToHttps@ResCode', REDIRECT_CODE)) as 301 | 302 | 307 | 308;
}

/**
 * Https listeners: one TLS server per address serves all its vhosts, so they must agree on versions and ciphers;
 * an Https address is never also a plain <Listen> address or the management port; a redirect needs <Https>.
 */
export function checkHttps(v: Validator, manager: ManagerConfig, vhosts: readonly Vhost[]): void {
  const wildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';
  const overlaps = (a: ListenAddress, b: ListenAddress): boolean => a.port === b.port && (a.host === b.host || wildcard(a.host) || wildcard(b.host));
  const first = new Map<string, Vhost>();
  for (const vhost of vhosts) {
    const where = `Vhosts/Vhost[Name=${vhost.name}]`;
    const https = vhost.https;
    if (https === null) {
      if (vhost.redirectHttpToHttps !== null) v.report('vhosts.xml', `${where}/RedirectHttpToHttps`, 'needs <Https> on this vhost (or in <VHostDefault>)');
      continue;
    }
    const key = `${https.listen.host}:${https.listen.port}`;
    const owner = first.get(key);
    if (owner === undefined) first.set(key, vhost);
    else if (owner.https !== null && (owner.https.minVersion !== https.minVersion || owner.https.maxVersion !== https.maxVersion || owner.https.ciphers !== https.ciphers)) {
      v.report('vhosts.xml', `${where}/Https`, `MinVersion, MaxVersion and Ciphers differ from vhost ${owner.name}'s on the same Https Listen ${key}`);
    } else if (owner.https !== null && owner.https.engine !== https.engine) {
      v.report('vhosts.xml', `${where}/Https@Engine`, `${https.engine} differs from vhost ${owner.name}'s ${owner.https.engine} on the same Https Listen ${key}`);
    }
    const plain = vhosts.flatMap((v) => v.listen.filter((l) => overlaps(l, https.listen)).map((l) => ({ vhost: v.name, l })))[0];
    if (plain !== undefined) {
      v.report('vhosts.xml', `${where}/Https@Listen`, `${key} is also a plain <Listen> address of vhost ${plain.vhost} (${plain.l.host}:${plain.l.port})`);
    }
    if (overlaps(https.listen, { host: manager.host, port: manager.port })) {
      v.report('vhosts.xml', `${where}/Https@Listen`, `port ${https.listen.port} is also the management port`);
    }
  }
}

/** <Log>: every element and attribute inherits on its own; `custom` needs an <AccessFormat>. */
function readLog(v: Validator, scope: Scope, inherited: VhostLog | undefined): VhostLog {
  const accessPath = v.one(scope, 'Vhost/Log/Access', LOG_PATH, inherited?.accessPath);
  const accessForm = v.one(scope, 'Vhost/Log/Access@Form', ACCESS_FORM, inherited?.accessForm);
  const problemsBefore = v.problems.length;
  const accessFormat = v.optional(scope, 'Vhost/Log/AccessFormat', ACCESS_FORMAT) ?? inherited?.accessFormat ?? null;
  // An <AccessFormat> that is present but invalid was reported just now; only a missing one is reported here.
  if (accessForm === 'custom' && accessFormat === null && accessPath !== null && v.problems.length === problemsBefore) {
    v.report(scope.file, `${scope.where}/Log/Access@Form`, '"custom" needs the line format in <Log><AccessFormat>');
  }
  return {
    accessPath,
    accessForm,
    accessFormat,
    accessRotation: readRotation(v, scope, 'Vhost/Log/Access', 'Log/Access', inherited?.accessRotation),
    originPath: v.one(scope, 'Vhost/Log/Origin', LOG_PATH, inherited?.originPath),
    imagePath: v.one(scope, 'Vhost/Log/Image', LOG_PATH, inherited?.imagePath),
    originRotation: readRotation(v, scope, 'Vhost/Log/Origin', 'Log/Origin', inherited?.originRotation),
  };
}

/** STON's `Type Unit Retention Compression` of the log element at schema path `at` (`where` below the scope). */
export function readRotation(v: Validator, scope: Scope, at: string, where: string, inherited: LogRotation | undefined): LogRotation {
  const type = v.one(scope, `${at}@Type`, ROTATION_TYPE, inherited?.type);
  const numbers = v.optional(scope, `${at}@Unit`, LOG_UNIT);
  let unit = inherited?.unit ?? DEFAULT_UNIT;
  if (numbers !== null) {
    const resolved = resolveLogUnit(type, numbers, unit);
    if (resolved.ok) unit = resolved.value;
    else v.report(scope.file, `${scope.where}/${where}@Unit`, resolved.error);
  }
  return {
    type,
    unit,
    retention: v.one(scope, `${at}@Retention`, INT, inherited?.retention),
    compression: v.one(scope, `${at}@Compression`, BOOL, inherited?.compression),
  };
}

/** Bypass defaults and cache key options (Flint stores no POST, so BypassPostRequest must stay ON). */
function readKeyOptions(v: Validator, scope: Scope, o: VhostOptions | undefined): Pick<VhostOptions, 'bypassPostRequest' | 'bypassGetRequest' | 'bypassNoCacheRequest' | 'caseSensitive' | 'ruleCaseSensitive' | 'applyQueryString' | 'queryCollective' | 'queryStringKeep' | 'queryStringDrop' | 'varyHeaders'> {
  const bypassPostRequest = v.one(scope, 'Vhost/Options/BypassPostRequest', BOOL, o?.bypassPostRequest);
  if (!bypassPostRequest) {
    v.report(scope.file, `${scope.where}/Options/BypassPostRequest`, 'OFF is not supported: Flint does not cache POST (STON <PostRequest>), so POST always passes to the origin');
  }
  const keepFound = v.locate(scope, getSetting('Vhost/Options/ApplyQueryString@Keep')).length > 0;
  const dropFound = v.locate(scope, getSetting('Vhost/Options/ApplyQueryString@Drop')).length > 0;
  const queryStringKeep = keepFound ? v.optional(scope, 'Vhost/Options/ApplyQueryString@Keep', NAME_LIST) : (o?.queryStringKeep ?? null);
  const queryStringDrop = dropFound ? v.optional(scope, 'Vhost/Options/ApplyQueryString@Drop', NAME_LIST) : (o?.queryStringDrop ?? null);
  if (queryStringKeep !== null && queryStringDrop !== null) {
    v.report(scope.file, `${scope.where}/Options/ApplyQueryString`, 'Keep and Drop cannot both be set');
  }
  return {
    bypassPostRequest: true,
    bypassGetRequest: v.one(scope, 'Vhost/Options/BypassGetRequest', BOOL, o?.bypassGetRequest),
    bypassNoCacheRequest: v.one(scope, 'Vhost/Options/BypassNoCacheRequest', BOOL, o?.bypassNoCacheRequest),
    caseSensitive: v.one(scope, 'Vhost/Options/CaseSensitive', BOOL, o?.caseSensitive),
    ruleCaseSensitive: v.one(scope, 'Vhost/Options/RuleCaseSensitive', BOOL, o?.ruleCaseSensitive),
    applyQueryString: v.one(scope, 'Vhost/Options/ApplyQueryString', BOOL, o?.applyQueryString),
    queryCollective: v.one(scope, 'Vhost/Options/ApplyQueryString@Collective', BOOL, o?.queryCollective),
    queryStringKeep,
    queryStringDrop,
    varyHeaders: v.one(scope, 'Vhost/Options/VaryHeader', VARY_LIST, o?.varyHeaders),
  };
}

/** <Options><TTL>: every child and attribute inherits on its own, so a vhost may set just <Res4xx>. */
function readTtl(v: Validator, scope: Scope, t: TtlPolicy | undefined): TtlPolicy {
  return {
    priority: v.one(scope, 'Vhost/Options/TTL@Priority', TTL_PRIORITY, t?.priority),
    res2xxSec: v.one(scope, 'Vhost/Options/TTL/Res2xx', WHOLE_SECONDS, t?.res2xxSec),
    res2xxRatioPercent: v.one(scope, 'Vhost/Options/TTL/Res2xx@Ratio', INT, t?.res2xxRatioPercent),
    res2xxMaxSec: v.one(scope, 'Vhost/Options/TTL/Res2xx@Max', WHOLE_SECONDS, t?.res2xxMaxSec),
    noCacheSec: v.one(scope, 'Vhost/Options/TTL/NoCache', WHOLE_SECONDS, t?.noCacheSec),
    res3xxSec: v.one(scope, 'Vhost/Options/TTL/Res3xx', WHOLE_SECONDS, t?.res3xxSec),
    res4xxSec: v.one(scope, 'Vhost/Options/TTL/Res4xx', WHOLE_SECONDS, t?.res4xxSec),
    res5xxSec: v.one(scope, 'Vhost/Options/TTL/Res5xx', WHOLE_SECONDS, t?.res5xxSec),
    heuristicPercent: v.one(scope, 'Vhost/Options/TTL/HeuristicPercent', INT, t?.heuristicPercent),
    heuristicMaxSec: v.one(scope, 'Vhost/Options/TTL/HeuristicMax', WHOLE_SECONDS, t?.heuristicMaxSec),
    errorExtensionSec: v.one(scope, 'Vhost/Options/TTL/ConnectTimeout', WHOLE_SECONDS, t?.errorExtensionSec),
  };
}

/** <Options><Compression>: the switch and every attribute inherit on their own. */
function readCompression(v: Validator, scope: Scope, c: CompressionOptions | undefined): CompressionOptions {
  const [minBytes, maxBytes] = v.one(scope, 'Vhost/Options/Compression@SourceSize', KIB_RANGE, c === undefined ? undefined : [c.sourceSize.minBytes, c.sourceSize.maxBytes]);
  return {
    enabled: v.one(scope, 'Vhost/Options/Compression', BOOL, c?.enabled),
    methods: v.one(scope, 'Vhost/Options/Compression@Method', ENCODING_LIST, c?.methods),
    gzipLevel: v.one(scope, 'Vhost/Options/Compression@GzipLevel', INT, c?.gzipLevel),
    brotliQuality: v.one(scope, 'Vhost/Options/Compression@BrotliQuality', INT, c?.brotliQuality),
    sourceSize: { minBytes, maxBytes },
  };
}

/** <OriginOptions><Recovery>: the count and every attribute inherit on their own. */
function readRecovery(v: Validator, scope: Scope, r: RecoveryProbe | undefined): RecoveryProbe {
  return {
    count: v.one(scope, 'Vhost/OriginOptions/Recovery', INT, r?.count),
    cycleMs: v.one(scope, 'Vhost/OriginOptions/Recovery@Cycle', SECONDS_AS_MS, r?.cycleMs),
    uri: v.one(scope, 'Vhost/OriginOptions/Recovery@Uri', PROBE_TARGET, r?.uri),
    resCodes: v.one(scope, 'Vhost/OriginOptions/Recovery@ResCode', STATUS_LIST, r?.resCodes),
    log: v.one(scope, 'Vhost/OriginOptions/Recovery@Log', BOOL, r?.log),
  };
}

function reportRepeatedListen(v: Validator, scope: Scope, listen: readonly ListenAddress[]): void {
  const seen = new Set<string>();
  for (const address of listen) {
    const key = `${address.host}:${address.port}`;
    if (seen.has(key)) v.report(scope.file, `${scope.where}/Listen`, `${quote(key)} is listed twice`);
    seen.add(key);
  }
}
