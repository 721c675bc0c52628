/**
 * @module logs/access-format
 * How one access record becomes one line, per `<Access Form>`: `json` (Flint's JSON object), `ston` (STON's W3C
 * field list, announced by the `#Fields` header the primary writes at the top of each file), `apache` (combined log
 * format) and `custom` (`<AccessFormat>`, Apache-style `%` codes plus STON's). `compileAccessFormat` is the one
 * parser of a `%` format: config validation calls it for its error, workers for the compiled line. Every value a
 * client controls is escaped so it cannot end a line or forge a field. Runs in workers (and the primary, to check).
 */
import { headerValue } from '../http/request.js';
import type { AccessForm } from '../config/types.js';
import type { RequestCtx, TransactionStatus } from '../pipeline/context.js';
import { TOKEN } from '../http-grammar.js';
import { rewriteOf } from '../pipeline/url-rewrite.js';

/** What a line is built from: the finished transaction. `now` is performance.now() at the end, `wallMs` Date.now(). */
export interface AccessRecord {
  readonly ctx: RequestCtx;
  readonly status: TransactionStatus;
  readonly bytesSent: number;
  readonly now: number;
  readonly wallMs: number;
}

/** Builds one line (without the newline) from a record. */
export type LineFormatter = (record: AccessRecord) => string;

/** STON's default access fields (log.html), in its order; fields Flint does not know are written as `-`. */
export const STON_ACCESS_FIELDS = [
  'date',
  'time',
  's-ip',
  'cs-method',
  'cs-uri-stem',
  'cs-uri-query',
  's-port',
  'cs-username',
  'c-ip',
  'cs(User-Agent)',
  'sc-status',
  'sc-bytes',
  'time-taken',
  'cs-referer',
  'sc-resinfo',
  'cs-range',
  'sc-cachehit',
  'cs-acceptencoding',
  'session-id',
  'sc-content-length',
  'time-response',
  'x-transaction-status',
  'x-vhostlink',
  'x-vhost',
  // Flint's TLS fields after STON's own (STON logs the cipher as x-sc-ssl-cipher); `-` on plain HTTP.
  'x-sc-ssl-protocol',
  'x-sc-ssl-cipher',
  // `host/path?query` as the client sent it when a <URLRewrite> changed it (the URL fields show the rewritten one).
  'x-cs-original-url',
] as const;

/** The W3C extended log header of a file whose lines have `fields` (written once at the top of each file). */
export function w3cHeader(fields: readonly string[]): string {
  return `#Software: Flint\n#Version: 1.0\n#Fields: ${fields.join(' ')}\n`;
}

/** Apache's combined log format (`Form="apache"`). */
export const APACHE_COMBINED = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"';

/** The longest `<AccessFormat>` accepted: a format is a line template, not a document. */
const MAX_FORMAT_LENGTH = 1024;

/** The line formatter of a form; `format` is `<AccessFormat>` (only read for `custom`, already validated). */
export function accessFormatter(form: AccessForm, format: string | null): LineFormatter {
  if (form === 'json') return jsonLine;
  if (form === 'ston') return stonLine;
  const compiled = compileAccessFormat(form === 'apache' ? APACHE_COMBINED : (format ?? ''));
  if (!compiled.ok) throw new Error(`logs/access-format: ${compiled.error}`);
  return compiled.formatter;
}

// ---------------------------------------------------------------------------------------------------------------
// json and ston

function jsonLine(r: AccessRecord): string {
  const ctx = r.ctx;
  return JSON.stringify({
    type: 'access',
    time: new Date(r.wallMs).toISOString(),
    vhost: ctx.vhostChain,
    clientIp: ctx.head.clientIp,
    method: ctx.head.method,
    url: ctx.url,
    status: ctx.status,
    bytesSent: r.bytesSent,
    requestBytes: ctx.requestBodyBytes,
    ttfbMs: ctx.firstByteAt === 0 ? null : round(ctx.firstByteAt - ctx.startedAt),
    totalMs: round(r.now - ctx.startedAt),
    origin: ctx.origin === '' ? null : ctx.origin,
    cacheResult: ctx.cacheResult,
    // STON's cs-reqinfo: the request bypassed the cache (BypassNoCacheRequest, a bypass rule or the method default).
    reqInfo: ctx.bypassReason === null ? undefined : 'Bypass',
    // STON's sc-resinfo: the Content-Encoding Flint applied (<Compression>).
    contentEncoding: ctx.contentEncoding === '' ? undefined : ctx.contentEncoding,
    bypassReason: ctx.bypassReason ?? undefined,
    // <Media>: what the response was built as (relocate, trim, hls-segment, mp3-trim, ...).
    media: ctx.media?.label,
    transactionStatus: r.status,
    error: ctx.errorCode === '' ? undefined : ctx.errorCode,
    errorDetail: ctx.errorDetail === '' ? undefined : ctx.errorDetail,
    // Over TLS only (tls/h2-request.ts): `h2` or `http/1.1`, the TLS version and the cipher.
    alpn: ctx.head.tls?.alpn,
    tlsProtocol: ctx.head.tls?.protocol,
    tlsCipher: ctx.head.tls?.cipher,
    // `host/path?query` before a <URLRewrite>; `vhost` and `url` are the rewritten request's.
    originalUrl: rewriteOf(ctx.head)?.originalUrl,
  });
}

function stonLine(r: AccessRecord): string {
  const ctx = r.ctx;
  const head = ctx.head;
  const [date, time] = w3cDateTime(r.wallMs);
  return [
    date,
    time,
    '-',
    w3c(head.method),
    w3c(head.path),
    w3c(head.query),
    '-',
    '-',
    w3c(head.clientIp),
    w3c(headerValue(head, 'user-agent')),
    String(ctx.status),
    String(r.bytesSent),
    String(Math.round(r.now - ctx.startedAt)),
    w3c(headerValue(head, 'referer')),
    resInfo(ctx),
    w3c(headerValue(head, 'range')),
    ctx.cacheResult,
    w3c(headerValue(head, 'accept-encoding')),
    '-',
    '-',
    ctx.firstByteAt === 0 ? '-' : String(Math.round(ctx.firstByteAt - ctx.startedAt)),
    r.status === 'complete' ? 'c' : 'x',
    ctx.linkedFrom.length === 0 ? '-' : w3c(ctx.vhostChain),
    w3c(ctx.vhost.name),
    w3c(head.tls?.protocol),
    w3c(head.tls?.cipher),
    w3c(rewriteOf(head)?.originalUrl),
  ].join(' ');
}

/**
 * STON's sc-resinfo: the encoding Flint applied (gzip, br), the media kind (`<Media>`: relocate, trim, hls-segment,
 * ...) and Bypass, joined by `+`; `-` for none.
 */
function resInfo(ctx: RequestCtx): string {
  if (ctx.bypassReason === null && ctx.media === null) return ctx.contentEncoding === '' ? '-' : ctx.contentEncoding;
  const parts: string[] = [];
  if (ctx.contentEncoding !== '') parts.push(ctx.contentEncoding);
  if (ctx.media !== null) parts.push(ctx.media.label);
  if (ctx.bypassReason !== null) parts.push('Bypass');
  return parts.join('+');
}

/**
 * A W3C field value: `-` when empty; a space becomes `+` (STON, IIS) and a control or non-ASCII character its
 * percent-escape, so a field never splits and a line never ends inside a value. `%` stays: URLs arrive escaped.
 */
export function w3c(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0) as number;
    if (c === 0x20) out += '+';
    else if (c < 0x20 || c >= 0x7f) out += percentEscape(ch);
    else out += ch;
  }
  return out;
}

function percentEscape(ch: string): string {
  let out = '';
  for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// `%` formats (apache, custom)

type Part = string | LineFormatter;

/** A compiled `%` format, or the first problem in it (said plainly: config validation shows it to the operator). */
export type CompiledFormat = { readonly ok: true; readonly formatter: LineFormatter } | { readonly ok: false; readonly error: string };

/** The `%` codes without an argument. */
const CODES: Readonly<Record<string, LineFormatter>> = {
  h: (r) => quoted(r.ctx.head.clientIp),
  a: (r) => quoted(r.ctx.head.clientIp),
  l: () => '-',
  u: () => '-',
  t: (r) => apacheTime(r.wallMs),
  r: (r) => quoted(`${r.ctx.head.method} ${r.ctx.url} HTTP/1.1`),
  m: (r) => quoted(r.ctx.head.method),
  U: (r) => quoted(r.ctx.head.path),
  q: (r) => (r.ctx.head.query === '' ? '' : quoted(`?${r.ctx.head.query}`)),
  H: () => 'HTTP/1.1',
  s: (r) => String(r.ctx.status),
  b: (r) => (r.bytesSent === 0 ? '-' : String(r.bytesSent)),
  B: (r) => String(r.bytesSent),
  D: (r) => String(Math.round((r.now - r.ctx.startedAt) * 1000)),
  T: (r) => String(Math.floor((r.now - r.ctx.startedAt) / 1000)),
  v: (r) => quoted(r.ctx.vhost.name),
  S: (r) => r.ctx.cacheResult,
  R: (r) => (r.ctx.firstByteAt === 0 ? '-' : String(Math.round(r.ctx.firstByteAt - r.ctx.startedAt))),
  L: (r) => (r.ctx.linkedFrom.length === 0 ? '-' : quoted(r.ctx.vhostChain)),
  j: (r) => quoted(headerValue(r.ctx.head, 'range') ?? '-'),
  k: (r) => quoted(headerValue(r.ctx.head, 'accept-encoding') ?? '-'),
  X: (r) => (r.status === 'complete' ? 'c' : 'x'),
  x: (r) => (r.status === 'complete' ? 'c' : 'x'),
  W: (r) => quoted(rewriteOf(r.ctx.head)?.originalUrl ?? '-'),
};

/** Parses an Apache-style format; `%>s` is `%s` (Flint has no internal redirects), `%{Name}i` a request header. */
export function compileAccessFormat(format: string): CompiledFormat {
  if (format.length === 0) return { ok: false, error: 'the format is empty' };
  if (format.length > MAX_FORMAT_LENGTH) return { ok: false, error: `the format is longer than ${MAX_FORMAT_LENGTH} characters` };
  for (let i = 0; i < format.length; i++) {
    const c = format.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return { ok: false, error: `control character at position ${i + 1}` };
  }
  const parts: Part[] = [];
  let literal = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] as string;
    if (ch !== '%') {
      literal += ch;
      continue;
    }
    const at = i + 1;
    let next = format[++i];
    if (next === '%') {
      literal += '%';
      continue;
    }
    let argument: string | null = null;
    if (next === '{') {
      const close = format.indexOf('}', i);
      if (close === -1) return { ok: false, error: `"%{" at position ${at} has no closing "}"` };
      argument = format.slice(i + 1, close);
      i = close;
      next = format[++i];
    } else if (next === '>') next = format[++i];
    if (next === undefined) return { ok: false, error: `"%" at position ${at} ends the format without a code` };
    let part: LineFormatter | undefined;
    if (argument !== null) {
      if (next !== 'i') return { ok: false, error: `"%{...}${next}" at position ${at}: only %{Name}i (a request header) takes an argument` };
      if (!TOKEN.test(argument)) return { ok: false, error: `"%{${argument}}i" at position ${at}: ${JSON.stringify(argument)} is not a header name` };
      const name = argument.toLowerCase();
      part = (r) => quoted(headerValue(r.ctx.head, name) ?? '-');
    } else part = CODES[next];
    if (part === undefined) return { ok: false, error: `unknown code "%${next}" at position ${at}` };
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(part);
  }
  if (literal !== '') parts.push(literal);
  return { ok: true, formatter: (r) => render(parts, r) };
}

function render(parts: readonly Part[], r: AccessRecord): string {
  let line = '';
  for (const part of parts) line += typeof part === 'string' ? part : part(r);
  return line;
}

/**
 * Apache's escaping of logged values (mod_log_config): `"` and `\` get a backslash, control and non-ASCII bytes
 * become `\xhh`, so a quoted field ends only where the format says and no value can start a new line.
 */
export function quoted(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0) as number;
    if (c === 0x22 || c === 0x5c) out += `\\${ch}`;
    else if (c < 0x20 || c >= 0x7f) for (const byte of Buffer.from(ch, 'utf8')) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Time: the text changes once a second, so it is built once a second.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let cachedSecond = -1;
let cachedApache = '';
let cachedW3c: readonly [string, string] = ['', ''];

function refreshTime(wallMs: number): void {
  const second = Math.floor(wallMs / 1000);
  if (second === cachedSecond) return;
  cachedSecond = second;
  const d = new Date(second * 1000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const hms = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  cachedApache = `[${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${hms} +0000]`;
  cachedW3c = [`${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`, hms];
}

/** `[06/Dec/2026:19:02:03 +0000]` (Apache `%t`, UTC). */
function apacheTime(wallMs: number): string {
  refreshTime(wallMs);
  return cachedApache;
}

/** W3C `date` and `time` fields, UTC: `2026-12-06`, `19:02:03`. */
export function w3cDateTime(wallMs: number): readonly [string, string] {
  refreshTime(wallMs);
  return cachedW3c;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
