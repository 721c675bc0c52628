// Unit tests of logs/access-format and the <Log> settings: the `%` format parser against hostile and malformed
// formats (table-driven), the escaping of client-controlled values in every form (no value may end a line or forge a
// field), and config problems that name the element (Form, Unit, Retention, AccessFormat).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Vhost } from '../../src/config/types.js';
import type { RequestHead } from '../../src/http/request.js';
import { RequestCtx } from '../../src/pipeline/context.js';
import { STON_ACCESS_FIELDS, accessFormatter, compileAccessFormat, quoted, w3c } from '../../src/logs/access-format.js';

const BAD_FORMATS: ReadonlyArray<readonly [string, RegExp]> = [
  ['', /empty/],
  ['%', /ends the format without a code/],
  ['abc %', /position 5 ends the format/],
  ['%>', /ends the format without a code/],
  ['%Z', /unknown code "%Z" at position 1/],
  ['%h %{User-Agent', /has no closing "}"/],
  ['%{}i', /"" is not a header name/],
  ['%{a b}i', /"a b" is not a header name/],
  ['%{X-A}o', /only %\{Name\}i/],
  ['%{X-A}', /ends the format without a code/],
  ['%h\n%u', /control character at position 3/],
  ['%h\u0000', /control character/],
  ['%h\u007f', /control character/],
  ['x'.repeat(1025), /longer than 1024/],
];

test('malformed % formats are rejected with the position and the reason', () => {
  for (const [format, expected] of BAD_FORMATS) {
    const compiled = compileAccessFormat(format);
    assert.equal(compiled.ok, false, JSON.stringify(format));
    if (!compiled.ok) assert.match(compiled.error, expected, JSON.stringify(format));
  }
});

function ctxFor(headers: Record<string, string>, path = '/a b', query = 'q=1'): RequestCtx {
  const flat = Object.entries(headers).flat();
  const head: RequestHead = { method: 'GET', path, query, headers: flat, host: 'site.test', clientIp: '127.0.0.1' };
  const ctx = new RequestCtx(head, { name: 'site.test' } as Vhost, path, 1000);
  ctx.status = 200;
  ctx.firstByteAt = 1004.4;
  ctx.cacheResult = 'TCP_HIT';
  return ctx;
}

const WALL = Date.UTC(2026, 11, 6, 19, 2, 3);

test('every code of a custom format, and %% and literals', () => {
  const compiled = compileAccessFormat('%h %l %u %t "%r" %>s %s %b %B %D %T %v %m %U %q %H %S %R %L %j %k %X %x %{X-Test}i %{missing}i 100%%');
  assert.ok(compiled.ok);
  const ctx = ctxFor({ range: 'bytes=0-9', 'accept-encoding': 'gzip', 'x-test': 'v' });
  const line = compiled.formatter({ ctx, status: 'complete', bytesSent: 0, now: 1012.5, wallMs: WALL });
  assert.equal(line, '127.0.0.1 - - [06/Dec/2026:19:02:03 +0000] "GET /a b?q=1 HTTP/1.1" 200 200 - 0 12500 0 site.test GET /a b ?q=1 HTTP/1.1 TCP_HIT 4 - bytes=0-9 gzip c c v - 100%');
  const aborted = compiled.formatter({ ctx, status: 'aborted', bytesSent: 7, now: 3100, wallMs: WALL });
  assert.match(aborted, / 200 200 7 7 2100000 2 .* x x v - 100%$/);
});

// A client controls the URL and every request header: none of them may break the line or a quoted field.
const HOSTILE = ['a"b', 'a\\b', 'a\nb', 'a\r\nGET /forged HTTP/1.1', 'tab\there', 'é', '\u0000', 'x y', '%41+'];

test('apache form: quotes, backslashes, control and non-ASCII bytes are escaped in request headers and the URL', () => {
  const format = accessFormatter('apache', null);
  for (const value of HOSTILE) {
    const ctx = ctxFor({ 'user-agent': value, referer: value }, `/p${value}`, '');
    const line = format({ ctx, status: 'complete', bytesSent: 5, now: 1010, wallMs: WALL });
    assert.ok(!/[\r\n\t]/.test(line) && !line.includes('\u0000'), JSON.stringify(line));
    // Exactly the 6 quotes of the combined format remain unescaped.
    assert.equal(line.replace(/\\\\/g, '').replace(/\\"/g, '').split('"').length - 1, 6, JSON.stringify(line));
  }
  assert.equal(quoted('a"b\\c\nd'), 'a\\"b\\\\c\\x0ad');
  assert.equal(quoted('é'), '\\xc3\\xa9');
});

test('ston (W3C) form: one field per value, spaces as +, escapes for the rest, - when empty', () => {
  const format = accessFormatter('ston', null);
  for (const value of HOSTILE) {
    const ctx = ctxFor({ 'user-agent': value, referer: value }, `/p${value}`, value);
    const line = format({ ctx, status: 'complete', bytesSent: 5, now: 1010, wallMs: WALL });
    assert.ok(!/[\r\n\t]/.test(line) && !line.includes('\u0000'), JSON.stringify(line));
    assert.equal(line.split(' ').length, STON_ACCESS_FIELDS.length, JSON.stringify(line));
  }
  assert.equal(w3c(''), '-');
  assert.equal(w3c(undefined), '-');
  assert.equal(w3c('a b+c%41'), 'a+b+c%41');
  assert.equal(w3c('é'), '%C3%A9');
  assert.equal(w3c('a\r\nb'), 'a%0D%0Ab');
  const ctx = ctxFor({ 'user-agent': 'curl/8', range: 'bytes=0-1' });
  assert.equal(
    format({ ctx, status: 'complete', bytesSent: 5, now: 1010.4, wallMs: WALL }),
    '2026-12-06 19:02:03 - GET /a+b q=1 - - 127.0.0.1 curl/8 200 5 10 - - bytes=0-1 TCP_HIT - - - 4 c - site.test - -',
  );
  // sc-resinfo (the 15th field): the encoding Flint applied (<Compression>), and Bypass, as STON.
  const resInfo = (encoding: '' | 'br' | 'gzip', bypassed: boolean): string => {
    const c = ctxFor({});
    c.contentEncoding = encoding;
    if (bypassed) c.bypassReason = 'rule';
    return format({ ctx: c, status: 'complete', bytesSent: 5, now: 1010, wallMs: WALL }).split(' ')[14] as string;
  };
  assert.equal(resInfo('', false), '-');
  assert.equal(resInfo('gzip', false), 'gzip');
  assert.equal(resInfo('br', false), 'br');
  assert.equal(resInfo('', true), 'Bypass');
  assert.equal(resInfo('gzip', true), 'gzip+Bypass');
});

test('json form: one JSON object per line whatever the client sent', () => {
  const format = accessFormatter('json', null);
  for (const value of HOSTILE) {
    const ctx = ctxFor({}, `/p${value}`, '');
    const line = format({ ctx, status: 'complete', bytesSent: 5, now: 1010, wallMs: WALL });
    assert.ok(!line.includes('\n'));
    const record = JSON.parse(line) as Record<string, unknown>;
    assert.equal(record.url, `/p${value}`);
    assert.equal(record.type, 'access');
  }
});

/** The problems of a vhost whose <Log> is `log`. */
function logProblems(log: string, vhostDefault = ''): readonly string[] {
  try {
    loadConfigFromText('/srv/flint/conf', `<Server><VHostDefault>${vhostDefault}</VHostDefault></Server>`, `<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Log>${log}</Log></Vhost></Vhosts>`, { cpuCount: 2 });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return [];
}

test('bad <Log> values are errors naming the element', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['<Access Form="w3c">x.log</Access>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Access@Form: "w3c" is not one of json, ston, apache, custom'],
    ['<Access Form="custom">x.log</Access>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Access@Form: "custom" needs the line format in <Log><AccessFormat>'],
    ['<Access Type="daily">x.log</Access>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Access@Type: "daily" is not one of none, time, size, both'],
    ['<Access Unit="1d">x.log</Access>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Access@Unit: "1d" is not a number or two numbers separated by a comma (minutes,MB)'],
    ['<Access Unit="0">x.log</Access>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Access@Unit: "0": units start at 1'],
    ['<Access Type="both" Unit="60">x.log</Access>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Access@Unit: "60" needs two numbers with Type="both": minutes,MB (e.g. 1440,100)'],
    ['<Access Type="size" Unit="60,5">x.log</Access>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Access@Unit: "60,5": two numbers (minutes,MB) are only for Type="both"'],
    ['<Origin Type="time" Unit="9999999">x.log</Origin>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Origin@Unit: 9999999 minutes is out of range (1..525600)'],
    ['<Origin Retention="0">x.log</Origin>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Origin@Retention: "0" is out of range (1..10000)'],
    ['<Origin Compression="gzip">x.log</Origin>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/Origin@Compression: "gzip" is not a valid boolean (ON or OFF)'],
    ['<Access Form="custom">x.log</Access><AccessFormat>%h %Q</AccessFormat>', 'vhosts.xml: Vhosts/Vhost[Name=a.com]/Log/AccessFormat: "%h %Q": unknown code "%Q" at position 4'],
  ];
  for (const [log, expected] of cases) assert.deepEqual(logProblems(log), [expected], log);
});

test('<Log> settings inherit from <VHostDefault> one by one; ON for the origin log is var/log/origin.log', () => {
  const config = loadConfigFromText(
    '/srv/flint/conf',
    '<Server><VHostDefault><Log><Access Form="ston" Type="size" Unit="5" Compression="ON">var/log/a.log</Access><Origin>ON</Origin></Log></VHostDefault></Server>',
    '<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Log><Access Retention="3">var/log/b.log</Access></Log></Vhost></Vhosts>',
    { cpuCount: 2 },
  );
  const log = config.vhosts[0]?.log;
  assert.equal(log?.accessPath, '/srv/flint/var/log/b.log');
  assert.equal(log?.accessForm, 'ston');
  assert.deepEqual(log?.accessRotation, { type: 'size', unit: { minutes: 1440, bytes: 5 * 1024 * 1024 }, retention: 3, compression: true });
  assert.equal(log?.originPath, '/srv/flint/var/log/origin.log');
});
