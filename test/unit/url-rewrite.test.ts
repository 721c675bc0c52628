// Unit tests of <URLRewrite> and <Sub> (policy/url-rewrite-parse.ts, policy/url-rewrite.ts, pipeline/url-rewrite.ts)
// and their config loading: table-driven hostile patterns and templates (empty, huge, catastrophic, backreferences,
// lookarounds, #0 / #10 / missing groups, injection-ish characters), first-match order, the host index and
// literal prefilter, results refused with 400/414, Sub globs and targets, problems naming file and element.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import { checkUrlRewrite, subPathGlob } from '../../src/policy/url-rewrite-parse.js';
import { REWRITE_URL_MAX, UrlRewriter, literalPrefix } from '../../src/policy/url-rewrite.js';
import { subTarget } from '../../src/pipeline/url-rewrite.js';
import { policySummary } from '../../src/config/policy-summary.js';

const SERVER = '<Server><Cache><Storage><Disk>/tmp/flint-unit-cache</Disk></Storage></Cache></Server>';
const VHOSTS = '<Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin></Vhost><Vhost Name="b.com"><Origin><Address>10.0.0.2</Address></Origin></Vhost>';

function load(extra: string, vhosts = VHOSTS): Config {
  return loadConfigFromText('/srv/flint/conf', SERVER, `<Vhosts>${vhosts}${extra}</Vhosts>`, { cpuCount: 1 });
}

function problemsOf(extra: string, vhosts = VHOSTS): string[] {
  try {
    load(extra, vhosts);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

const rule = (pattern: string, replace: string): string => `<URLRewrite><Pattern><![CDATA[${pattern}]]></Pattern><Replace><![CDATA[${replace}]]></Replace></URLRewrite>`;

test('rewrite patterns and templates: hostile inputs are config errors naming the element', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['', '#0', /Pattern: the pattern is empty|needs both/],
    ['a'.repeat(1025), 'a.com/', /at most 1024/],
    ['a.com/(', 'a.com/', /not a valid regular expression/],
    ['a.com/[z-a]', 'a.com/', /not a valid regular expression/],
    ['(a+)\\1', 'a.com/', /cannot run in linear time/],
    ['a.com/(?=x)(.*)', 'a.com/#1', /cannot run in linear time/],
    ['a.com/(?<!x)(.*)', 'a.com/#1', /cannot run in linear time/],
    ['a.com/ x', 'a.com/', /spaces, control or non-ASCII/],
    ['a.com/\u00e9', 'a.com/', /spaces, control or non-ASCII/],
    ['a.com/(.*)', '', /Replace: the replacement is empty|needs both/],
    ['a.com/(.*)', 'b.com/#10', /only #0\.\.#9 exist/],
    ['a.com/(.*)', 'b.com/#2', /#2 refers to group 2 but the pattern has 1 group/],
    ['a.com/(.*)', 'b.com/#x', /is not a reference #0\.\.#9/],
    ['a.com/(.*)', 'b.com/#', /is not a reference/],
    ['a.com/(.*)', 'b.com/ #1', /has no place in a URL/],
    ['a.com/(.*)', 'b.com/"><script>#1', /has no place in a URL/],
    ['a.com/(.*)', 'b.com/\r\nX-Injected: 1', /has no place in a URL/],
    ['a.com/(.*)', 'b.com/{#1}', /has no place in a URL/],
    ['a.com/', 'b.com', /has no '\/'/],
    ['a.com/(.*)', `b.com/${'x'.repeat(2048)}`, /at most 2048/],
  ];
  for (const [pattern, replace, expected] of cases) {
    const problems = problemsOf(rule(pattern, replace));
    assert.equal(problems.length, 1, `${pattern} -> ${replace}: ${problems.join('\n')}`);
    assert.match(problems[0] as string, /^vhosts\.xml: Vhosts\/URLRewrite\[1\](\/(Pattern|Replace))?: /, problems[0]);
    assert.match(problems[0] as string, expected, `${pattern} -> ${replace}`);
  }
  // The element is named by its position among the rules.
  const second = problemsOf(rule('a.com/(.*)', 'b.com/#1') + rule('a.com/(', 'b.com/'));
  assert.match(second[0] as string, /^vhosts\.xml: Vhosts\/URLRewrite\[2\]\/Pattern: /);
  assert.match(problemsOf('<URLRewrite><Pattern>a</Pattern></URLRewrite>')[0] as string, /URLRewrite\[1\]: needs both <Pattern> and <Replace>/);
  assert.match(problemsOf('<URLRewrite AccessLog="Pattern"><Pattern>a/</Pattern><Replace>b.com/</Replace></URLRewrite>')[0] as string, /URLRewrite@AccessLog/);
  // STON's documented forms load, #0 included (the whole input).
  for (const [pattern, replace] of [
    ['www.example.com/([^/]+)/(.*)', '#1.example.com/#2'],
    ['example.com/(.*)_(.*)_(.*)', 'example.com/#0/#1/#2/#3'],
    ['example.com/img/(.*\\.(jpg|png).*)', 'example.com/#1/STON/composite/watermark1'],
    ['example.com/preview/(.*)\\.(mp3|mp4|m4a)$', 'example.com/#1.#2?&end=30&boost=10'],
  ] as const) {
    assert.equal(checkUrlRewrite(pattern, replace).ok, true, pattern);
  }
});

test('catastrophic patterns run in linear time: a hostile URL costs milliseconds, not seconds', () => {
  const rewriter = new UrlRewriter([{ source: 't', pattern: '(a+)+b', replace: 'x.com/' }, { source: 't', pattern: '(.*)_(.*)_(.*)_z', replace: 'x.com/' }]);
  const started = performance.now();
  assert.equal(rewriter.rewrite('a.com', `/${'a'.repeat(4000)}`, ''), null);
  assert.equal(rewriter.rewrite('a.com', `/${'_a'.repeat(2000)}`, ''), null);
  assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
});

test('rewriter: first match wins, host and path rewritten, #0 and query kept, the input is host/path?query', () => {
  const r = new UrlRewriter([
    { source: '1', pattern: '^a\\.com/old/(.*)', replace: 'b.com/new/#1' },
    { source: '2', pattern: '^a\\.com/(.*)', replace: 'a.com/other/#1' },
    { source: '3', pattern: 'c\\.com/(.*)_(.*)', replace: 'c.com/#0/#1/#2' },
  ]);
  assert.deepEqual(r.rewrite('a.com', '/old/x.jpg', 'v=1'), { kind: 'rewritten', host: 'b.com', path: '/new/x.jpg', query: 'v=1', from: 'a.com/old/x.jpg?v=1', to: 'b.com/new/x.jpg?v=1' });
  assert.deepEqual(r.rewrite('a.com', '/x', ''), { kind: 'rewritten', host: 'a.com', path: '/other/x', query: '', from: 'a.com/x', to: 'a.com/other/x' });
  const c = r.rewrite('c.com', '/v.mp4_10', '');
  assert.equal(c?.kind === 'rewritten' ? c.to : c, 'c.com/c.com/v.mp4_10/v.mp4/10');
  assert.equal(r.rewrite('b.com', '/old/x', ''), null, 'no rule for b.com');
  // Unanchored patterns match anywhere (STON): myc.com matches c\.com/ too.
  assert.equal(r.rewrite('myc.com', '/a_b', '')?.kind, 'rewritten');
  // A URL seen before gets the decision kept for it (the same object), and an unknown one its own.
  const again = r.rewrite('a.com', '/old/x.jpg', 'v=1');
  assert.equal(r.rewrite('a.com', '/old/x.jpg', 'v=1'), again);
  assert.notEqual(r.rewrite('a.com', '/old/y.jpg', 'v=1'), again);
  for (let i = 0; i < 20_000; i++) r.rewrite('a.com', `/old/${i}`, '');
  assert.deepEqual(r.rewrite('a.com', '/old/x.jpg', 'v=1'), again, 'still right after the kept decisions were emptied');
});

test('rewriter: results that are no request are refused (400), too long ones 414', () => {
  const r = new UrlRewriter([
    { source: '1', pattern: '^a\\.com/nohost/(.*)', replace: '/#1' },
    { source: '2', pattern: '^a\\.com/badhost/([^/]*)/(.*)', replace: '#1/#2' },
    { source: '3', pattern: '^a\\.com/long/(.*)', replace: 'a.com/#1#1#1' },
    { source: '4', pattern: '^a\\.com/(.*)', replace: 'a.com/#1' },
  ]);
  assert.deepEqual(r.rewrite('a.com', '/nohost/x', ''), { kind: 'refused', status: 400, detail: 'rewritten URL does not start with a host name and a path', from: 'a.com/nohost/x' });
  assert.equal(r.rewrite('a.com', '/badhost/b%40d/x', '')?.kind, 'refused');
  assert.equal(r.rewrite('a.com', '/badhost/ok.com/x', '')?.kind, 'rewritten');
  const long = r.rewrite('a.com', `/long/${'x'.repeat(3000)}`, '');
  assert.equal(long?.kind === 'refused' ? long.status : long, 414);
  const huge = r.rewrite('a.com', `/${'y'.repeat(REWRITE_URL_MAX)}`, '');
  assert.equal(huge?.kind === 'refused' ? huge.status : huge, 414);
});

test('literal prefixes: anchored host rules are indexed by host, others filtered by their literal', () => {
  assert.deepEqual(literalPrefix('^www\\.a\\.com/(.*)'), { literal: 'www.a.com/', anchored: true });
  assert.deepEqual(literalPrefix('^image.example.com/'), { literal: 'image', anchored: true }, 'an unescaped dot is a wildcard');
  assert.deepEqual(literalPrefix('a\\.com/x?'), { literal: 'a.com/', anchored: false }, 'a quantified literal is optional');
  assert.deepEqual(literalPrefix('^a\\.com/x|^b\\.com/'), { literal: '', anchored: false }, 'top-level alternation');
  assert.deepEqual(literalPrefix('^(a|b)\\.com/'), { literal: '', anchored: true });
});

test('Sub paths: STON forms become globs; targets must exist, differ and have no Sub; first Path wins', () => {
  assert.deepEqual(subPathGlob('/baseball/'), { ok: true, value: '/baseball/*' });
  assert.deepEqual(subPathGlob('baseball'), { ok: true, value: '/baseball/*' });
  assert.deepEqual(subPathGlob('*.jpg'), { ok: true, value: '*.jpg' });
  assert.deepEqual(subPathGlob('/*.jpg'), { ok: true, value: '*.jpg' });
  assert.deepEqual(subPathGlob('/img/*.jpg'), { ok: true, value: '/img/*.jpg' });
  for (const bad of ['', '/a b/', '/a?b', '/a#b', '/a\\b', `/${'x'.repeat(1100)}`]) assert.equal(subPathGlob(bad).ok, false, bad);
  const sub = (paths: string, status = ''): string =>
    `<Vhost Name="sports.com"><Origin><Address>10.0.0.3</Address></Origin><Sub${status}>${paths}</Sub></Vhost>`;
  const config = load('', VHOSTS + sub('<Path Vhost="a.com">/baseball/</Path><Path Vhost="b.com">*.jpg</Path><Path Vhost="A.COM">/x/*</Path>'));
  const sports = config.vhosts.find((v) => v.name === 'sports.com');
  assert.ok(sports !== undefined);
  assert.equal(subTarget(sports, '/baseball/rank.html'), 'a.com');
  assert.equal(subTarget(sports, '/baseball/logo.jpg'), 'a.com', 'first Path wins');
  assert.equal(subTarget(sports, '/photo/logo.jpg'), 'b.com');
  assert.equal(subTarget(sports, '/baseball'), null, 'the directory path itself is not below it');
  assert.equal(subTarget(sports, '/x/1'), 'a.com', 'Vhost names are case-insensitive');
  assert.equal(subTarget(sports, '/football/x'), null);
  const inactive = load('', VHOSTS + sub('<Path Vhost="a.com">/baseball/</Path>', ' Status="Inactive"')).vhosts.find((v) => v.name === 'sports.com');
  assert.deepEqual(inactive?.sub, []);
  const cases: Array<[string, RegExp]> = [
    ['<Path Vhost="nope.com">/a/</Path>', /Sub\/Path@Vhost: "nope\.com" is not the Name of any vhost/],
    ['<Path Vhost="sports.com">/a/</Path>', /is this vhost itself/],
    ['<Path>/a/</Path>', /Sub\/Path\[1\]@Vhost: missing/],
    ['<Path Vhost="a.com">/a b/</Path>', /Sub\/Path\[1\]: "\/a b\/" is not a path/],
  ];
  for (const [paths, expected] of cases) {
    const problems = problemsOf('', VHOSTS + sub(paths));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0] as string, /^vhosts\.xml: Vhosts\/Vhost\[Name=sports\.com\]\/Sub/);
    assert.match(problems[0] as string, expected);
  }
  const chained = problemsOf('', `<Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Sub><Path Vhost="b.com">/x/</Path></Sub></Vhost><Vhost Name="b.com"><Origin><Address>10.0.0.2</Address></Origin><Sub><Path Vhost="a.com">/y/</Path></Sub></Vhost>`);
  assert.equal(chained.length, 2);
  assert.match(chained[0] as string, /has a <Sub> of its own; Sub routing is one hop/);
});

test('a config without rewrite rules compiles none (the request entry pays one null check)', () => {
  assert.deepEqual(load('').urlRewrites, []);
  const config = load(rule('^a\\.com/(.*)', 'b.com/#1'));
  assert.deepEqual(config.urlRewrites, [{ source: 'Vhosts/URLRewrite[1]', pattern: '^a\\.com/(.*)', replace: 'b.com/#1' }]);
});

test('check-config summary: the URLRewrite count and Sub paths are shown when present', () => {
  const config = load(rule('^a\\.com/(.*)', 'b.com/#1'), VHOSTS + '<Vhost Name="s.com"><Origin><Address>10.0.0.3</Address></Origin><Sub><Path Vhost="a.com">/x/</Path></Sub></Vhost>');
  const lines = policySummary(config);
  assert.equal(lines[1], 'URLRewrite: 1 rules');
  assert.match(lines.find((l) => l.startsWith('vhost s.com')) ?? '', /, sub 1 \(/);
  assert.equal(policySummary(load('')).some((l) => l.startsWith('URLRewrite')), false);
});
