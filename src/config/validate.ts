/**
 * @module config/validate
 * Raw trees of server.xml + vhosts.xml (from config/parse.ts) -> a deep-frozen `Config`, or a `ConfigError` listing
 * every problem found. Each problem names the file, the element path and what is wrong:
 * `vhosts.xml: Vhosts/Vhost[Name=foo.com]/Origin/Address: "foo:99999" is not a valid host:port`.
 * Known elements, defaults and ranges come from config/schema.ts. No I/O but `<Origin><CA>` files (config/origin-ca.ts)
 * and the `<Https>` certificate and key files (tls/certificate-check.ts), so workers get their PEM text with the
 * config; the one environment read is the CPU count default for `<Workers>0`. Runs in the primary (start, SIGHUP
 * reload) and in `flint check-config`.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { readCaFile } from './origin-ca.js';
import { defaultNodeName, parseFleetName, parseNatsUrls } from './cluster.js';
import { hostname } from 'node:os';
import { ATTRIBUTE_PREFIX, TEXT_KEY } from './parse.js';
import { RULE_KINDS, bypassRulesFromElements, bypassRulesFromText, parseKeyList, queryRulesFromElements, queryRulesFromText, ttlRulesFromElements, ttlRulesFromText } from './rules.js';
import type { RuleElement } from './rules.js';
import { KNOWN_RULE_FILES } from './rules.js';
import { aclRulesFromText } from '../policy/edge-rules/acl-parse.js';
import { headerRulesFromText } from '../policy/edge-rules/header-parse.js';
import { compressionTargetsFromText } from '../transform/compression-targets.js';
import { SETTINGS, TTL_PRIORITIES, formatSize, getSetting } from './schema.js';
import type { Setting, SettingType } from './schema.js';
import { COMPRESSION_ENCODINGS, DIMS_GRAVITIES, TLS_VERSIONS, HTTPS_ENGINES, ACCESS_FORMS, BALANCE_MODES, COOKIE_REQUEST_MODES, LOG_LEVELS, MANAGER_ROLES, PURGE_TO_EXPIRE, ROOT_PURGE_EXPIRE, ROTATION_TYPES, SET_COOKIE_MODES } from './types.js';
import type { CompressionEncoding, CompressionOptions, LogRotation } from './types.js';
import { compileAccessFormat } from '../logs/access-format.js';
import { DEFAULT_UNIT, parseLogUnit, resolveLogUnit } from '../logs/log-settings.js';
import { findLinkProblems, parseLinkCondition } from './vhost-link.js';
import { findGeoRuleProblems, findSubProblems } from './edge-routing.js';
import { parseMethodList, parseOriginList, parseQueryParam, readErrorPage } from './edge-policy.js';
import { checkConditionChain, parseDimsColour, parseDimsKeyword, parseDimsName, parseDimsOffset, parseDimsText, readCompositeFile } from './dims.js';
import { globProblem } from '../policy/url-glob.js';
import { checkCertificate } from '../tls/certificate-check.js';
import { openGeoIpFile } from '../policy/geoip.js';
import { COUNTRY_CODES, isCountry } from '../policy/country-codes.js';
import { checkUrlRewrite, subPathGlob } from '../policy/url-rewrite-parse.js';
import { createHash } from 'node:crypto';
import type {
  ClusterConfig,
  DimsConfig,
  DimsLimits,
  Config,
  CorsConfig,
  ErrorPageConfig,
  LinkCondition,
  SignedUrlConfig,
  SubPath,
  UrlRewriteRule,
  GeoIpConfig,
  DiskConfig,
  HealthCheckerConfig,
  HttpsConfig,
  ListenAddress,
  ManagerConfig,
  ManagerRole,
  OriginAddress,
  OriginOptions,
  OriginTls,
  RecoveryProbe,
  ServerConfig,
  StorageConfig,
  TtlPolicy,
  Vhost,
  VhostClientLimits,
  VhostLog,
  VhostOptions,
  VhostRules,
} from './types.js';

/** What validateConfig needs: the raw trees from parse.ts and where and what they were read from. */
export interface ConfigSources {
  /** Absolute path of the conf directory; relative paths in the config resolve against its parent. */
  readonly confDir: string;
  /** sha1 hex of server.xml text + '\0' + vhosts.xml text, then any rule files (computed by config/load.ts). */
  readonly hash: string;
  /** Raw tree of server.xml (parseXml().tree). */
  readonly server: unknown;
  /** Raw tree of vhosts.xml (parseXml().tree). */
  readonly vhosts: unknown;
  /**
   * STON's per-vhost rule files found in the conf dir: vhost name -> file name (ttl.txt, bypass.txt,
   * querystring.txt) -> contents (read by config/load.ts from `svc/<vhost>/`). Absent = none.
   */
  readonly ruleFiles?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Most worker processes `<Workers>` may ask for, and the cap on the one-per-core default. */
export const MAX_WORKERS = 256;

/**
 * Validates both files together (vhosts inherit `<Server><VHostDefault>`) and returns the deep-frozen Config.
 * `cpuCount` (>= 1) is what `<Workers>0` resolves to; default os.availableParallelism(). Throws ConfigError.
 */
export function validateConfig(sources: ConfigSources, cpuCount: number = availableParallelism()): Config {
  if (!path.isAbsolute(sources.confDir)) throw new Error(`validateConfig: confDir must be absolute, got ${sources.confDir}`);
  if (!Number.isInteger(cpuCount) || cpuCount < 1) throw new Error(`validateConfig: cpuCount must be an integer >= 1, got ${cpuCount}`);
  const confDir = path.resolve(sources.confDir);
  const v = new Validator(path.dirname(confDir), sources.ruleFiles ?? {});

  const serverRoot = v.root('server.xml', sources.server, 'Server');
  const vhostsRoot = v.root('vhosts.xml', sources.vhosts, 'Vhosts');
  if (serverRoot !== undefined) v.checkShape('server.xml', serverRoot);
  if (vhostsRoot !== undefined) v.checkShape('vhosts.xml', vhostsRoot);

  const serverScope: Scope = { file: 'server.xml', element: serverRoot, where: 'Server', prefix: 'Server' };
  const server = v.readServer(serverScope, cpuCount);
  const vhostDefault = childElements(serverRoot, 'VHostDefault')[0];
  const defaults = v.readVhostSettings({ file: 'server.xml', element: vhostDefault, where: 'Server/VHostDefault', prefix: 'Vhost' }, undefined);

  const vhostsScope: Scope = { file: 'vhosts.xml', element: vhostsRoot, where: 'Vhosts', prefix: 'Vhosts' };
  const vhosts = v.readVhosts(vhostsScope, defaults);
  const defaultVhost = v.readDefaultVhost(vhostsScope, vhosts);
  const urlRewrites = v.readUrlRewrites(vhostsScope);
  v.checkGeoRules(server.serviceAccess.geoIp, vhosts);
  v.checkManagerPort(server.manager, vhosts);
  v.checkHttps(server.manager, vhosts);

  if (v.problems.length > 0) throw new ConfigError(v.problems);
  const config: Config = { confDir, hash: hashWithCertificates(sources.hash, vhosts, server.serviceAccess.geoIp), server, vhosts, defaultVhost, urlRewrites };
  deepFreeze(config);
  return config;
}

// ---------------------------------------------------------------------------------------------------------------
// The raw tree, narrowed

type FileName = 'server.xml' | 'vhosts.xml';
/** The lists a `<MatchingList Target>` may hold. */
type ListKind = keyof typeof RULE_KINDS | 'acl' | 'headers' | 'compression';

/** One element of a raw tree, narrowed from `unknown`. */
interface XmlElement {
  readonly name: string;
  /** Path for problems, with vhosts labelled: `Vhosts/Vhost[Name=a.com]/Origin`. */
  readonly where: string;
  /** Path in schema terms (no labels): `Vhosts/Vhost/Origin`. */
  readonly shapePath: string;
  readonly attrs: ReadonlyMap<string, string>;
  /** Trimmed text content; '' when none. */
  readonly text: string;
  readonly children: readonly XmlElement[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

/** Narrows one raw element; `index` is its 1-based position among same-named siblings (labels an unnamed Vhost). */
function toElement(raw: unknown, name: string, parentWhere: string, parentShape: string, index: number): XmlElement {
  const attrs = new Map<string, string>();
  let text = '';
  const rawChildren: Array<[string, unknown]> = [];
  if (isRecord(raw)) {
    for (const [key, value] of Object.entries(raw)) {
      if (key.startsWith(ATTRIBUTE_PREFIX)) attrs.set(key.slice(ATTRIBUTE_PREFIX.length), scalarText(value));
      else if (key === TEXT_KEY) text = scalarText(value);
      else rawChildren.push([key, value]);
    }
  } else {
    text = scalarText(raw);
  }
  let label = name;
  if (name === 'Vhost') {
    const vhostName = attrs.get('Name');
    label = vhostName !== undefined && vhostName !== '' ? `Vhost[Name=${vhostName}]` : `Vhost[${index}]`;
  }
  const where = parentWhere === '' ? label : `${parentWhere}/${label}`;
  const shapePath = parentShape === '' ? name : `${parentShape}/${name}`;
  const children: XmlElement[] = [];
  for (const [childName, value] of rawChildren) {
    const items: readonly unknown[] = Array.isArray(value) ? value : [value];
    items.forEach((item, i) => children.push(toElement(item, childName, where, shapePath, i + 1)));
  }
  return { name, where, shapePath, attrs, text, children };
}

function childElements(parent: XmlElement | undefined, name: string): XmlElement[] {
  return parent === undefined ? [] : parent.children.filter((c) => c.name === name);
}

// ---------------------------------------------------------------------------------------------------------------
// Known elements and attributes, derived from the schema table

interface Shape {
  readonly children: Set<string>;
  readonly attrs: Set<string>;
  /** Some setting is this element's text. */
  takesText: boolean;
}

/** Where a schema path can appear in the files: `Vhost/...` is under `Vhosts/Vhost` and, if inherited, VHostDefault. */
function concretePaths(setting: Setting): string[] {
  if (setting.path.startsWith('Server/') || setting.path.startsWith('Vhosts/')) return [setting.path];
  const inVhost = `Vhosts/${setting.path}`;
  return setting.inherit === true ? [inVhost, `Server/VHostDefault${setting.path.slice('Vhost'.length)}`] : [inVhost];
}

function buildShapes(): ReadonlyMap<string, Shape> {
  const shapes = new Map<string, Shape>();
  const shapeAt = (p: string): Shape => {
    let shape = shapes.get(p);
    if (shape === undefined) {
      shape = { children: new Set(), attrs: new Set(), takesText: false };
      shapes.set(p, shape);
    }
    return shape;
  };
  for (const setting of SETTINGS) {
    for (const concrete of concretePaths(setting)) {
      const [elementPath = '', attr] = concrete.split('@');
      const segments = elementPath.split('/');
      for (let i = 0; i < segments.length; i++) {
        const here = shapeAt(segments.slice(0, i + 1).join('/'));
        const next = segments[i + 1];
        if (next !== undefined) here.children.add(next);
      }
      if (attr === undefined) shapeAt(elementPath).takesText = true;
      else shapeAt(elementPath).attrs.add(attr);
    }
  }
  return shapes;
}

const SHAPES = buildShapes();
/**
 * Element paths that may repeat. By path, not by name: `<Key>` repeats in `<SignedUrl>` but not in `<Https>`, where
 * a second one is still reported.
 */
const REPEATED = new Set(['Vhosts/Vhost', 'Vhosts/URLRewrite', ...SETTINGS.filter((s) => s.repeated === true).flatMap((s) => concretePaths(s).map((p) => p.split('@')[0] ?? p))]);

/** Optimal string alignment distance (an adjacent swap counts 1), case-insensitive. */
function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= s.length; i++) {
    const row = d[i];
    if (row === undefined) continue;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(s.length, t.length);
}

/** The known name closest to `name`, if it is near enough to be a typo. */
function closest(name: string, known: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Value types: one parser per schema SettingType

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** A parser for one SettingType; `installDir` is the parent of the conf directory (for paths). */
interface ValueType<T> {
  readonly type: SettingType;
  parse(text: string, setting: Setting, installDir: string): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });
const quote = (text: string): string => JSON.stringify(text);

function checkRange(text: string, value: number, setting: Setting, show: (n: number) => string): string | undefined {
  const { min, max } = setting;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${show(min ?? 0)}` : `${show(min ?? 0)}..${show(max)}`;
    return `${quote(text)} is out of range (${range})`;
  }
  return undefined;
}

const INT: ValueType<number> = {
  type: 'int',
  parse(text, setting) {
    if (!/^[+-]?\d+$/.test(text)) return fail(`${quote(text)} is not a whole number`);
    const value = Number(text);
    const rangeError = checkRange(text, value, setting, String);
    return rangeError === undefined ? ok(value) : fail(rangeError);
  },
};

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

const SIZE: ValueType<number> = {
  type: 'size',
  parse(text, setting) {
    const match = /^(\d+)\s*([KMGT]?)$/i.exec(text);
    const multiplier = SIZE_UNITS[(match?.[2] ?? '').toUpperCase()];
    const value = match === null || multiplier === undefined ? Number.NaN : Number(match[1]) * multiplier;
    if (!Number.isSafeInteger(value)) return fail(`${quote(text)} is not a valid size (bytes, or a whole number with K, M, G or T)`);
    const rangeError = checkRange(text, value, setting, formatSize);
    if (rangeError !== undefined) return fail(rangeError);
    if (setting.powerOfTwo === true && (value < 1 || (value & (value - 1)) !== 0)) return fail(`${quote(text)} is not a power of two`);
    return ok(value);
  },
};

/** Seconds in XML -> milliseconds. */
const SECONDS_AS_MS: ValueType<number> = {
  type: 'seconds',
  parse(text, setting) {
    if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return fail(`${quote(text)} is not a number of seconds`);
    const seconds = Number(text);
    const rangeError = checkRange(text, seconds, setting, String);
    return rangeError === undefined ? ok(Math.round(seconds * 1000)) : fail(rangeError);
  },
};

/**
 * Whole seconds in XML -> seconds (the `...Sec` TTL fields). No fractions: a TTL finer than the one-second
 * resolution of Age, max-age and Expires (RFC 9111 §1.2.2 delta-seconds) could not be honoured.
 */
const WHOLE_SECONDS: ValueType<number> = {
  type: 'whole-seconds',
  parse(text, setting) {
    if (!/^\d+$/.test(text)) return fail(`${quote(text)} is not a whole number of seconds`);
    const seconds = Number(text);
    const rangeError = checkRange(text, seconds, setting, String);
    return rangeError === undefined ? ok(seconds) : fail(rangeError);
  },
};

const BOOL: ValueType<boolean> = {
  type: 'bool',
  parse(text) {
    const lower = text.toLowerCase();
    if (lower === 'on' || lower === 'true') return ok(true);
    if (lower === 'off' || lower === 'false') return ok(false);
    return fail(`${quote(text)} is not a valid boolean (ON or OFF)`);
  },
};

function enumType<T extends string>(values: readonly T[]): ValueType<T> {
  return {
    type: 'enum',
    parse(text) {
      const value = values.find((v) => v.toLowerCase() === text.toLowerCase());
      return value === undefined ? fail(`${quote(text)} is not one of ${values.join(', ')}`) : ok(value);
    },
  };
}

/** `br,gzip` or `gzip|br` -> encodings in that order, each once. */
const ENCODING_LIST: ValueType<CompressionEncoding[]> = {
  type: 'encoding-list',
  parse(text) {
    const out: CompressionEncoding[] = [];
    for (const part of text.split(/[,|]/)) {
      const name = part.trim().toLowerCase();
      const encoding = COMPRESSION_ENCODINGS.find((e) => e === name);
      if (encoding === undefined) return fail(`${quote(part.trim())} is not ${COMPRESSION_ENCODINGS.join(' or ')}`);
      if (out.includes(encoding)) return fail(`${quote(encoding)} is listed twice`);
      out.push(encoding);
    }
    return ok(out);
  },
};

/** Largest SourceSize bound (KiB): a compressed object's identity body is held whole in memory while compressed. */
const KIB_RANGE_MAX = 65536;

/** `min-max` in KiB -> [min, max] in bytes. */
const KIB_RANGE: ValueType<[number, number]> = {
  type: 'kib-range',
  parse(text) {
    const m = /^(\d{1,6})\s*-\s*(\d{1,6})$/.exec(text);
    if (m === null) return fail(`${quote(text)} is not min-max in KiB (1-4096)`);
    const min = Number(m[1]);
    const max = Number(m[2]);
    if (min > max) return fail(`${quote(text)}: min is larger than max`);
    if (max > KIB_RANGE_MAX) return fail(`${quote(text)}: max is over ${KIB_RANGE_MAX} KiB`);
    return ok([min * 1024, max * 1024]);
  },
};

/** `a, b` -> names (trimmed, empty ones dropped). */
const NAME_LIST: ValueType<string[]> = {
  type: 'name-list',
  parse(text) {
    const r = parseKeyList(text);
    return r.ok ? ok(r.value) : fail(r.error);
  },
};

/** `*` = null (every name), `OFF` = [] (none), else lower-case header names. */
const VARY_LIST: ValueType<string[] | null> = {
  type: 'vary-list',
  parse(text) {
    if (text === '*') return ok(null);
    if (/^(off|none)$/i.test(text)) return ok([]);
    const names = text.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
    const bad = names.find((n) => !/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(n) || n === '*');
    if (names.length === 0 || bad !== undefined) return fail(`${quote(text)} is not *, OFF or a comma-separated list of header names`);
    return ok(names);
  },
};

/**
 * RFC 9213 target list: `OFF` = [] (none), else lower-case header field names in order. Fields clients need
 * (Cache-Control, Expires, ...) cannot be targeted fields: Flint leaves targeted fields out of every response.
 */
const TARGETED_FIELDS: ValueType<string[]> = {
  type: 'name-list',
  parse(text) {
    if (/^(off|none)$/i.test(text)) return ok([]);
    const names = text.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
    const bad = names.find((n) => !/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(n));
    if (names.length === 0 || bad !== undefined) return fail(`${quote(text)} is not OFF or a comma-separated list of header field names`);
    const reserved = names.find((n) => ['cache-control', 'expires', 'pragma', 'age', 'date', 'vary', 'content-length', 'content-type'].includes(n));
    if (reserved !== undefined) return fail(`${quote(reserved)} cannot be a targeted field: targeted fields are never forwarded to clients`);
    return ok(names);
  },
};

/** `<CacheTag>`: OFF = [] (no tags), else lower-case field names; fields a client or the cache needs cannot carry tags (they may be stripped). */
const TAG_FIELDS: ValueType<string[]> = {
  type: 'name-list',
  parse(text) {
    if (/^(off|none)$/i.test(text)) return ok([]);
    const names = text.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
    const bad = names.find((n) => !/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(n));
    if (names.length === 0 || bad !== undefined) return fail(`${quote(text)} is not OFF or a comma-separated list of header field names`);
    const reserved = names.find((n) => ['cache-control', 'expires', 'pragma', 'age', 'date', 'vary', 'content-length', 'content-type', 'content-encoding', 'etag', 'last-modified', 'set-cookie', 'location'].includes(n));
    if (reserved !== undefined) return fail(`${quote(reserved)} cannot carry cache tags: tag fields are removed before clients`);
    return ok(names);
  },
};

const SET_COOKIE = enumType(SET_COOKIE_MODES);
const COOKIE_REQUEST = enumType(COOKIE_REQUEST_MODES);
const BALANCE_MODE = enumType(BALANCE_MODES);
const ORIGIN_PROTOCOL = enumType(['HTTP', 'HTTPS'] as const);
const LOG_LEVEL = enumType(LOG_LEVELS);
const TTL_PRIORITY = enumType(TTL_PRIORITIES);
const MANAGER_ROLE = enumType(MANAGER_ROLES);
const PURGE_2_EXPIRE = enumType(PURGE_TO_EXPIRE);
const ROOT_PURGE = enumType(ROOT_PURGE_EXPIRE);

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Free text; `*` = null (pass the client's value through). */
const STAR_OR_STRING: ValueType<string | null> = {
  type: 'string',
  parse(text) {
    if (hasControlCharacter(text)) return fail(`${quote(text)} contains control characters`);
    return ok(text === '*' ? null : text);
  },
};

const TLS_VERSION = enumType(TLS_VERSIONS);
const HTTPS_ENGINE = enumType(HTTPS_ENGINES);
const REDIRECT_CODE = enumType(['301', '302', '307', '308'] as const);

/** An OpenSSL cipher list: visible ASCII, no spaces needed (`:`-separated). */
const CIPHERS: ValueType<string> = {
  type: 'string',
  parse(text) {
    return /^[\u0021-\u007e]+$/.test(text) ? ok(text) : fail(`${quote(text)} is not an OpenSSL cipher list (names separated by ':')`);
  },
};

/** A secret: the problem never echoes it. */
const TOKEN: ValueType<string> = {
  type: 'token',
  parse(text) {
    return /^[\u0021-\u007e]+$/.test(text) ? ok(text) : fail('the token must be visible ASCII characters without spaces');
  },
};

/** `<SignedUrl Param|ExpiresParam>` (config/edge-policy.ts). */
const QUERY_PARAM: ValueType<string> = {
  type: 'query-param',
  parse(text) {
    const r = parseQueryParam(text);
    return r.ok ? ok(r.value) : fail(r.error);
  },
};

/** `<Cors AllowOrigin>`: [] = every origin (config/edge-policy.ts). */
const ORIGIN_LIST: ValueType<string[]> = {
  type: 'origin-list',
  parse(text) {
    const r = parseOriginList(text);
    return r.ok ? ok(r.value) : fail(r.error);
  },
};

/** A URL glob of a setting (policy/url-glob.ts syntax). */
const URL_GLOB: ValueType<string> = {
  type: 'url-glob',
  parse(text) {
    const problem = globProblem(text);
    return problem === null ? ok(text) : fail(problem);
  },
};

const NATS_URLS: ValueType<string[]> = { type: 'nats-urls', parse: parseNatsUrls };
const FLEET_NAME: ValueType<string> = { type: 'fleet-name', parse: parseFleetName };

const SIGNED_URL_STATUS = enumType(['Active', 'Inactive'] as const);
const REWRITE_ACCESS_LOG = enumType(['Replace'] as const);
const SUB_STATUS = enumType(['Active', 'Inactive'] as const);

/** `<Dims>` value forms (config/dims.ts). */
const fromResult = <T>(r: { ok: true; value: T } | { ok: false; error: string }): Parsed<T> => (r.ok ? ok(r.value) : fail(r.error));
const DIMS_KEYWORD: ValueType<string> = { type: 'token', parse: (text) => fromResult(parseDimsKeyword(text)) };
const DIMS_NAME: ValueType<string> = { type: 'string', parse: (text) => fromResult(parseDimsName(text)) };
const DIMS_OFFSET: ValueType<{ x: number; y: number; percent: boolean }> = { type: 'string', parse: (text) => fromResult(parseDimsOffset(text)) };
const DIMS_COLOUR: ValueType<string> = { type: 'string', parse: (text) => fromResult(parseDimsColour(text)) };
const DIMS_TEXT: ValueType<{ text: string | null; queryKey: string | null }> = { type: 'string', parse: (text) => fromResult(parseDimsText(text)) };
const DIMS_GRAVITY = enumType(DIMS_GRAVITIES);
/** Free text without control characters (a font name, a condition chain). */
const PLAIN_TEXT: ValueType<string> = { type: 'string', parse: (text) => (hasControlCharacter(text) ? fail(`${quote(text)} contains control characters`) : ok(text)) };

const DNS_LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const DNS_NAME = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

/** A DNS name or an IPv4 literal (lower-case). All-numeric names must be valid IPv4. */
function isHostName(name: string): boolean {
  if (name.length > 253 || !DNS_NAME.test(name)) return false;
  return /^[\d.]+$/.test(name) ? isIPv4(name) : true;
}

const HOST_NAME: ValueType<string> = {
  type: 'host-name',
  parse(text) {
    const name = text.toLowerCase();
    return isHostName(name) ? ok(name) : fail(`${quote(text)} is not a valid host name`);
  },
};

const VHOST_REF: ValueType<string> = { type: 'vhost-ref', parse: HOST_NAME.parse };

const LINK_CONDITION: ValueType<LinkCondition> = {
  type: 'link-condition',
  parse(text) {
    const parsed = parseLinkCondition(text);
    return 'error' in parsed ? fail(parsed.error) : ok(parsed.value);
  },
};

const ALIAS: ValueType<string> = {
  type: 'alias',
  parse(text) {
    const alias = text.toLowerCase();
    const name = alias.startsWith('*.') ? alias.slice(2) : alias;
    return isHostName(name) ? ok(alias) : fail(`${quote(text)} is not a valid alias (a host name, or *. and a host name)`);
  },
};

/** An IP address, optionally in brackets; `*` = 0.0.0.0. */
const IP: ValueType<string> = {
  type: 'ip',
  parse(text) {
    if (text === '*') return ok('0.0.0.0');
    const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
    return isIP(bare) === 0 ? fail(`${quote(text)} is not an IP address`) : ok(bare.toLowerCase());
  },
};

/** `Allow` / `Deny` (STON's Default attributes), stored lower-case. */
const ALLOW_DENY: ValueType<'allow' | 'deny'> = {
  type: 'enum',
  parse(text) {
    const lower = text.toLowerCase();
    return lower === 'allow' || lower === 'deny' ? ok(lower) : fail(`${quote(text)} is not Allow or Deny`);
  },
};

const IP_OR_CIDR: ValueType<string> = {
  type: 'ip-or-cidr',
  parse(text) {
    const [address = '', prefix, extra] = text.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    return family !== 0 && prefixOk && extra === undefined ? ok(text) : fail(`${quote(text)} is not an IP address or CIDR range`);
  },
};

/** A `<ServiceAccess>` entry: an address or CIDR range, or an upper-cased country code (STON, with GeoIP). */
const ADDRESS_OR_COUNTRY: ValueType<string> = {
  type: 'address-or-country',
  parse(text, setting, installDir) {
    if (!/^[A-Za-z]{2}$/.test(text)) return IP_OR_CIDR.parse(text, setting, installDir);
    const code = text.toUpperCase();
    return COUNTRY_CODES.has(code) ? ok(code) : fail(`${quote(text)} is neither an IP address or CIDR range nor an ISO 3166-1 alpha-2 country code`);
  },
};

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

const LISTEN: ValueType<ListenAddress> = {
  type: 'listen',
  parse(text) {
    const invalid = fail<ListenAddress>(`${quote(text)} is not a valid listen address (*:port, ipv4:port or [ipv6]:port)`);
    const match = /^(\*|\[([^\]]+)\]|([\d.]+)):(\d+)$/.exec(text);
    if (match === null) return invalid;
    const [, all, v6, v4, portText] = match;
    const port = parsePort(portText);
    if (port === undefined) return fail(`${quote(text)} is not a valid listen address: the port must be 1..65535`);
    if (all === '*') return ok({ host: '0.0.0.0', port });
    if (v6 !== undefined) return isIPv6(v6) ? ok({ host: v6.toLowerCase(), port }) : invalid;
    return v4 !== undefined && isIPv4(v4) ? ok({ host: v4, port }) : invalid;
  },
};

/** RFC 3986 path characters (no query or fragment). */
const URL_PATH = /^(\/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)*$/;

const ORIGIN_ADDRESS: ValueType<OriginAddress> = {
  type: 'origin-address',
  parse(text) {
    const invalid = fail<OriginAddress>(`${quote(text)} is not a valid host:port`);
    const match = /^(\[[^\]]*\]|[^:/[\]]+)(?::([^/]*))?(\/.*)?$/.exec(text);
    if (match === null) return invalid;
    const [, rawHost = '', portText, rawPath = ''] = match;
    let host: string;
    if (rawHost.startsWith('[')) {
      host = rawHost.slice(1, -1).toLowerCase();
      if (!isIPv6(host)) return invalid;
    } else {
      host = rawHost.toLowerCase();
      if (!isHostName(host)) return invalid;
    }
    const port = portText === undefined ? 80 : parsePort(portText);
    if (port === undefined || !URL_PATH.test(rawPath)) return invalid;
    return ok({ text, host, port, pathPrefix: rawPath.replace(/\/+$/, '') });
  },
};

/** Under HTTPS an address written without a port means 443 (ORIGIN_ADDRESS assumes HTTP's 80). */
function withDefaultPort(addresses: OriginAddress[], tls: OriginTls | null): OriginAddress[] {
  if (tls === null) return addresses;
  return addresses.map((a) => (/^(\[[^\]]*\]|[^:/[\]]+):/.test(a.text) ? a : { ...a, port: 443 }));
}

/** `<Retry>`: a count, or `all` (= the largest count, every member once). */
const RETRY: ValueType<number> = {
  type: 'int',
  parse(text, setting) {
    return text.toLowerCase() === 'all' ? ok(setting.max ?? 65535) : INT.parse(text, setting, '');
  },
};

/** `<IgnoreSuffix>`: non-empty text without control characters. */
const SUFFIX: ValueType<string> = {
  type: 'string',
  parse(text) {
    if (text === '') return fail('the suffix must not be empty');
    return hasControlCharacter(text) ? fail(`${quote(text)} contains control characters`) : ok(text);
  },
};

/** A path; relative ones resolve against the install directory (parent of conf/). */
const PATH: ValueType<string> = {
  type: 'path',
  parse(text, _setting, installDir) {
    if (text.includes('\u0000')) return fail(`${quote(text)} is not a valid path`);
    // A STON habit (<Info>ON</Info>) must not become a file named ON.
    if (/^(on|off)$/i.test(text)) return fail(`${quote(text)} is not accepted here; give a file or directory path`);
    return ok(path.resolve(installDir, text));
  },
};

/** A log file path; OFF = null, ON = the setting's default path. */
const LOG_PATH: ValueType<string | null> = {
  type: 'log-path',
  parse(text, setting, installDir) {
    const lower = text.toLowerCase();
    if (lower === 'off') return ok(null);
    // ON = the default path; for a log that is OFF by default, var/log/<element>.log (<Origin>ON -> origin.log).
    const element = setting.path.slice(setting.path.lastIndexOf('/') + 1).toLowerCase();
    const onPath = typeof setting.default === 'string' && setting.default !== 'OFF' ? setting.default : `var/log/${element}.log`;
    return PATH.parse(lower === 'on' ? onPath : text, setting, installDir);
  },
};

// <Log>: STON's Type Unit Retention Compression (logs/log-settings.ts) and the access Form and format.
const ACCESS_FORM = enumType(ACCESS_FORMS);
const ROTATION_TYPE = enumType(ROTATION_TYPES);
const LOG_UNIT: ValueType<number[]> = { type: 'log-unit', parse: parseLogUnit };
const ACCESS_FORMAT: ValueType<string> = {
  type: 'access-format',
  parse(text) {
    const compiled = compileAccessFormat(text);
    return compiled.ok ? ok(text) : fail(`${quote(text)}: ${compiled.error}`);
  },
};

/** What a probe requests: a path (query allowed) or an absolute http:// URL (its host is sent as Host). */
const PROBE_TARGET: ValueType<string> = {
  type: 'probe-target',
  parse(text) {
    const invalid = fail<string>(`${quote(text)} is not a path starting with / or an http:// URL`);
    if (hasControlCharacter(text) || text.includes(' ')) return invalid;
    if (text.startsWith('/')) return URL_PATH.test(text.split('?')[0] ?? '') ? ok(text) : invalid;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return invalid;
    }
    return url.protocol === 'http:' && url.hostname !== '' ? ok(text) : fail(`${quote(text)} is not an http:// URL (only http probes are supported)`);
  },
};

/** `200, 404` -> [200, 404]; `0` = any response. */
const STATUS_LIST: ValueType<number[]> = {
  type: 'status-list',
  parse(text) {
    const codes: number[] = [];
    for (const part of text.split(',')) {
      const item = part.trim();
      const code = /^\d{1,3}$/.test(item) ? Number(item) : Number.NaN;
      if (!(code === 0 || (code >= 100 && code <= 599))) {
        return fail(`${quote(text)} is not a list of HTTP status codes (100..599, comma-separated; 0 = any)`);
      }
      codes.push(code);
    }
    return ok(codes);
  },
};

/** `502, 503` -> [502, 503]; `OFF` = none. */
const STATUS_SET: ValueType<number[]> = {
  type: 'status-set',
  parse(text) {
    if (text.trim().toUpperCase() === 'OFF') return ok([]);
    const codes: number[] = [];
    for (const part of text.split(',')) {
      const item = part.trim();
      const code = /^\d{3}$/.test(item) ? Number(item) : Number.NaN;
      if (!(code >= 100 && code <= 599)) return fail(`${quote(text)} is not OFF or a list of HTTP status codes (100..599, comma-separated)`);
      if (!codes.includes(code)) codes.push(code);
    }
    return ok(codes);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Reading settings

/**
 * Where settings are read from: `element` is the element the setting paths starting with `prefix` are relative to
 * (`Vhost/...` settings against one <Vhost> or against <VHostDefault>). `element` undefined = absent in the file.
 */
interface Scope {
  readonly file: FileName;
  readonly element: XmlElement | undefined;
  readonly where: string;
  readonly prefix: string;
}

/** The settings <VHostDefault> provides and each vhost inherits. */
interface VhostDefaults {
  readonly listen: readonly ListenAddress[];
  readonly https: HttpsConfig | null;
  readonly redirectHttpToHttps: 301 | 302 | 307 | 308 | null;
  readonly originOptions: OriginOptions;
  readonly options: VhostOptions;
  readonly log: VhostLog;
  readonly clientLimits: VhostClientLimits;
}

interface Found {
  readonly text: string;
  readonly where: string;
}

class Validator {
  /** Every problem found so far, in the order found. */
  readonly problems: string[] = [];
  readonly #installDir: string;
  readonly #ruleFiles: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** `<ServiceAccess GeoIP>` is present (whether or not its file could be opened). */
  #geoIpNamed = false;

  constructor(installDir: string, ruleFiles: Readonly<Record<string, Readonly<Record<string, string>>>>) {
    this.#installDir = installDir;
    this.#ruleFiles = ruleFiles;
  }

  #report(file: FileName, where: string, what: string): void {
    this.problems.push(`${file}: ${where}: ${what}`);
  }

  /** The root element of a raw tree if it is the one expected. */
  root(file: FileName, raw: unknown, expected: string): XmlElement | undefined {
    const names = isRecord(raw) ? Object.keys(raw) : [];
    if (names.length !== 1 || names[0] !== expected) {
      const found = names.length === 0 ? 'no root element' : `root element ${names.map((n) => `<${n}>`).join(', ')}`;
      this.problems.push(`${file}: found ${found}; expected exactly one root element <${expected}>`);
      return undefined;
    }
    const value = isRecord(raw) ? raw[expected] : undefined;
    if (!Array.isArray(value)) return toElement(value, expected, '', '', 1);
    // The parser turns repeated same-named elements into an array, roots included.
    if (value.length !== 1) {
      this.problems.push(`${file}: found ${value.length} root elements <${expected}>; expected exactly one`);
      return undefined;
    }
    return toElement(value[0], expected, '', '', 1);
  }

  /** Reports unknown elements and attributes, text where none belongs, and repeats of single elements. */
  checkShape(file: FileName, element: XmlElement): void {
    const shape = SHAPES.get(element.shapePath);
    if (shape === undefined) return;
    for (const attr of element.attrs.keys()) {
      if (shape.attrs.has(attr)) continue;
      let hint: string;
      if (shape.children.has(attr)) hint = `${attr} is an element here: write <${attr}>...</${attr}> inside <${element.name}>`;
      else if (shape.attrs.size === 0) hint = `<${element.name}> takes no attributes`;
      else {
        const near = closest(attr, shape.attrs);
        hint = near !== undefined ? `did you mean ${near}?` : `expected one of ${[...shape.attrs].join(', ')}`;
      }
      this.#report(file, `${element.where}@${attr}`, `unknown attribute; ${hint}`);
    }
    if (element.text !== '' && !shape.takesText) {
      const shown = element.text.length > 40 ? `${element.text.slice(0, 40)}...` : element.text;
      this.#report(file, element.where, `unexpected text ${quote(shown)}; <${element.name}> holds only elements`);
    }
    const counts = new Map<string, number>();
    for (const child of element.children) {
      const count = (counts.get(child.name) ?? 0) + 1;
      counts.set(child.name, count);
      if (!shape.children.has(child.name)) {
        let hint: string;
        if (shape.attrs.has(child.name)) hint = `${child.name} is an attribute here: <${element.name} ${child.name}="...">`;
        else if (shape.children.size === 0) hint = `<${element.name}> takes no child elements`;
        else {
          const near = closest(child.name, shape.children);
          hint = near !== undefined ? `did you mean <${near}>?` : `expected one of ${[...shape.children].map((c) => `<${c}>`).join(', ')}`;
        }
        if (count === 1) this.#report(file, child.where, `unknown element; ${hint}`);
        continue;
      }
      if (count === 2 && !REPEATED.has(child.shapePath)) {
        const total = element.children.filter((c) => c.name === child.name).length;
        this.#report(file, child.where, `appears ${total} times; only one is allowed`);
      }
      this.checkShape(file, child);
    }
  }

  /** Every value of `setting` present in `scope` (elements' text or attributes), in document order. */
  #locate(scope: Scope, setting: Setting): Found[] {
    const rest = setting.path.slice(scope.prefix.length);
    if (!setting.path.startsWith(scope.prefix) || !(rest === '' || rest.startsWith('/') || rest.startsWith('@'))) {
      throw new Error(`config/validate: ${setting.path} read in ${scope.prefix} scope`);
    }
    const [elementRel = '', attr] = rest.split('@');
    let elements = scope.element === undefined ? [] : [scope.element];
    for (const segment of elementRel.split('/').filter((s) => s !== '')) {
      elements = elements.flatMap((e) => childElements(e, segment));
    }
    if (attr === undefined) return elements.map((e) => ({ text: e.text, where: e.where }));
    return elements.flatMap((e) => {
      const text = e.attrs.get(attr);
      return text === undefined ? [] : [{ text, where: `${e.where}@${attr}` }];
    });
  }

  /** Where a missing setting would have been. */
  #missingWhere(scope: Scope, setting: Setting): string {
    return `${scope.where}${setting.path.slice(scope.prefix.length)}`;
  }

  #parse<T>(scope: Scope, found: Found, setting: Setting, type: ValueType<T>): T | undefined {
    if (found.text === '') {
      this.#report(scope.file, found.where, 'is empty');
      return undefined;
    }
    const parsed = type.parse(found.text, setting, this.#installDir);
    if (parsed.ok) return parsed.value;
    this.#report(scope.file, found.where, parsed.error);
    return undefined;
  }

  #setting(settingPath: string, type: ValueType<unknown>): Setting {
    const setting = getSetting(settingPath);
    if (setting.type !== type.type) throw new Error(`config/validate: ${settingPath} is ${setting.type}, read as ${type.type}`);
    return setting;
  }

  /** The schema default of a setting, parsed (the first one for repeated settings). */
  #defaultOf<T>(setting: Setting, type: ValueType<T>): T {
    const text = typeof setting.default === 'string' ? setting.default : setting.default?.[0];
    const parsed = text === undefined ? undefined : type.parse(text, setting, this.#installDir);
    if (parsed === undefined || !parsed.ok) throw new Error(`config/validate: no valid default for ${setting.path}`);
    return parsed.value;
  }

  /** A single-valued setting: the value in `scope`, else `inherited` (when given), else the schema default. */
  one<T>(scope: Scope, settingPath: string, type: ValueType<T>, inherited?: T): T {
    const setting = this.#setting(settingPath, type);
    const found = this.#locate(scope, setting)[0];
    const value = found === undefined ? undefined : this.#parse(scope, found, setting, type);
    if (value !== undefined) return value;
    return inherited !== undefined ? inherited : this.#defaultOf(setting, type);
  }

  /** A single-valued setting without a default: null when absent (or reported missing when required). */
  optional<T>(scope: Scope, settingPath: string, type: ValueType<T>): T | null {
    const setting = this.#setting(settingPath, type);
    const found = this.#locate(scope, setting)[0];
    if (found === undefined) {
      if (setting.required === true) this.#report(scope.file, this.#missingWhere(scope, setting), 'missing; it is required');
      return null;
    }
    return this.#parse(scope, found, setting, type) ?? null;
  }

  /** A repeated setting: the valid values present in `scope`, or undefined when none is present at all. */
  many<T>(scope: Scope, settingPath: string, type: ValueType<T>): T[] | undefined {
    const setting = this.#setting(settingPath, type);
    const found = this.#locate(scope, setting);
    if (found.length === 0) {
      if (setting.required === true) this.#report(scope.file, this.#missingWhere(scope, setting), 'missing; at least one is required');
      return undefined;
    }
    const values: T[] = [];
    for (const item of found) {
      const value = this.#parse(scope, item, setting, type);
      if (value !== undefined) values.push(value);
    }
    return values;
  }

  /** Every schema default of a repeated setting, parsed. */
  defaultsOf<T>(settingPath: string, type: ValueType<T>): T[] {
    const setting = this.#setting(settingPath, type);
    const texts = Array.isArray(setting.default) ? setting.default : [];
    return texts.map((text: string) => {
      const parsed = type.parse(text, setting, this.#installDir);
      if (!parsed.ok) throw new Error(`config/validate: invalid default ${text} for ${settingPath}`);
      return parsed.value;
    });
  }

  /** server.xml outside <VHostDefault>, read in schema order so problems come out in that order. */
  readServer(scope: Scope, cpuCount: number): ServerConfig {
    const manager = this.#readManager(scope);
    const serviceAccess = {
      defaultAction: this.one(scope, 'Server/Host/ServiceAccess@Default', ALLOW_DENY),
      allow: this.many(scope, 'Server/Host/ServiceAccess/Allow', ADDRESS_OR_COUNTRY) ?? [],
      deny: this.many(scope, 'Server/Host/ServiceAccess/Deny', ADDRESS_OR_COUNTRY) ?? [],
      geoIp: this.#readGeoIp(scope),
    };
    const countries = [...serviceAccess.allow, ...serviceAccess.deny].filter(isCountry);
    if (countries.length > 0 && !this.#geoIpNamed) {
      this.#report(scope.file, 'Server/Host/ServiceAccess', `${countries.map((c) => quote(c)).join(', ')}: country entries need a GeoIP database (<ServiceAccess GeoIP="/path/GeoLite2-Country.mmdb">)`);
    }
    const log = {
      level: this.one(scope, 'Server/Host/Log@Level', LOG_LEVEL),
      infoPath: this.optional(scope, 'Server/Host/Log/Info', PATH),
      infoRotation: this.#readRotation(scope, 'Server/Host/Log/Info', 'Host/Log/Info', undefined),
    };
    const maxRequestHeaderBytes = this.one(scope, 'Server/Host/MaxRequestHeaderSize', SIZE);
    const http2 = {
      maxConcurrentStreams: this.one(scope, 'Server/Host/Http2/MaxConcurrentStreams', INT),
      initialWindowSize: this.one(scope, 'Server/Host/Http2/InitialWindowSize', SIZE),
      idleTimeoutMs: this.one(scope, 'Server/Host/Http2/IdleTimeout', SECONDS_AS_MS),
    };
    const clientLimits = {
      maxSockets: this.one(scope, 'Server/Host/MaxSockets', INT),
      reopenPercent: this.one(scope, 'Server/Host/MaxSockets@Reopen', INT),
      headerTimeoutMs: this.one(scope, 'Server/Host/RequestHeaderTimeout', SECONDS_AS_MS),
    };
    const workers = this.one(scope, 'Server/Cache/Workers', INT);
    const cpuAffinity = this.one(scope, 'Server/Cache/CpuAffinity', BOOL);
    const shutdownTimeoutMs = this.one(scope, 'Server/Cache/ShutdownTimeout', SECONDS_AS_MS);
    const storage = this.#readStorage(scope);
    const memory = {
      contentMemoryPercent: this.one(scope, 'Server/Cache/ContentMemoryRatio', INT),
      hotObjectMaxBytes: this.one(scope, 'Server/Cache/HotObjectMaxSize', SIZE),
    };
    return {
      manager,
      serviceAccess,
      workers: workers === 0 ? Math.min(MAX_WORKERS, cpuCount) : workers,
      cpuAffinity,
      shutdownTimeoutMs,
      maxRequestHeaderBytes,
      http2,
      clientLimits,
      storage,
      memory,
      log,
      configHistory: {
        keep: this.one(scope, 'Server/Cache/ConfigHistory', INT),
        dir: this.optional(scope, 'Server/Cache/ConfigHistory@Dir', PATH),
      },
      cluster: this.#readCluster(scope),
      dims: this.#readDimsLimits(scope),
    };
  }

  /** `<Cache><Dims Concurrency Queue Timeout>` (issue 21). */
  #readDimsLimits(scope: Scope): DimsLimits {
    return {
      concurrency: this.one(scope, 'Server/Cache/Dims@Concurrency', INT),
      queueLimit: this.one(scope, 'Server/Cache/Dims@Queue', INT),
      timeoutMs: this.one(scope, 'Server/Cache/Dims@Timeout', SECONDS_AS_MS),
    };
  }

  /** <Cluster>: null unless <Nats> is ON (the other elements are still checked, so a typo is reported either way). */
  #readCluster(scope: Scope): ClusterConfig | null {
    const on = this.one(scope, 'Server/Cluster/Nats', BOOL);
    const cluster: ClusterConfig = {
      urls: this.one(scope, 'Server/Cluster/Nats@Url', NATS_URLS),
      nodeName: this.optional(scope, 'Server/Cluster/NodeName', FLEET_NAME) ?? defaultNodeName(hostname()),
      group: this.optional(scope, 'Server/Cluster/Group', FLEET_NAME),
      purgeRetentionSec: this.one(scope, 'Server/Cluster/PurgeRetention', WHOLE_SECONDS),
      waitMs: this.one(scope, 'Server/Cluster/Wait', SECONDS_AS_MS),
    };
    return on ? cluster : null;
  }

  /** `<ServiceAccess GeoIP>`: the database is opened now, so a missing or corrupt file is a config error. */
  #readGeoIp(scope: Scope): GeoIpConfig | null {
    const file = this.optional(scope, 'Server/Host/ServiceAccess@GeoIP', PATH);
    if (file === null) return null;
    this.#geoIpNamed = true;
    const opened = openGeoIpFile(file);
    if (opened.ok) return { file, sha1: opened.sha1 };
    this.#report(scope.file, 'Server/Host/ServiceAccess@GeoIP', opened.error);
    return null;
  }

  /** Every `$GEO` rule needs the database (config/edge-routing.ts); a database named but unusable is reported already. */
  checkGeoRules(geoIp: GeoIpConfig | null, vhosts: readonly Vhost[]): void {
    if (geoIp === null && !this.#geoIpNamed) this.problems.push(...findGeoRuleProblems(vhosts));
  }

  /** `<URLRewrite>` rules of vhosts.xml, in order; each pattern and template checked (policy/url-rewrite-parse.ts). */
  readUrlRewrites(scope: Scope): UrlRewriteRule[] {
    const rules: UrlRewriteRule[] = [];
    childElements(scope.element, 'URLRewrite').forEach((element, i) => {
      const source = `Vhosts/URLRewrite[${i + 1}]`;
      const at: Scope = { file: scope.file, element, where: source, prefix: 'Vhosts/URLRewrite' };
      this.one(at, 'Vhosts/URLRewrite@AccessLog', REWRITE_ACCESS_LOG);
      const pattern = childElements(element, 'Pattern')[0]?.text;
      const replace = childElements(element, 'Replace')[0]?.text;
      if (pattern === undefined || replace === undefined) {
        this.#report(scope.file, source, `needs both <Pattern> and <Replace>`);
        return;
      }
      const checked = checkUrlRewrite(pattern, replace);
      if (checked.ok) rules.push({ source, pattern, replace });
      else this.#report(scope.file, `${source}/${checked.error.startsWith('<Pattern>') ? 'Pattern' : 'Replace'}`, checked.error.replace(/^<(Pattern|Replace)>: /, ''));
    });
    return rules;
  }

  /** `<Sub Status><Path Vhost>` of one vhost (targets are checked once every vhost is known: findSubProblems). */
  #readSub(scope: Scope): SubPath[] {
    const sub = childElements(scope.element, 'Sub')[0];
    if (sub === undefined) return [];
    const active = this.one(scope, 'Vhost/Sub@Status', SUB_STATUS) === 'Active';
    const paths: SubPath[] = [];
    childElements(sub, 'Path').forEach((element, i) => {
      const where = `${scope.where}/Sub/Path[${i + 1}]`;
      const target = element.attrs.get('Vhost');
      const glob = subPathGlob(element.text);
      if (target === undefined || target === '') this.#report(scope.file, `${where}@Vhost`, 'missing; name the vhost that serves this path');
      else if (!glob.ok) this.#report(scope.file, where, glob.error);
      else paths.push({ glob: glob.value, vhost: target.toLowerCase() });
    });
    return active ? paths : [];
  }

  /** <Storage> and <BlockSize>; eviction runs from above HighWater down to LowWater, so LowWater < HighWater. */
  #readStorage(scope: Scope): StorageConfig {
    const blockSizeBytes = this.one(scope, 'Server/Cache/BlockSize', SIZE);
    const disks = this.#readDisks(scope, blockSizeBytes);
    const inlineMaxBytes = this.one(scope, 'Server/Cache/Storage/InlineMaxSize', SIZE);
    const problemsBefore = this.problems.length;
    const highWaterPercent = this.one(scope, 'Server/Cache/Storage/HighWater', INT);
    const lowWaterPercent = this.one(scope, 'Server/Cache/Storage/LowWater', INT);
    // Compare only values that parsed: a rejected one has fallen back to its default and is reported already.
    if (this.problems.length === problemsBefore && lowWaterPercent >= highWaterPercent) {
      const low = getSetting('Server/Cache/Storage/LowWater');
      const high = getSetting('Server/Cache/Storage/HighWater');
      const shown = (setting: Setting, value: number): string =>
        this.#locate(scope, setting).length === 0 ? `${value} (the default)` : String(value);
      this.#report(
        scope.file,
        this.#missingWhere(scope, low),
        `${shown(low, lowWaterPercent)} must be below ${this.#missingWhere(scope, high)}, which is ${shown(high, highWaterPercent)}`,
      );
    }
    return { disks, blockSizeBytes, inlineMaxBytes, highWaterPercent, lowWaterPercent };
  }

  #readManager(scope: Scope): ManagerConfig {
    return {
      port: this.one(scope, 'Server/Host/Manager@Port', INT),
      host: this.one(scope, 'Server/Host/Manager@Listen', IP),
      allow: this.many(scope, 'Server/Host/Manager/Allow', IP_OR_CIDR) ?? this.defaultsOf('Server/Host/Manager/Allow', IP_OR_CIDR),
      token: this.optional(scope, 'Server/Host/Manager@Token', TOKEN),
      serverNames: this.many(scope, 'Server/Host/Manager/ServerName', HOST_NAME) ?? [],
      allowRoles: this.#readAllowRoles(scope),
      httpMethod: this.one(scope, 'Server/Host/Manager@HttpMethod', BOOL),
    };
  }

  /** The role of each <Allow> (same order as `allow`): its own Role, else <Manager Role>. */
  #readAllowRoles(scope: Scope): ManagerRole[] {
    const fallback = this.one(scope, 'Server/Host/Manager@Role', MANAGER_ROLE);
    const allowElements = childElements(childElements(childElements(scope.element, 'Host')[0], 'Manager')[0], 'Allow');
    if (allowElements.length === 0) return this.defaultsOf('Server/Host/Manager/Allow', IP_OR_CIDR).map(() => fallback);
    const roles: ManagerRole[] = [];
    for (const element of allowElements) {
      const allowScope: Scope = { file: scope.file, element, where: element.where, prefix: 'Server/Host/Manager/Allow' };
      // Only entries whose address parsed are in `allow`; keep the two lists aligned.
      if (!IP_OR_CIDR.parse(element.text, getSetting('Server/Host/Manager/Allow'), this.#installDir).ok) continue;
      roles.push(this.optional(allowScope, 'Server/Host/Manager/Allow@Role', MANAGER_ROLE) ?? fallback);
    }
    return roles;
  }

  /** The <Disk> elements; a quota must hold at least one block (a smaller one would be read as no limit at all). */
  #readDisks(scope: Scope, blockSizeBytes: number): DiskConfig[] {
    const diskElements = childElements(childElements(childElements(scope.element, 'Cache')[0], 'Storage')[0], 'Disk');
    if (diskElements.length === 0) {
      const quota = this.one(scope, 'Server/Cache/Storage/Disk@Quota', SIZE);
      return this.defaultsOf('Server/Cache/Storage/Disk', PATH).map((diskPath) => ({ path: diskPath, quotaBytes: quota }));
    }
    const disks: DiskConfig[] = [];
    for (const element of diskElements) {
      const diskScope: Scope = { file: scope.file, element, where: element.where, prefix: 'Server/Cache/Storage/Disk' };
      const diskPath = this.one(diskScope, 'Server/Cache/Storage/Disk', PATH);
      const quotaBytes = this.one(diskScope, 'Server/Cache/Storage/Disk@Quota', SIZE);
      if (quotaBytes > 0 && quotaBytes < blockSizeBytes) {
        this.#report(scope.file, `${element.where}@Quota`, `${quotaBytes} bytes is less than one block (BlockSize ${blockSizeBytes}): use 0 for no quota, or at least ${blockSizeBytes}`);
      }
      if (element.text !== '' && disks.some((d) => d.path === diskPath)) {
        this.#report(scope.file, element.where, `${quote(element.text)} is listed twice (${diskPath})`);
      }
      disks.push({ path: diskPath, quotaBytes });
    }
    return disks;
  }

  /**
   * The `Vhost/...` settings of one scope: <VHostDefault> (inherited undefined: schema defaults apply) or one
   * <Vhost> (inherited = the resolved VHostDefault, overridden element by element).
   */
  readVhostSettings(scope: Scope, inherited: VhostDefaults | undefined): VhostDefaults {
    const listen = this.many(scope, 'Vhost/Listen', LISTEN);
    if (listen !== undefined) this.#reportRepeatedListen(scope, listen);
    const io = inherited?.originOptions;
    const o = inherited?.options;
    return {
      listen: listen ?? inherited?.listen ?? this.defaultsOf('Vhost/Listen', LISTEN),
      https: this.#readHttps(scope, inherited?.https),
      redirectHttpToHttps: this.#readRedirect(scope, inherited?.redirectHttpToHttps),
      originOptions: {
        connectTimeoutMs: this.one(scope, 'Vhost/OriginOptions/ConnectTimeout', SECONDS_AS_MS, io?.connectTimeoutMs),
        receiveTimeoutMs: this.one(scope, 'Vhost/OriginOptions/ReceiveTimeout', SECONDS_AS_MS, io?.receiveTimeoutMs),
        reuseTimeoutMs: this.one(scope, 'Vhost/OriginOptions/ReuseTimeout', SECONDS_AS_MS, io?.reuseTimeoutMs),
        maxConnections: this.one(scope, 'Vhost/OriginOptions/MaxConnections', INT, io?.maxConnections),
        balanceMode: this.one(scope, 'Vhost/OriginOptions/BalanceMode', BALANCE_MODE, io?.balanceMode),
        hostHeader: this.one(scope, 'Vhost/OriginOptions/Host', STAR_OR_STRING, io?.hostHeader),
        userAgent: this.one(scope, 'Vhost/OriginOptions/UserAgent', STAR_OR_STRING, io?.userAgent),
        xffClientIpOnly: this.one(scope, 'Vhost/OriginOptions/XFFClientIPOnly', BOOL, io?.xffClientIpOnly),
        exclusion: this.one(scope, 'Vhost/OriginOptions/Exclusion', INT, io?.exclusion),
        exclusionAll: this.one(scope, 'Vhost/OriginOptions/Exclusion@All', BOOL, io?.exclusionAll),
        exclusionResCodes: this.one(scope, 'Vhost/OriginOptions/Exclusion@ResCode', STATUS_SET, io?.exclusionResCodes),
        recovery: this.#readRecovery(scope, io?.recovery),
        retries: this.one(scope, 'Vhost/OriginOptions/Retry', RETRY, io?.retries),
        dnsRefreshMs: this.one(scope, 'Vhost/OriginOptions/DnsRefresh', SECONDS_AS_MS, io?.dnsRefreshMs),
        hashIgnoreSuffixes: this.many(scope, 'Vhost/OriginOptions/BalanceHashRules/IgnoreSuffix', SUFFIX) ?? io?.hashIgnoreSuffixes ?? [],
        originAffinity: this.one(scope, 'Vhost/OriginOptions/OriginAffinity', BOOL, io?.originAffinity),
        tls: null,
      },
      options: {
        viaHeader: this.one(scope, 'Vhost/Options/ViaHeader', BOOL, o?.viaHeader),
        serverHeader: this.one(scope, 'Vhost/Options/ServerHeader', BOOL, o?.serverHeader),
        maxRequestBodyBytes: this.one(scope, 'Vhost/Options/MaxRequestBodySize', SIZE, o?.maxRequestBodyBytes),
        caching: this.one(scope, 'Vhost/Options/Caching', BOOL, o?.caching),
        admission: {
          minUses: this.one(scope, 'Vhost/Options/Admission', INT, o?.admission.minUses),
          windowSec: this.one(scope, 'Vhost/Options/Admission@Window', WHOLE_SECONDS, o?.admission.windowSec),
        },
        ttl: this.#readTtl(scope, o?.ttl),
        ttlExtensionBy5xx: this.one(scope, 'Vhost/Options/TTLExtensionBy5xx', BOOL, o?.ttlExtensionBy5xx),
        ttlExtensionByFail: this.one(scope, 'Vhost/Options/TTLExtensionByFail', BOOL, o?.ttlExtensionByFail),
        refreshExpired: this.one(scope, 'Vhost/Options/RefreshExpired', BOOL, o?.refreshExpired),
        ageHeader: this.one(scope, 'Vhost/Options/AgeHeader', BOOL, o?.ageHeader),
        violateMustRevalidate: this.one(scope, 'Vhost/Options/ViolateMustRevalidate', BOOL, o?.violateMustRevalidate),
        setCookie: this.one(scope, 'Vhost/Options/SetCookie', SET_COOKIE, o?.setCookie),
        cookieRequest: this.one(scope, 'Vhost/Options/CookieRequest', COOKIE_REQUEST, o?.cookieRequest),
        targetedCacheControl: this.one(scope, 'Vhost/Options/TargetedCacheControl', TARGETED_FIELDS, o?.targetedCacheControl),
        unsafeInvalidation: this.one(scope, 'Vhost/Options/UnsafeInvalidation', BOOL, o?.unsafeInvalidation),
        cacheTag: {
          fields: this.one(scope, 'Vhost/Options/CacheTag', TAG_FIELDS, o?.cacheTag.fields),
          strip: this.one(scope, 'Vhost/Options/CacheTag@Strip', BOOL, o?.cacheTag.strip),
          max: this.one(scope, 'Vhost/Options/CacheTag@Max', INT, o?.cacheTag.max),
          maxLength: this.one(scope, 'Vhost/Options/CacheTag@MaxLength', INT, o?.cacheTag.maxLength),
        },
        ...this.#readKeyOptions(scope, o),
        accessControl: {
          enabled: this.one(scope, 'Vhost/Options/AccessControl', BOOL, o?.accessControl.enabled),
          defaultAction: this.one(scope, 'Vhost/Options/AccessControl@Default', ALLOW_DENY, o?.accessControl.defaultAction),
          denialCode: this.one(scope, 'Vhost/Options/AccessControl@DenialCode', INT, o?.accessControl.denialCode),
        },
        purge2Expire: this.one(scope, 'Vhost/Options/Purge2Expire', PURGE_2_EXPIRE, o?.purge2Expire),
        rootPurgeExpire: this.one(scope, 'Vhost/Options/RootPurgeExpire', ROOT_PURGE, o?.rootPurgeExpire),
        rootHardPurge: this.one(scope, 'Vhost/Options/RootHardPurge', BOOL, o?.rootHardPurge),
        ifRange: {
          enabled: this.one(scope, 'Vhost/Options/IfRange', BOOL, o?.ifRange.enabled),
          purge: this.one(scope, 'Vhost/Options/IfRange@Purge', BOOL, o?.ifRange.purge),
        },
        compression: this.#readCompression(scope, o?.compression),
      },
      log: this.#readLog(scope, inherited?.log),
      clientLimits: {
        trafficCapMbps: this.one(scope, 'Vhost/TrafficCap', INT, inherited?.clientLimits.trafficCapMbps),
        sessionCapMbps: this.one(scope, 'Vhost/TrafficCap@Session', INT, inherited?.clientLimits.sessionCapMbps),
        rateLimit: this.#readRateLimit(scope, inherited?.clientLimits.rateLimit),
      },
    };
  }

  /** <RateLimit Burst>: a Burst with no rate would be silently ignored, so it is a problem. */
  #readRateLimit(scope: Scope, inherited: VhostClientLimits['rateLimit'] | undefined): VhostClientLimits['rateLimit'] {
    const perSec = this.one(scope, 'Vhost/RateLimit', INT, inherited?.perSec);
    const burst = this.one(scope, 'Vhost/RateLimit@Burst', INT, inherited?.burst);
    if (perSec === 0 && burst > 0) this.#report(scope.file, `${scope.where}/RateLimit@Burst`, `${burst} has no effect without a rate: set <RateLimit> to requests per second, or remove Burst`);
    return { perSec, burst };
  }

  /**
   * <Https>: a vhost's own element replaces VHostDefault's whole. The certificate and key are read and checked
   * here (tls/certificate-check.ts): a problem names the file and the <Cert> or <Key> element.
   */
  #readHttps(scope: Scope, inherited: HttpsConfig | null | undefined): HttpsConfig | null {
    const element = childElements(scope.element, 'Https')[0];
    if (element === undefined) return inherited ?? null;
    const where = element.where;
    const problemsBefore = this.problems.length;
    const listen = this.optional(scope, 'Vhost/Https@Listen', LISTEN);
    if (listen === null && element.attrs.get('Listen') === undefined) this.#report(scope.file, `${where}@Listen`, 'missing; it is required');
    const certPath = this.optional(scope, 'Vhost/Https/Cert', PATH);
    if (certPath === null && childElements(element, 'Cert').length === 0) this.#report(scope.file, `${where}/Cert`, 'missing; it is required');
    const keyPath = this.optional(scope, 'Vhost/Https/Key', PATH);
    if (keyPath === null && childElements(element, 'Key').length === 0) this.#report(scope.file, `${where}/Key`, 'missing; it is required');
    const minVersion = this.one(scope, 'Vhost/Https@MinVersion', TLS_VERSION);
    const maxVersion = this.one(scope, 'Vhost/Https@MaxVersion', TLS_VERSION);
    if (TLS_VERSIONS.indexOf(minVersion) > TLS_VERSIONS.indexOf(maxVersion)) {
      this.#report(scope.file, `${where}@MinVersion`, `${minVersion} is newer than MaxVersion ${maxVersion}`);
    }
    const ciphers = this.optional(scope, 'Vhost/Https@Ciphers', CIPHERS);
    const engine = this.one(scope, 'Vhost/Https@Engine', HTTPS_ENGINE);
    // uWS's SSLApp takes no version bounds and its cipher option is OpenSSL's TLS 1.2 list only (one that names no
    // TLS 1.2 suite fails when a worker builds the context): refused here rather than half applied.
    if (engine === 'uws' && (minVersion !== 'TLSv1.2' || maxVersion !== 'TLSv1.3' || ciphers !== null)) {
      this.#report(scope.file, `${where}@Engine`, 'Engine="uws" takes no MinVersion, MaxVersion or Ciphers (it offers TLS 1.2 and 1.3 with OpenSSL\'s default suites); use Engine="node" to set them');
    }
    const hstsAge = this.optional(scope, 'Vhost/Https/Hsts', WHOLE_SECONDS);
    const subDomains = this.one(scope, 'Vhost/Https/Hsts@IncludeSubDomains', BOOL);
    const hsts = hstsAge === null ? null : `max-age=${hstsAge}${subDomains ? '; includeSubDomains' : ''}`;
    if (listen === null || certPath === null || keyPath === null || this.problems.length !== problemsBefore) return null;
    const check = checkCertificate(certPath, keyPath, Date.now());
    if (!check.ok) {
      this.#report(scope.file, `${where}/${check.element}`, check.problem);
      return null;
    }
    return { listen, engine, certPath, keyPath, certPem: check.certPem, keyPem: check.keyPem, notAfterMs: check.notAfterMs, minVersion, maxVersion, ciphers, hsts };
  }

  /** <RedirectHttpToHttps ResCode>: the element's presence turns it on (ResCode default 301). */
  #readRedirect(scope: Scope, inherited: 301 | 302 | 307 | 308 | null | undefined): 301 | 302 | 307 | 308 | null {
    if (childElements(scope.element, 'RedirectHttpToHttps').length === 0) return inherited ?? null;
    return Number(this.one(scope, 'Vhost/RedirectHttpToHttps@ResCode', REDIRECT_CODE)) as 301 | 302 | 307 | 308;
  }

  /**
   * Https listeners: one TLS server per address serves all its vhosts, so they must agree on versions and ciphers;
   * an Https address is never also a plain <Listen> address or the management port; a redirect needs <Https>.
   */
  checkHttps(manager: ManagerConfig, vhosts: readonly Vhost[]): void {
    const wildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';
    const overlaps = (a: ListenAddress, b: ListenAddress): boolean => a.port === b.port && (a.host === b.host || wildcard(a.host) || wildcard(b.host));
    const first = new Map<string, Vhost>();
    for (const vhost of vhosts) {
      const where = `Vhosts/Vhost[Name=${vhost.name}]`;
      const https = vhost.https;
      if (https === null) {
        if (vhost.redirectHttpToHttps !== null) this.#report('vhosts.xml', `${where}/RedirectHttpToHttps`, 'needs <Https> on this vhost (or in <VHostDefault>)');
        continue;
      }
      const key = `${https.listen.host}:${https.listen.port}`;
      const owner = first.get(key);
      if (owner === undefined) first.set(key, vhost);
      else if (owner.https !== null && (owner.https.minVersion !== https.minVersion || owner.https.maxVersion !== https.maxVersion || owner.https.ciphers !== https.ciphers)) {
        this.#report('vhosts.xml', `${where}/Https`, `MinVersion, MaxVersion and Ciphers differ from vhost ${owner.name}'s on the same Https Listen ${key}`);
      } else if (owner.https !== null && owner.https.engine !== https.engine) {
        this.#report('vhosts.xml', `${where}/Https@Engine`, `${https.engine} differs from vhost ${owner.name}'s ${owner.https.engine} on the same Https Listen ${key}`);
      }
      const plain = vhosts.flatMap((v) => v.listen.filter((l) => overlaps(l, https.listen)).map((l) => ({ vhost: v.name, l })))[0];
      if (plain !== undefined) {
        this.#report('vhosts.xml', `${where}/Https@Listen`, `${key} is also a plain <Listen> address of vhost ${plain.vhost} (${plain.l.host}:${plain.l.port})`);
      }
      if (overlaps(https.listen, { host: manager.host, port: manager.port })) {
        this.#report('vhosts.xml', `${where}/Https@Listen`, `port ${https.listen.port} is also the management port`);
      }
    }
  }

  /** <Log>: every element and attribute inherits on its own; `custom` needs an <AccessFormat>. */
  #readLog(scope: Scope, inherited: VhostLog | undefined): VhostLog {
    const accessPath = this.one(scope, 'Vhost/Log/Access', LOG_PATH, inherited?.accessPath);
    const accessForm = this.one(scope, 'Vhost/Log/Access@Form', ACCESS_FORM, inherited?.accessForm);
    const problemsBefore = this.problems.length;
    const accessFormat = this.optional(scope, 'Vhost/Log/AccessFormat', ACCESS_FORMAT) ?? inherited?.accessFormat ?? null;
    // An <AccessFormat> that is present but invalid was reported just now; only a missing one is reported here.
    if (accessForm === 'custom' && accessFormat === null && accessPath !== null && this.problems.length === problemsBefore) {
      this.#report(scope.file, `${scope.where}/Log/Access@Form`, '"custom" needs the line format in <Log><AccessFormat>');
    }
    return {
      accessPath,
      accessForm,
      accessFormat,
      accessRotation: this.#readRotation(scope, 'Vhost/Log/Access', 'Log/Access', inherited?.accessRotation),
      originPath: this.one(scope, 'Vhost/Log/Origin', LOG_PATH, inherited?.originPath),
      imagePath: this.one(scope, 'Vhost/Log/Image', LOG_PATH, inherited?.imagePath),
      originRotation: this.#readRotation(scope, 'Vhost/Log/Origin', 'Log/Origin', inherited?.originRotation),
    };
  }

  /** STON's `Type Unit Retention Compression` of the log element at schema path `at` (`where` below the scope). */
  #readRotation(scope: Scope, at: string, where: string, inherited: LogRotation | undefined): LogRotation {
    const type = this.one(scope, `${at}@Type`, ROTATION_TYPE, inherited?.type);
    const numbers = this.optional(scope, `${at}@Unit`, LOG_UNIT);
    let unit = inherited?.unit ?? DEFAULT_UNIT;
    if (numbers !== null) {
      const resolved = resolveLogUnit(type, numbers, unit);
      if (resolved.ok) unit = resolved.value;
      else this.#report(scope.file, `${scope.where}/${where}@Unit`, resolved.error);
    }
    return {
      type,
      unit,
      retention: this.one(scope, `${at}@Retention`, INT, inherited?.retention),
      compression: this.one(scope, `${at}@Compression`, BOOL, inherited?.compression),
    };
  }

  /** Bypass defaults and cache key options (Flint stores no POST, so BypassPostRequest must stay ON). */
  #readKeyOptions(scope: Scope, o: VhostOptions | undefined): Pick<VhostOptions, 'bypassPostRequest' | 'bypassGetRequest' | 'bypassNoCacheRequest' | 'caseSensitive' | 'ruleCaseSensitive' | 'applyQueryString' | 'queryCollective' | 'queryStringKeep' | 'queryStringDrop' | 'varyHeaders'> {
    const bypassPostRequest = this.one(scope, 'Vhost/Options/BypassPostRequest', BOOL, o?.bypassPostRequest);
    if (!bypassPostRequest) {
      this.#report(scope.file, `${scope.where}/Options/BypassPostRequest`, 'OFF is not supported: Flint does not cache POST (STON <PostRequest>), so POST always passes to the origin');
    }
    const keepFound = this.#locate(scope, getSetting('Vhost/Options/ApplyQueryString@Keep')).length > 0;
    const dropFound = this.#locate(scope, getSetting('Vhost/Options/ApplyQueryString@Drop')).length > 0;
    const queryStringKeep = keepFound ? this.optional(scope, 'Vhost/Options/ApplyQueryString@Keep', NAME_LIST) : (o?.queryStringKeep ?? null);
    const queryStringDrop = dropFound ? this.optional(scope, 'Vhost/Options/ApplyQueryString@Drop', NAME_LIST) : (o?.queryStringDrop ?? null);
    if (queryStringKeep !== null && queryStringDrop !== null) {
      this.#report(scope.file, `${scope.where}/Options/ApplyQueryString`, 'Keep and Drop cannot both be set');
    }
    return {
      bypassPostRequest: true,
      bypassGetRequest: this.one(scope, 'Vhost/Options/BypassGetRequest', BOOL, o?.bypassGetRequest),
      bypassNoCacheRequest: this.one(scope, 'Vhost/Options/BypassNoCacheRequest', BOOL, o?.bypassNoCacheRequest),
      caseSensitive: this.one(scope, 'Vhost/Options/CaseSensitive', BOOL, o?.caseSensitive),
      ruleCaseSensitive: this.one(scope, 'Vhost/Options/RuleCaseSensitive', BOOL, o?.ruleCaseSensitive),
      applyQueryString: this.one(scope, 'Vhost/Options/ApplyQueryString', BOOL, o?.applyQueryString),
      queryCollective: this.one(scope, 'Vhost/Options/ApplyQueryString@Collective', BOOL, o?.queryCollective),
      queryStringKeep,
      queryStringDrop,
      varyHeaders: this.one(scope, 'Vhost/Options/VaryHeader', VARY_LIST, o?.varyHeaders),
    };
  }

  /**
   * A vhost's rules: the inline <TTLRules>/<BypassRules>/<QueryStringRules> first, then the lines of
   * svc/<vhost>/ttl.txt, bypass.txt and querystring.txt when those files exist. Problems name the element or line.
   */
  #readRules(scope: Scope, name: string | null, applyQueryString: boolean): VhostRules {
    const elements = (container: string): RuleElement[] =>
      childElements(childElements(scope.element, container)[0], 'Rule').map((e, i) => ({ where: `${e.where}[${i + 1}]`, attrs: e.attrs, text: e.text }));
    const files = name === null ? {} : (this.#ruleFiles[name] ?? {});
    const label = (file: string): string => `svc/${name ?? ''}/${file}`;
    const ttl = ttlRulesFromElements(scope.file, elements(RULE_KINDS.ttl.element));
    const bypass = bypassRulesFromElements(scope.file, elements(RULE_KINDS.bypass.element));
    const query = queryRulesFromElements(scope.file, elements(RULE_KINDS.querystring.element), applyQueryString);
    // STON's <MatchingList Target="ttl|bypass|querystring|acl">: txt lines embedded in the vhost, after the <Rule>s.
    const listed: Record<ListKind, string[]> = { ttl: [], bypass: [], querystring: [], acl: [], headers: [], compression: [] };
    const listLabels: Record<ListKind, string[]> = { ttl: [], bypass: [], querystring: [], acl: [], headers: [], compression: [] };
    // Both places: STON's vhost API writes it in the vhost, issue 20's contract inside <Options>.
    const matchingLists = [childElements(scope.element, 'MatchingList'), childElements(childElements(scope.element, 'Options')[0], 'MatchingList')];
    matchingLists.flatMap((list) => list.map((e, i) => [e, i] as const)).forEach(([e, i]) => {
      const target = (e.attrs.get('Target') ?? '').toLowerCase();
      if (target !== 'ttl' && target !== 'bypass' && target !== 'querystring' && target !== 'acl' && target !== 'headers' && target !== 'compression') {
        this.#report(scope.file, `${e.where}[${i + 1}]@Target`, `${quote(e.attrs.get('Target') ?? '')} is not ttl, bypass, querystring, acl, headers or compression`);
        return;
      }
      listed[target].push(e.text);
      listLabels[target].push(`${scope.file}: ${e.where}[${i + 1}]`);
    });
    const fromText = <R>(kind: ListKind, parse: (label: string, text: string) => { rules: R[]; problems: string[] }): R[] => {
      const out: R[] = [];
      const sources = listed[kind].map((text, i) => [listLabels[kind][i] as string, text] as const);
      const fileName = kind === 'acl' || kind === 'headers' || kind === 'compression' ? `${kind}.txt` : RULE_KINDS[kind].file;
      const fileText = files[fileName];
      if (fileText !== undefined) sources.push([label(fileName), fileText] as const);
      for (const [where, text] of sources) {
        const parsed = parse(where, text);
        this.problems.push(...parsed.problems);
        out.push(...parsed.rules);
      }
      return out;
    };
    this.problems.push(...ttl.problems, ...bypass.problems, ...query.problems);
    // Nothing in svc/<vhost>/ is ignored silently: a file Flint does not read is an error, not a rule not enforced.
    for (const file of Object.keys(files)) {
      if (!KNOWN_RULE_FILES.includes(file)) this.problems.push(`${label(file)}: Flint does not understand this rule file (it reads ${KNOWN_RULE_FILES.join(', ')})`);
    }
    return {
      ttl: [...ttl.rules, ...fromText('ttl', ttlRulesFromText)],
      bypass: [...bypass.rules, ...fromText('bypass', bypassRulesFromText)],
      queryString: [...query.rules, ...fromText('querystring', (l, t) => queryRulesFromText(l, t, applyQueryString))],
      acl: fromText('acl', aclRulesFromText),
      headers: fromText('headers', headerRulesFromText),
      compression: fromText('compression', compressionTargetsFromText),
    };
  }

  /** <Options><TTL>: every child and attribute inherits on its own, so a vhost may set just <Res4xx>. */
  #readTtl(scope: Scope, t: TtlPolicy | undefined): TtlPolicy {
    return {
      priority: this.one(scope, 'Vhost/Options/TTL@Priority', TTL_PRIORITY, t?.priority),
      res2xxSec: this.one(scope, 'Vhost/Options/TTL/Res2xx', WHOLE_SECONDS, t?.res2xxSec),
      res2xxRatioPercent: this.one(scope, 'Vhost/Options/TTL/Res2xx@Ratio', INT, t?.res2xxRatioPercent),
      res2xxMaxSec: this.one(scope, 'Vhost/Options/TTL/Res2xx@Max', WHOLE_SECONDS, t?.res2xxMaxSec),
      noCacheSec: this.one(scope, 'Vhost/Options/TTL/NoCache', WHOLE_SECONDS, t?.noCacheSec),
      res3xxSec: this.one(scope, 'Vhost/Options/TTL/Res3xx', WHOLE_SECONDS, t?.res3xxSec),
      res4xxSec: this.one(scope, 'Vhost/Options/TTL/Res4xx', WHOLE_SECONDS, t?.res4xxSec),
      res5xxSec: this.one(scope, 'Vhost/Options/TTL/Res5xx', WHOLE_SECONDS, t?.res5xxSec),
      heuristicPercent: this.one(scope, 'Vhost/Options/TTL/HeuristicPercent', INT, t?.heuristicPercent),
      heuristicMaxSec: this.one(scope, 'Vhost/Options/TTL/HeuristicMax', WHOLE_SECONDS, t?.heuristicMaxSec),
      errorExtensionSec: this.one(scope, 'Vhost/Options/TTL/ConnectTimeout', WHOLE_SECONDS, t?.errorExtensionSec),
    };
  }

  /** <Options><Compression>: the switch and every attribute inherit on their own. */
  #readCompression(scope: Scope, c: CompressionOptions | undefined): CompressionOptions {
    const [minBytes, maxBytes] = this.one(scope, 'Vhost/Options/Compression@SourceSize', KIB_RANGE, c === undefined ? undefined : [c.sourceSize.minBytes, c.sourceSize.maxBytes]);
    return {
      enabled: this.one(scope, 'Vhost/Options/Compression', BOOL, c?.enabled),
      methods: this.one(scope, 'Vhost/Options/Compression@Method', ENCODING_LIST, c?.methods),
      gzipLevel: this.one(scope, 'Vhost/Options/Compression@GzipLevel', INT, c?.gzipLevel),
      brotliQuality: this.one(scope, 'Vhost/Options/Compression@BrotliQuality', INT, c?.brotliQuality),
      sourceSize: { minBytes, maxBytes },
    };
  }

  /** <OriginOptions><Recovery>: the count and every attribute inherit on their own. */
  #readRecovery(scope: Scope, r: RecoveryProbe | undefined): RecoveryProbe {
    return {
      count: this.one(scope, 'Vhost/OriginOptions/Recovery', INT, r?.count),
      cycleMs: this.one(scope, 'Vhost/OriginOptions/Recovery@Cycle', SECONDS_AS_MS, r?.cycleMs),
      uri: this.one(scope, 'Vhost/OriginOptions/Recovery@Uri', PROBE_TARGET, r?.uri),
      resCodes: this.one(scope, 'Vhost/OriginOptions/Recovery@ResCode', STATUS_LIST, r?.resCodes),
      log: this.one(scope, 'Vhost/OriginOptions/Recovery@Log', BOOL, r?.log),
    };
  }

  /** Every <Origin><HealthChecker> of one vhost, each element read as its own scope (like <Disk>). */
  #readHealthCheckers(scope: Scope): HealthCheckerConfig[] {
    const checkers: HealthCheckerConfig[] = [];
    for (const element of childElements(childElements(scope.element, 'Origin')[0], 'HealthChecker')) {
      const at: Scope = { file: scope.file, element, where: element.where, prefix: 'Vhost/Origin/HealthChecker' };
      const target = this.optional(at, 'Vhost/Origin/HealthChecker', PROBE_TARGET);
      const checker: HealthCheckerConfig = {
        target: target ?? '/',
        resCodes: this.one(at, 'Vhost/Origin/HealthChecker@ResCode', STATUS_LIST),
        timeoutMs: this.one(at, 'Vhost/Origin/HealthChecker@Timeout', SECONDS_AS_MS),
        cycleMs: this.one(at, 'Vhost/Origin/HealthChecker@Cycle', SECONDS_AS_MS),
        exclusion: this.one(at, 'Vhost/Origin/HealthChecker@Exclusion', INT),
        recovery: this.one(at, 'Vhost/Origin/HealthChecker@Recovery', INT),
        log: this.one(at, 'Vhost/Origin/HealthChecker@Log', BOOL),
      };
      if (target !== null) checkers.push(checker);
    }
    return checkers;
  }

  /** `<Origin Protocol>`, `<CA>` (read now) and `<TlsVerify>`; null for plain HTTP, where CA/TlsVerify are mistakes. */
  #readOriginTls(scope: Scope): OriginTls | null {
    const https = this.one(scope, 'Vhost/Origin@Protocol', ORIGIN_PROTOCOL) === 'HTTPS';
    const caFile = this.optional(scope, 'Vhost/Origin/CA', PATH);
    const verify = this.one(scope, 'Vhost/Origin/TlsVerify', BOOL);
    if (!https) {
      for (const name of ['CA', 'TlsVerify']) {
        const found = this.#locate(scope, getSetting(`Vhost/Origin/${name}`));
        if (found.length > 0) this.#report(scope.file, found[0]?.where ?? scope.where, 'applies only to <Origin Protocol="HTTPS">');
      }
      return null;
    }
    if (caFile === null) return { verify, caFile: null, caPem: null };
    const ca = readCaFile(caFile);
    if (!ca.ok) this.#report(scope.file, this.#locate(scope, getSetting('Vhost/Origin/CA'))[0]?.where ?? `${scope.where}/Origin/CA`, ca.error);
    return { verify, caFile, caPem: ca.ok ? ca.pem : null };
  }

  #reportRepeatedListen(scope: Scope, listen: readonly ListenAddress[]): void {
    const seen = new Set<string>();
    for (const address of listen) {
      const key = `${address.host}:${address.port}`;
      if (seen.has(key)) this.#report(scope.file, `${scope.where}/Listen`, `${quote(key)} is listed twice`);
      seen.add(key);
    }
  }

  /** `<Options><SignedUrl>`, `<Cors>` and `<ErrorPage>` of one vhost (issue 20; not inherited from VHostDefault). */
  #readEdgePolicy(scope: Scope): { signedUrl: SignedUrlConfig | null; cors: CorsConfig | null; errorPages: ErrorPageConfig[] } {
    const options = childElements(scope.element, 'Options')[0];
    let signedUrl: SignedUrlConfig | null = null;
    const keys = this.many(scope, 'Vhost/Options/SignedUrl/Key', TOKEN) ?? [];
    const paths = this.many(scope, 'Vhost/Options/SignedUrl/Path', URL_GLOB) ?? this.defaultsOf('Vhost/Options/SignedUrl/Path', URL_GLOB);
    const param = this.one(scope, 'Vhost/Options/SignedUrl@Param', QUERY_PARAM);
    const expiresParam = this.one(scope, 'Vhost/Options/SignedUrl@ExpiresParam', QUERY_PARAM);
    const bindClientIp = this.one(scope, 'Vhost/Options/SignedUrl@BindClientIp', BOOL);
    if (this.one(scope, 'Vhost/Options/SignedUrl@Status', SIGNED_URL_STATUS) === 'Active') {
      const where = `${scope.where}/Options/SignedUrl`;
      const found = childElements(childElements(options, 'SignedUrl')[0], 'Key').length;
      if (found === 0) this.#report(scope.file, `${where}/Key`, 'missing; Status="Active" needs at least one key');
      if (param === expiresParam) this.#report(scope.file, `${where}@ExpiresParam`, `${quote(param)} is also Param; the two must differ`);
      signedUrl = { keys, paths, param, expiresParam, bindClientIp };
    }
    let cors: CorsConfig | null = null;
    const allowOrigins = this.one(scope, 'Vhost/Options/Cors@AllowOrigin', ORIGIN_LIST);
    const maxAgeSec = this.one(scope, 'Vhost/Options/Cors@MaxAge', INT);
    const methodNames = this.one(scope, 'Vhost/Options/Cors@AllowMethods', NAME_LIST);
    const methods = parseMethodList(methodNames);
    if (!methods.ok) this.#report(scope.file, `${scope.where}/Options/Cors@AllowMethods`, methods.error);
    if (this.one(scope, 'Vhost/Options/Cors', BOOL)) cors = { allowOrigins, maxAgeSec, allowMethods: methods.ok ? methods.value : [] };
    const errorPages: ErrorPageConfig[] = [];
    for (const element of childElements(options, 'ErrorPage')) {
      const at: Scope = { file: scope.file, element, where: element.where, prefix: 'Vhost/Options/ErrorPage' };
      const statuses = this.one(at, 'Vhost/Options/ErrorPage@ResCode', STATUS_LIST);
      const file = this.optional(at, 'Vhost/Options/ErrorPage', PATH);
      if (file === null) continue;
      const page = readErrorPage(file);
      if (page.ok) errorPages.push({ statuses, file, ...page.value });
      else this.#report(scope.file, element.where, page.error);
    }
    return { signedUrl, cors, errorPages };
  }

  /** `<Options><Dims Status="Active">` with its Composite, Annotation and ByOriginal elements (issue 21); null = off. */
  #readDims(scope: Scope): DimsConfig | null {
    const dimsElement = childElements(childElements(scope.element, 'Options')[0], 'Dims')[0];
    const active = this.one(scope, 'Vhost/Options/Dims@Status', SIGNED_URL_STATUS) === 'Active';
    const keyword = this.one(scope, 'Vhost/Options/Dims@Keyword', DIMS_KEYWORD);
    const maxSourceBytes = this.one(scope, 'Vhost/Options/Dims@MaxSourceSize', INT) * 1024 * 1024;
    const maxPixels = this.one(scope, 'Vhost/Options/Dims@MaxPixels', INT);
    const firstFrameOnly = this.one(scope, 'Vhost/Options/Dims@FirstFrameOnly', BOOL);
    const at = (element: XmlElement, prefix: string): Scope => ({ file: scope.file, element, where: element.where, prefix });
    const seen = new Map<string, Set<string>>();
    const named = (element: XmlElement, prefix: string, kind: string): string | null => {
      const name = this.optional(at(element, prefix), `${prefix}@Name`, DIMS_NAME);
      if (name === null) {
        if (!element.attrs.has('Name')) this.#report(scope.file, `${element.where}@Name`, 'missing; it is required');
        return null;
      }
      const names = seen.get(kind) ?? new Set<string>();
      seen.set(kind, names);
      if (names.has(name)) this.#report(scope.file, `${element.where}@Name`, `${quote(name)} is already the Name of another <${kind}>`);
      names.add(name);
      return name;
    };
    const placement = (element: XmlElement, prefix: string): { gravity: (typeof DIMS_GRAVITIES)[number]; x: number; y: number; percent: boolean; dissolve: number } => ({
      gravity: this.one(at(element, prefix), `${prefix}@Gravity`, DIMS_GRAVITY),
      ...this.one(at(element, prefix), `${prefix}@Geometry`, DIMS_OFFSET),
      dissolve: this.one(at(element, prefix), `${prefix}@Dissolve`, INT),
    });
    const composites: DimsConfig['composites'][number][] = [];
    for (const element of childElements(dimsElement, 'Composite')) {
      const prefix = 'Vhost/Options/Dims/Composite';
      const name = named(element, prefix, 'Composite');
      const file = this.optional(at(element, prefix), `${prefix}@File`, PATH);
      if (file === null && !element.attrs.has('File')) this.#report(scope.file, `${element.where}@File`, 'missing; it is required');
      const image = file === null ? null : readCompositeFile(file);
      if (image !== null && !image.ok) this.#report(scope.file, `${element.where}@File`, image.error);
      const where = placement(element, prefix);
      if (name !== null && file !== null && image !== null && image.ok) composites.push({ name, file, imageBase64: image.value, ...where });
    }
    const annotations: DimsConfig['annotations'][number][] = [];
    for (const element of childElements(dimsElement, 'Annotation')) {
      const prefix = 'Vhost/Options/Dims/Annotation';
      const s = at(element, prefix);
      const name = named(element, prefix, 'Annotation');
      const text = this.optional(s, `${prefix}@Text`, DIMS_TEXT);
      if (text === null && !element.attrs.has('Text')) this.#report(scope.file, `${element.where}@Text`, 'missing; it is required');
      const note = {
        font: this.one(s, `${prefix}@Font`, PLAIN_TEXT),
        fontSize: this.one(s, `${prefix}@FontSize`, INT),
        fontColor: this.one(s, `${prefix}@FontColor`, DIMS_COLOUR),
        backgroundColor: this.optional(s, `${prefix}@BackgroundColor`, DIMS_COLOUR),
        ...placement(element, prefix),
      };
      if (name !== null && text !== null) annotations.push({ name, ...text, ...note });
    }
    const byOriginalElements = childElements(dimsElement, 'ByOriginal');
    const names = {
      keyword,
      composites: new Set(composites.map((c) => c.name)),
      annotations: new Set(annotations.map((a) => a.name)),
      byOriginal: new Set(byOriginalElements.map((e) => e.attrs.get('Name') ?? '')),
    };
    const byOriginal: DimsConfig['byOriginal'][number][] = [];
    for (const element of byOriginalElements) {
      const name = named(element, 'Vhost/Options/Dims/ByOriginal', 'ByOriginal');
      const conditions: Array<{ width: number; height: number; chain: string }> = [];
      for (const condition of childElements(element, 'Condition')) {
        const prefix = 'Vhost/Options/Dims/ByOriginal/Condition';
        const s = at(condition, prefix);
        const chain = this.optional(s, prefix, PLAIN_TEXT);
        const problem = chain === null ? 'missing its chain (/op/arg/...)' : checkConditionChain(chain, names);
        if (problem !== null) this.#report(scope.file, condition.where, problem);
        else if (chain !== null) conditions.push({ width: this.one(s, `${prefix}@Width`, INT), height: this.one(s, `${prefix}@Height`, INT), chain });
      }
      if (name !== null) byOriginal.push({ name, conditions });
    }
    return active ? { keyword, maxSourceBytes, maxPixels, firstFrameOnly, composites, annotations, byOriginal } : null;
  }

  /** Every <Vhost>, then the name/alias claims across them. */
  readVhosts(scope: Scope, defaults: VhostDefaults): Vhost[] {
    const elements = childElements(scope.element, 'Vhost');
    if (scope.element !== undefined && elements.length === 0) this.#report(scope.file, 'Vhosts/Vhost', 'missing; at least one vhost is required');
    const vhosts: Array<{ vhost: Vhost; where: string }> = [];
    for (const element of elements) {
      const vhostScope: Scope = { file: scope.file, element, where: element.where, prefix: 'Vhost' };
      const name = this.optional(vhostScope, 'Vhost@Name', HOST_NAME);
      const aliases = this.many(vhostScope, 'Vhost/Alias', ALIAS) ?? [];
      const tls = this.#readOriginTls(vhostScope);
      const origins = withDefaultPort(this.many(vhostScope, 'Vhost/Origin/Address', ORIGIN_ADDRESS) ?? [], tls);
      const healthCheckers = this.#readHealthCheckers(vhostScope);
      const standbyOrigins = withDefaultPort(this.many(vhostScope, 'Vhost/Origin/Address2', ORIGIN_ADDRESS) ?? [], tls);
      const vhostSettings = this.readVhostSettings(vhostScope, defaults);
      const settings = { ...vhostSettings, originOptions: { ...vhostSettings.originOptions, tls } };
      const rules = this.#readRules(vhostScope, name, settings.options.applyQueryString);
      if (rules.acl.length > 0 && !settings.options.accessControl.enabled) {
        this.#report(scope.file, `${element.where}/Options/AccessControl`, `the vhost has ${rules.acl.length} acl rules but <AccessControl> is not ON: they would not be enforced (set <AccessControl>ON or remove them)`);
      }
      const linkTarget = this.optional(vhostScope, 'Vhost/VhostLink', VHOST_REF);
      const link = linkTarget === null ? null : { target: linkTarget, condition: this.one(vhostScope, 'Vhost/VhostLink@Condition', LINK_CONDITION) };
      const edge = this.#readEdgePolicy(vhostScope);
      const sub = this.#readSub(vhostScope);
      const dims = this.#readDims(vhostScope);
      if (name === null) continue;
      vhosts.push({ vhost: { name, aliases, origins, standbyOrigins, healthCheckers, ...settings, rules, link, ...edge, sub, dims }, where: element.where });
    }
    this.#checkClaims(scope.file, vhosts);
    for (const problem of findSubProblems(vhosts.map((v) => v.vhost))) {
      const where = vhosts.find((v) => v.vhost.name === problem.vhost)?.where ?? 'Vhosts/Vhost';
      this.#report(scope.file, `${where}/Sub/Path@Vhost`, problem.what);
    }
    // A svc/<dir>/ that names no vhost holds rules nothing would read: an error, not a silently ignored policy.
    const names = new Set(vhosts.map((v) => v.vhost.name));
    for (const dir of Object.keys(this.#ruleFiles).sort()) {
      if (!names.has(dir)) this.problems.push(`svc/${dir}/: no vhost is named ${quote(dir)}, so its files (${Object.keys(this.#ruleFiles[dir] ?? {}).sort().join(', ')}) would be ignored`);
    }
    for (const problem of findLinkProblems(vhosts.map((v) => v.vhost))) {
      const where = vhosts.find((v) => v.vhost.name === problem.vhost)?.where ?? 'Vhosts/Vhost';
      this.#report(scope.file, `${where}/VhostLink`, problem.what);
    }
    return vhosts.map((v) => v.vhost);
  }

  /** A Name or Alias may belong to one vhost only (names compared case-insensitively; they are lower-cased). */
  #checkClaims(file: FileName, vhosts: ReadonlyArray<{ vhost: Vhost; where: string }>): void {
    const owners = new Map<string, { name: string; position: number }>();
    vhosts.forEach(({ vhost, where }, position) => {
      const owner = owners.get(vhost.name);
      if (owner !== undefined) this.#report(file, `${where}@Name`, `${quote(vhost.name)} is already the Name of another vhost (Vhost #${owner.position + 1})`);
      else owners.set(vhost.name, { name: vhost.name, position });
    });
    for (const { vhost, where } of vhosts) {
      for (const alias of vhost.aliases) {
        const owner = owners.get(alias);
        if (owner === undefined) owners.set(alias, { name: vhost.name, position: -1 });
        else if (owner.name !== vhost.name) this.#report(file, `${where}/Alias`, `${quote(alias)} is already claimed by vhost ${owner.name}`);
      }
    }
  }

  readDefaultVhost(scope: Scope, vhosts: readonly Vhost[]): string | null {
    const name = this.optional(scope, 'Vhosts/Default', VHOST_REF);
    if (name === null || vhosts.some((v) => v.name === name)) return name;
    const names = [...new Set(vhosts.map((v) => v.name))].join(', ');
    this.#report(scope.file, 'Vhosts/Default', `${quote(name)} is not the Name of any vhost (vhosts: ${names === '' ? 'none' : names})`);
    return null;
  }

  /** The management port must not collide with a vhost's listen address (the bind would fail at start). */
  checkManagerPort(manager: ManagerConfig, vhosts: readonly Vhost[]): void {
    const wildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';
    for (const vhost of vhosts) {
      const clash = vhost.listen.find((l) => l.port === manager.port && (l.host === manager.host || wildcard(l.host) || wildcard(manager.host)));
      if (clash !== undefined) {
        this.#report('server.xml', 'Server/Host/Manager@Port', `port ${manager.port} is also a <Listen> port of vhost ${vhost.name} (${clash.host}:${clash.port})`);
        return;
      }
    }
  }
}

/**
 * The config hash with the certificates, <ErrorPage> files and the GeoIP database folded in: a SIGHUP that only
 * swapped such a file is a change too.
 */
function hashWithCertificates(hash: string, vhosts: readonly Vhost[], geoIp: GeoIpConfig | null): string {
  const pems = new Set(vhosts.flatMap((v) => (v.https === null ? [] : [v.https.certPem + v.https.keyPem])));
  for (const vhost of vhosts) for (const page of vhost.errorPages) pems.add(`${page.file}\0${page.body}`);
  if (geoIp !== null) pems.add(`${geoIp.file}\0${geoIp.sha1}`);
  if (pems.size === 0) return hash;
  const sha = createHash('sha1').update(hash);
  for (const pem of pems) sha.update('\0').update(pem);
  return sha.digest('hex');
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  for (const child of Object.values(value)) deepFreeze(child);
  Object.freeze(value);
}
