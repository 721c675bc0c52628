/**
 * @module config/value-types
 * Value types, one parser per schema SettingType: numbers, sizes, times, booleans, enums and lists.
 * Part of config validation; runs in the primary and in `flint check-config`.
 */
import { parseFleetName, parseNatsUrls } from './cluster.js';
import { parseKeyList } from './rules.js';
import { TTL_PRIORITIES, formatSize } from './schema.js';
import type { Setting, SettingType } from './schema.js';
import { COMPRESSION_ENCODINGS, DIMS_GRAVITIES, EVICTION_POLICIES, TLS_VERSIONS, HTTPS_ENGINES, BALANCE_MODES, COOKIE_REQUEST_MODES, LOG_LEVELS, MANAGER_ROLES, PURGE_TO_EXPIRE, ROOT_PURGE_EXPIRE, SET_COOKIE_MODES } from './types.js';
import type { CompressionEncoding } from './types.js';
import { parseOriginList, parseQueryParam } from './edge-policy.js';
import { parseDimsColour, parseDimsKeyword, parseDimsName, parseDimsOffset, parseDimsText } from './dims.js';
import { globProblem } from '../policy/url-glob.js';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** A parser for one SettingType; `installDir` is the parent of the conf directory (for paths). */
export interface ValueType<T> {
  readonly type: SettingType;
  parse(text: string, setting: Setting, installDir: string): Parsed<T>;
}

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });
export const quote = (text: string): string => JSON.stringify(text);

export function checkRange(text: string, value: number, setting: Setting, show: (n: number) => string): string | undefined {
  const { min, max } = setting;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${show(min ?? 0)}` : `${show(min ?? 0)}..${show(max)}`;
    return `${quote(text)} is out of range (${range})`;
  }
  return undefined;
}

export const INT: ValueType<number> = {
  type: 'int',
  parse(text, setting) {
    if (!/^[+-]?\d+$/.test(text)) return fail(`${quote(text)} is not a whole number`);
    const value = Number(text);
    const rangeError = checkRange(text, value, setting, String);
    return rangeError === undefined ? ok(value) : fail(rangeError);
  },
};

export const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export const SIZE: ValueType<number> = {
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
export const SECONDS_AS_MS: ValueType<number> = {
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
export const WHOLE_SECONDS: ValueType<number> = {
  type: 'whole-seconds',
  parse(text, setting) {
    if (!/^\d+$/.test(text)) return fail(`${quote(text)} is not a whole number of seconds`);
    const seconds = Number(text);
    const rangeError = checkRange(text, seconds, setting, String);
    return rangeError === undefined ? ok(seconds) : fail(rangeError);
  },
};

export const BOOL: ValueType<boolean> = {
  type: 'bool',
  parse(text) {
    const lower = text.toLowerCase();
    if (lower === 'on' || lower === 'true') return ok(true);
    if (lower === 'off' || lower === 'false') return ok(false);
    return fail(`${quote(text)} is not a valid boolean (ON or OFF)`);
  },
};

export function enumType<T extends string>(values: readonly T[]): ValueType<T> {
  return {
    type: 'enum',
    parse(text) {
      const value = values.find((v) => v.toLowerCase() === text.toLowerCase());
      return value === undefined ? fail(`${quote(text)} is not one of ${values.join(', ')}`) : ok(value);
    },
  };
}

/** `br,gzip` or `gzip|br` -> encodings in that order, each once. */
export const ENCODING_LIST: ValueType<CompressionEncoding[]> = {
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
export const KIB_RANGE_MAX = 65536;

/** `min-max` in KiB -> [min, max] in bytes. */
export const KIB_RANGE: ValueType<[number, number]> = {
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
export const NAME_LIST: ValueType<string[]> = {
  type: 'name-list',
  parse(text) {
    const r = parseKeyList(text);
    return r.ok ? ok(r.value) : fail(r.error);
  },
};

/** `*` = null (every name), `OFF` = [] (none), else lower-case header names. */
export const VARY_LIST: ValueType<string[] | null> = {
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
export const TARGETED_FIELDS: ValueType<string[]> = {
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
export const TAG_FIELDS: ValueType<string[]> = {
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

export const SET_COOKIE = enumType(SET_COOKIE_MODES);
export const COOKIE_REQUEST = enumType(COOKIE_REQUEST_MODES);
export const BALANCE_MODE = enumType(BALANCE_MODES);
export const ORIGIN_PROTOCOL = enumType(['HTTP', 'HTTPS'] as const);
export const LOG_LEVEL = enumType(LOG_LEVELS);
export const TTL_PRIORITY = enumType(TTL_PRIORITIES);
export const MANAGER_ROLE = enumType(MANAGER_ROLES);
export const PURGE_2_EXPIRE = enumType(PURGE_TO_EXPIRE);
export const ROOT_PURGE = enumType(ROOT_PURGE_EXPIRE);

export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Free text; `*` = null (pass the client's value through). */
export const STAR_OR_STRING: ValueType<string | null> = {
  type: 'string',
  parse(text) {
    if (hasControlCharacter(text)) return fail(`${quote(text)} contains control characters`);
    return ok(text === '*' ? null : text);
  },
};

export const TLS_VERSION = enumType(TLS_VERSIONS);
export const HTTPS_ENGINE = enumType(HTTPS_ENGINES);
export const EVICTION_POLICY = enumType(EVICTION_POLICIES);
export const REDIRECT_CODE = enumType(['301', '302', '307', '308'] as const);

/** An OpenSSL cipher list: visible ASCII, no spaces needed (`:`-separated). */
export const CIPHERS: ValueType<string> = {
  type: 'string',
  parse(text) {
    return /^[\u0021-\u007e]+$/.test(text) ? ok(text) : fail(`${quote(text)} is not an OpenSSL cipher list (names separated by ':')`);
  },
};

/** A secret: the problem never echoes it. */
export const TOKEN: ValueType<string> = {
  type: 'token',
  parse(text) {
    return /^[\u0021-\u007e]+$/.test(text) ? ok(text) : fail('the token must be visible ASCII characters without spaces');
  },
};

/** `<SignedUrl Param|ExpiresParam>` (config/edge-policy.ts). */
export const QUERY_PARAM: ValueType<string> = {
  type: 'query-param',
  parse(text) {
    const r = parseQueryParam(text);
    return r.ok ? ok(r.value) : fail(r.error);
  },
};

/** `<Cors AllowOrigin>`: [] = every origin (config/edge-policy.ts). */
export const ORIGIN_LIST: ValueType<string[]> = {
  type: 'origin-list',
  parse(text) {
    const r = parseOriginList(text);
    return r.ok ? ok(r.value) : fail(r.error);
  },
};

/** A URL glob of a setting (policy/url-glob.ts syntax). */
export const URL_GLOB: ValueType<string> = {
  type: 'url-glob',
  parse(text) {
    const problem = globProblem(text);
    return problem === null ? ok(text) : fail(problem);
  },
};

export const NATS_URLS: ValueType<string[]> = { type: 'nats-urls', parse: parseNatsUrls };
export const FLEET_NAME: ValueType<string> = { type: 'fleet-name', parse: parseFleetName };

export const SIGNED_URL_STATUS = enumType(['Active', 'Inactive'] as const);
export const REWRITE_ACCESS_LOG = enumType(['Replace'] as const);
export const SUB_STATUS = enumType(['Active', 'Inactive'] as const);

/** `<Dims>` value forms (config/dims.ts). */
export const fromResult = <T>(r: { ok: true; value: T } | { ok: false; error: string }): Parsed<T> => (r.ok ? ok(r.value) : fail(r.error));
export const DIMS_KEYWORD: ValueType<string> = { type: 'token', parse: (text) => fromResult(parseDimsKeyword(text)) };
export const DIMS_NAME: ValueType<string> = { type: 'string', parse: (text) => fromResult(parseDimsName(text)) };
export const DIMS_OFFSET: ValueType<{ x: number; y: number; percent: boolean }> = { type: 'string', parse: (text) => fromResult(parseDimsOffset(text)) };
export const DIMS_COLOUR: ValueType<string> = { type: 'string', parse: (text) => fromResult(parseDimsColour(text)) };
export const DIMS_TEXT: ValueType<{ text: string | null; queryKey: string | null }> = { type: 'string', parse: (text) => fromResult(parseDimsText(text)) };
export const DIMS_GRAVITY = enumType(DIMS_GRAVITIES);
/** Free text without control characters (a font name, a condition chain). */
export const PLAIN_TEXT: ValueType<string> = { type: 'string', parse: (text) => (hasControlCharacter(text) ? fail(`${quote(text)} contains control characters`) : ok(text)) };
