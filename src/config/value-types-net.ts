/**
 * @module config/value-types-net
 * Value types for names, addresses, ports, paths, log settings, probe targets and status lists.
 * Part of config validation; runs in the primary and in `flint check-config`.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { ACCESS_FORMS, ROTATION_TYPES } from './types.js';
import type { LinkCondition, ListenAddress, OriginAddress, OriginTls } from './types.js';
import { compileAccessFormat } from '../logs/access-format.js';
import { parseLogUnit } from '../logs/log-settings.js';
import { parseLinkCondition } from './vhost-link.js';
import { COUNTRY_CODES } from '../policy/country-codes.js';
import path from 'node:path';
import { ok, fail, quote, INT, enumType, hasControlCharacter } from './value-types.js';
import type { ValueType } from './value-types.js';

export const DNS_LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
export const DNS_NAME = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

/** A DNS name or an IPv4 literal (lower-case). All-numeric names must be valid IPv4. */
export function isHostName(name: string): boolean {
  if (name.length > 253 || !DNS_NAME.test(name)) return false;
  return /^[\d.]+$/.test(name) ? isIPv4(name) : true;
}

export const HOST_NAME: ValueType<string> = {
  type: 'host-name',
  parse(text) {
    const name = text.toLowerCase();
    return isHostName(name) ? ok(name) : fail(`${quote(text)} is not a valid host name`);
  },
};

export const VHOST_REF: ValueType<string> = { type: 'vhost-ref', parse: HOST_NAME.parse };

export const LINK_CONDITION: ValueType<LinkCondition> = {
  type: 'link-condition',
  parse(text) {
    const parsed = parseLinkCondition(text);
    return 'error' in parsed ? fail(parsed.error) : ok(parsed.value);
  },
};

export const ALIAS: ValueType<string> = {
  type: 'alias',
  parse(text) {
    const alias = text.toLowerCase();
    const name = alias.startsWith('*.') ? alias.slice(2) : alias;
    return isHostName(name) ? ok(alias) : fail(`${quote(text)} is not a valid alias (a host name, or *. and a host name)`);
  },
};

/** An IP address, optionally in brackets; `*` = 0.0.0.0. */
export const IP: ValueType<string> = {
  type: 'ip',
  parse(text) {
    if (text === '*') return ok('0.0.0.0');
    const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
    return isIP(bare) === 0 ? fail(`${quote(text)} is not an IP address`) : ok(bare.toLowerCase());
  },
};

/** `Allow` / `Deny` (STON's Default attributes), stored lower-case. */
export const ALLOW_DENY: ValueType<'allow' | 'deny'> = {
  type: 'enum',
  parse(text) {
    const lower = text.toLowerCase();
    return lower === 'allow' || lower === 'deny' ? ok(lower) : fail(`${quote(text)} is not Allow or Deny`);
  },
};

export const IP_OR_CIDR: ValueType<string> = {
  type: 'ip-or-cidr',
  parse(text) {
    const [address = '', prefix, extra] = text.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    return family !== 0 && prefixOk && extra === undefined ? ok(text) : fail(`${quote(text)} is not an IP address or CIDR range`);
  },
};

/** A `<ServiceAccess>` entry: an address or CIDR range, or an upper-cased country code (STON, with GeoIP). */
export const ADDRESS_OR_COUNTRY: ValueType<string> = {
  type: 'address-or-country',
  parse(text, setting, installDir) {
    if (!/^[A-Za-z]{2}$/.test(text)) return IP_OR_CIDR.parse(text, setting, installDir);
    const code = text.toUpperCase();
    return COUNTRY_CODES.has(code) ? ok(code) : fail(`${quote(text)} is neither an IP address or CIDR range nor an ISO 3166-1 alpha-2 country code`);
  },
};

export function parsePort(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

export const LISTEN: ValueType<ListenAddress> = {
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
export const URL_PATH = /^(\/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)*$/;

export const ORIGIN_ADDRESS: ValueType<OriginAddress> = {
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
export function withDefaultPort(addresses: OriginAddress[], tls: OriginTls | null): OriginAddress[] {
  if (tls === null) return addresses;
  return addresses.map((a) => (/^(\[[^\]]*\]|[^:/[\]]+):/.test(a.text) ? a : { ...a, port: 443 }));
}

/** `<Retry>`: a count, or `all` (= the largest count, every member once). */
export const RETRY: ValueType<number> = {
  type: 'int',
  parse(text, setting) {
    return text.toLowerCase() === 'all' ? ok(setting.max ?? 65535) : INT.parse(text, setting, '');
  },
};

/** `<IgnoreSuffix>`: non-empty text without control characters. */
export const SUFFIX: ValueType<string> = {
  type: 'string',
  parse(text) {
    if (text === '') return fail('the suffix must not be empty');
    return hasControlCharacter(text) ? fail(`${quote(text)} contains control characters`) : ok(text);
  },
};

/** A path; relative ones resolve against the install directory (parent of conf/). */
export const PATH: ValueType<string> = {
  type: 'path',
  parse(text, _setting, installDir) {
    if (text.includes('\u0000')) return fail(`${quote(text)} is not a valid path`);
    // A STON habit (<Info>ON</Info>) must not become a file named ON.
    if (/^(on|off)$/i.test(text)) return fail(`${quote(text)} is not accepted here; give a file or directory path`);
    return ok(path.resolve(installDir, text));
  },
};

/** A log file path; OFF = null, ON = the setting's default path. */
export const LOG_PATH: ValueType<string | null> = {
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
export const ACCESS_FORM = enumType(ACCESS_FORMS);
export const ROTATION_TYPE = enumType(ROTATION_TYPES);
export const LOG_UNIT: ValueType<number[]> = { type: 'log-unit', parse: parseLogUnit };
export const ACCESS_FORMAT: ValueType<string> = {
  type: 'access-format',
  parse(text) {
    const compiled = compileAccessFormat(text);
    return compiled.ok ? ok(text) : fail(`${quote(text)}: ${compiled.error}`);
  },
};

/** What a probe requests: a path (query allowed) or an absolute http:// URL (its host is sent as Host). */
export const PROBE_TARGET: ValueType<string> = {
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
export const STATUS_LIST: ValueType<number[]> = {
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
export const STATUS_SET: ValueType<number[]> = {
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
