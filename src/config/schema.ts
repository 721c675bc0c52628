/**
 * @module config/schema
 * The one table of every configuration setting (the Varnish params.h idea): XML path, value type, default, unit,
 * range and a one-line doc. config/validate.ts reads defaults, ranges and the set of known elements from it, and
 * `renderConfigReference()` turns it into docs/configuration.md, so code, checks and docs cannot drift apart.
 * Pure data; loaded by the primary (validation, via validate.ts) and by the docs script, never needed by workers.
 */
import type { Setting, SettingType } from './schema-types.js';
import { SERVER_SETTINGS } from './schema-server.js';
import { VHOSTS_SETTINGS } from './schema-vhosts.js';
import { OPTIONS_SETTINGS } from './schema-options.js';
import { EDGE_SETTINGS } from './schema-edge.js';
import { TRANSFORM_LOG_SETTINGS } from './schema-transform-log.js';
import { MEDIA_SETTINGS } from './schema-media.js';
import { THROTTLE_SETTINGS } from './schema-throttle.js';

export type { SettingType, Setting } from './schema-types.js';
export { TTL_PRIORITIES } from './schema-types.js';

/** Every setting Flint reads, in the order the reference lists them. */
export const SETTINGS: readonly Setting[] = [
  ...SERVER_SETTINGS,
  ...VHOSTS_SETTINGS,
  ...OPTIONS_SETTINGS,
  ...EDGE_SETTINGS,
  ...THROTTLE_SETTINGS,
  ...TRANSFORM_LOG_SETTINGS,
  ...MEDIA_SETTINGS,
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
