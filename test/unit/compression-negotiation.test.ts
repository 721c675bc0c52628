/**
 * The compression step's parsers, table-driven with hostile inputs: Accept-Encoding negotiation (RFC 9110 §12.5.3:
 * q-values, `*`, `x-gzip`, q=0, malformed entries, repeats, oversized headers), the compression target list
 * (`$MIME[...]`, `$URL[...]`), the encoded ETag, and the config errors of `<Compression>`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { loadConfigFromText } from '../../src/config/load.js';
import type { CompressionEncoding } from '../../src/config/types.js';
import { MAX_ENTRIES, MAX_HEADER_CHARS, chooseEncoding } from '../../src/transform/accept-encoding.js';
import { CompressionTargets, compressionTargetsFromText } from '../../src/transform/compression-targets.js';
import { encodedEtag, withVaryAcceptEncoding } from '../../src/transform/compression.js';

const BOTH: CompressionEncoding[] = ['br', 'gzip'];

test('Accept-Encoding negotiation picks the best offered encoding, identity otherwise', () => {
  const cases: Array<[string | undefined, readonly CompressionEncoding[], CompressionEncoding | null]> = [
    [undefined, BOTH, null],
    ['', BOTH, null],
    ['br', BOTH, 'br'],
    ['gzip', BOTH, 'gzip'],
    ['gzip, deflate, br', BOTH, 'br'],
    ['gzip, deflate, br', ['gzip', 'br'], 'gzip'],
    ['GZIP', BOTH, 'gzip'],
    ['x-gzip', BOTH, 'gzip'],
    ['br;q=0.5, gzip;q=0.8', BOTH, 'gzip'],
    ['br;q=0.8, gzip;q=0.8', BOTH, 'br'],
    ['br ; q=0.9 , gzip ; q=0.1', BOTH, 'br'],
    ['br;q=0', BOTH, null],
    ['br;q=0, gzip', BOTH, 'gzip'],
    ['br;q=0.000', BOTH, null],
    ['*', BOTH, 'br'],
    ['*;q=0', BOTH, null],
    ['*;q=0, gzip', BOTH, 'gzip'],
    ['br;q=0, *', BOTH, 'gzip'],
    ['identity', BOTH, null],
    ['identity;q=0', BOTH, null],
    ['identity;q=0, *;q=0', BOTH, null],
    ['deflate, compress', BOTH, null],
    ['br', ['gzip'], null],
    // Malformed entries count as absent.
    ['br;q=2', BOTH, null],
    ['br;q=1.5, gzip', BOTH, 'gzip'],
    ['br;q=-1', BOTH, null],
    ['br;q=0.1234', BOTH, null],
    ['br;q=abc', BOTH, null],
    ['br;q=', BOTH, null],
    ['br;q', BOTH, null],
    ['br;=1', BOTH, null],
    ['b r', BOTH, null],
    ['br\u0000', BOTH, null],
    ['"br"', BOTH, null],
    [';;;,,,', BOTH, null],
    [',,br,,', BOTH, 'br'],
    ['br;level=5', BOTH, 'br'],
    ['br;q=0.5;q=1', BOTH, 'br'],
    // The first entry of a coding counts: a repeat cannot raise (or lower) it.
    ['br;q=0, br;q=1', BOTH, null],
    ['br, br;q=0', BOTH, 'br'],
    // Oversized or overlong lists get identity.
    [`${'x'.repeat(MAX_HEADER_CHARS)}, br`, BOTH, null],
    [`${Array.from({ length: MAX_ENTRIES }, () => 'a').join(',')},br`, BOTH, null],
    [`${Array.from({ length: MAX_ENTRIES - 1 }, () => 'a').join(',')},br`, BOTH, 'br'],
  ];
  for (const [header, offered, expected] of cases) {
    assert.equal(chooseEncoding(header, offered), expected, JSON.stringify(header));
  }
});

test('compression targets: $MIME and $URL lines, any line matching', () => {
  const { rules, problems } = compressionTargetsFromText('svc/a/compression.txt', '# comment\n$MIME[text/*]\n$URL[*.json]\n$MIME[application/javascript] & $URL[/static/*]\n/feeds/*.xml\n');
  assert.deepEqual(problems, []);
  const targets = new CompressionTargets(rules);
  const cases: Array<[string | undefined, string, boolean]> = [
    ['text/html; charset=utf-8', '/a', true],
    ['TEXT/CSS', '/a.css', true],
    ['application/octet-stream', '/data.json', true],
    ['application/octet-stream', '/DATA.JSON', true],
    ['application/javascript', '/static/app.js', true],
    ['application/javascript', '/other/app.js', false],
    [undefined, '/feeds/a.xml', true],
    ['image/png', '/a.png', false],
    [undefined, '/a', false],
  ];
  for (const [type, path, expected] of cases) assert.equal(targets.matches(type, path), expected, `${type} ${path}`);
});

test('no target lines: the default text types', () => {
  const targets = new CompressionTargets([]);
  for (const type of ['text/html', 'text/css', 'text/plain', 'text/xml', 'application/javascript', 'application/json', 'application/xml', 'image/svg+xml']) {
    assert.equal(targets.matches(`${type}; charset=utf-8`, '/x'), true, type);
  }
  for (const type of ['image/png', 'application/octet-stream', 'video/mp4', 'text/csv', 'application/zip']) assert.equal(targets.matches(type, '/x'), false, type);
  assert.equal(targets.matches(undefined, '/x.html'), false);
});

test('media types compressed by their format are never targets, even under $URL[*] or $MIME[*/*]', () => {
  const { rules, problems } = compressionTargetsFromText('svc/a/compression.txt', '$URL[*]\n$MIME[*/*]\n$MIME[image/*]\n');
  assert.deepEqual(problems, []);
  const targets = new CompressionTargets(rules);
  const cases: Array<[string | undefined, boolean]> = [
    ['image/jpeg', false],
    ['IMAGE/JPEG; charset=binary', false],
    ['  image/png  ', false],
    ['image/png;', false],
    ['image/webp', false],
    ['image/avif', false],
    ['image/gif', false],
    ['video/mp4', false],
    ['video/MP2T', false],
    ['audio/mpeg', false],
    ['application/zip', false],
    ['application/gzip', false],
    ['font/woff2', false],
    ['application/x-7z-compressed', false],
    // Still targets: raw or text formats, and look-alikes that are not the compressed types.
    ['image/svg+xml', true],
    ['image/bmp', true],
    ['image/jpeg2', true],
    ['ximage/jpeg', true],
    ['application/zip+json', true],
    ['text/html', true],
    ['application/octet-stream', true],
    [undefined, true],
    ['', true],
  ];
  for (const [type, expected] of cases) assert.equal(targets.matches(type, '/any/file'), expected, JSON.stringify(type));
});

test('compression target lines that are not understood are problems naming source and line', () => {
  const cases: Array<[string, RegExp]> = [
    ['$MIME[text]', /line 1: "text" is not a media type pattern/],
    ['$MIME[text/html charset]', /line 1: .* is not a media type pattern/],
    ['$MIME[]', /line 1: "" is not a media type pattern/],
    ['$MIME[text/*] & $MIME[application/*]', /line 1: \$MIME\[\.\.\.\] appears twice/],
    ['$URL[/a] & $URL[/b]', /line 1: \$URL\[\.\.\.\] appears twice/],
    ['$URL[/a?x=1]', /line 1: .*contains '\?'/],
    ['$HEADER[accept]', /line 1: \$HEADER\[\.\.\.\] is not a condition here/],
    ['$IP[10.0.0.1]', /line 1: \$IP\[\.\.\.\] is not a condition here/],
    ['$MIME[text/*], gzip', /line 1: a compression target has no action/],
    ['$MIME[text/*', /line 1: .*never closed/],
    ['$MIME[text/*]]', /line 1: .*without '\['/],
    ['text/*\u0001', /line 1: contains control characters/],
    [`$URL[/${'a'.repeat(5000)}]`, /line 1: longer than 4096 characters/],
  ];
  for (const [line, expected] of cases) {
    const { rules, problems } = compressionTargetsFromText('vhosts.xml: MatchingList[1]', line);
    assert.equal(rules.length, 0, line);
    assert.equal(problems.length, 1, `${line}: ${problems.join('; ')}`);
    assert.match(problems[0] as string, /^vhosts\.xml: MatchingList\[1\]: /);
    assert.match(problems[0] as string, expected, line);
  }
});

test('the encoded ETag keeps weakness and is never an identity ETag', () => {
  assert.equal(encodedEtag('"abc"', 'br'), '"abc-br"');
  assert.equal(encodedEtag('W/"abc"', 'gzip'), 'W/"abc-gzip"');
  assert.equal(encodedEtag('""', 'br'), '"-br"');
  assert.equal(encodedEtag(null, 'br'), null);
  assert.equal(encodedEtag('abc', 'br'), null, 'malformed: no validator');
  assert.equal(encodedEtag('"a"b"', 'br'), null);
});

test('Vary gets Accept-Encoding once', () => {
  assert.deepEqual(withVaryAcceptEncoding(['a', '1']), ['a', '1', 'vary', 'Accept-Encoding']);
  assert.deepEqual(withVaryAcceptEncoding(['vary', 'Origin']), ['vary', 'Origin, Accept-Encoding']);
  assert.deepEqual(withVaryAcceptEncoding(['vary', 'origin, accept-encoding']), ['vary', 'origin, accept-encoding']);
  assert.deepEqual(withVaryAcceptEncoding(['vary', '*']), ['vary', '*']);
  assert.deepEqual(withVaryAcceptEncoding(['vary', 'Accept-Encoding-X']), ['vary', 'Accept-Encoding-X, Accept-Encoding']);
});

/** The problems of a vhost with `options` inside its <Options>. */
function optionProblems(options: string): readonly string[] {
  try {
    loadConfigFromText('/srv/flint/conf', '<Server/>', `<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Options>${options}</Options></Vhost></Vhosts>`, { cpuCount: 2 });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return [];
}

test('<Compression> settings are checked, and a good one loads with its values', () => {
  const cases: Array<[string, RegExp | null]> = [
    ['<Compression Method="br,gzip" GzipLevel="6" BrotliQuality="5" SourceSize="1-4096">ON</Compression>', null],
    ['<Compression Method="gzip|br">ON</Compression>', null],
    ['<Compression Method="deflate">ON</Compression>', /Options\/Compression@Method: "deflate" is not br or gzip/],
    ['<Compression Method="br,br">ON</Compression>', /Compression@Method: "br" is listed twice/],
    ['<Compression Method="">ON</Compression>', /Compression@Method: is empty/],
    ['<Compression GzipLevel="0">ON</Compression>', /Compression@GzipLevel: "0" is out of range \(1\.\.9\)/],
    ['<Compression BrotliQuality="12">ON</Compression>', /Compression@BrotliQuality: "12" is out of range \(0\.\.11\)/],
    ['<Compression SourceSize="4096-1">ON</Compression>', /Compression@SourceSize: "4096-1": min is larger than max/],
    ['<Compression SourceSize="1-99999">ON</Compression>', /Compression@SourceSize: "1-99999": max is over 65536 KiB/],
    ['<Compression SourceSize="1K-4M">ON</Compression>', /Compression@SourceSize: "1K-4M" is not min-max in KiB/],
    ['<Compression>maybe</Compression>', /Options\/Compression: /],
    ['<MatchingList Target="compression">$MIME[nope]</MatchingList>', /MatchingList\[1\]: line 1: "nope" is not a media type pattern/],
  ];
  for (const [xml, expected] of cases) {
    const problems = optionProblems(xml);
    if (expected === null) assert.deepEqual(problems, [], xml);
    else {
      assert.equal(problems.length, 1, `${xml}: ${problems.join('; ')}`);
      assert.match(problems[0] as string, /^vhosts\.xml: Vhosts\/Vhost\[Name=a\.com\]\//);
      assert.match(problems[0] as string, expected, xml);
    }
  }
  const config = loadConfigFromText(
    '/srv/flint/conf',
    '<Server><VHostDefault><Options><Compression Method="gzip" SourceSize="2-8">ON</Compression></Options></VHostDefault></Server>',
    '<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Options><Compression GzipLevel="9">ON</Compression></Options></Vhost></Vhosts>',
    { cpuCount: 2 },
  );
  assert.deepEqual(config.vhosts[0]?.options.compression, { enabled: true, methods: ['gzip'], gzipLevel: 9, brotliQuality: 5, sourceSize: { minBytes: 2048, maxBytes: 8192 } });
});

test('compression targets from svc/<vhost>/compression.txt follow the MatchingList ones; a bad line names the file', () => {
  const load = (file: string): ReturnType<typeof loadConfigFromText> =>
    loadConfigFromText(
      '/srv/flint/conf',
      '<Server/>',
      '<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Options><Compression>ON</Compression><MatchingList Target="compression">$MIME[text/*]</MatchingList></Options></Vhost></Vhosts>',
      { cpuCount: 1, ruleFiles: { 'a.com': { 'compression.txt': file } } },
    );
  assert.deepEqual(load('# STON form\n$URL[*.json]\n').vhosts[0]?.rules.compression, [
    { mime: 'text/*', url: null },
    { mime: null, url: '*.json' },
  ]);
  assert.throws(() => load('$URL[*.json]\n$MIME[nope]\n'), (error: unknown) => error instanceof ConfigError && error.problems.join('\n') === 'svc/a.com/compression.txt: line 2: "nope" is not a media type pattern (type/subtype, `*` allowed: text/*)');
});
