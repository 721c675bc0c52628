// Unit tests of the rule matcher (policy/url-glob.ts), the compiled rule sets (policy/rules.ts) and the rule
// parsers (config/rules.ts via loadConfigFromText): glob semantics, first-match precedence, thousands of rules,
// bypass order, query-string keys, the Vary whitelist, and problems that name the rule's element or txt line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import { bypassRulesFromText, queryRulesFromText, ttlRulesFromText } from '../../src/config/rules.js';
import type { Vhost } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import type { RequestHead } from '../../src/http/request.js';
import { normalisePath, rulePath, variantKey } from '../../src/cache/key.js';
import { VhostRuleSet, filterQuery } from '../../src/policy/rules.js';
import { UrlGlobSet } from '../../src/policy/url-glob.js';

const SERVER = '<Server><Cache><Storage><Disk>/tmp/flint-unit-cache</Disk></Storage></Cache></Server>';

function vhostWith(inner: string, ruleFiles?: Record<string, Record<string, string>>): Vhost {
  const xml = `<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin>${inner}</Vhost></Vhosts>`;
  const config = loadConfigFromText('/srv/flint/conf', SERVER, xml, ruleFiles === undefined ? { cpuCount: 1 } : { cpuCount: 1, ruleFiles });
  const vhost = config.vhosts[0];
  assert.ok(vhost !== undefined);
  return vhost;
}

function problemsOf(inner: string, ruleFiles?: Record<string, Record<string, string>>): string[] {
  try {
    vhostWith(inner, ruleFiles);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

function head(method: string, headers: string[] = [], clientIp = '127.0.0.1'): RequestHead {
  return { method, path: '/', query: '', headers, host: 'a.com', clientIp };
}

test('globs: exact, root, in-segment *, trailing /*, **, bare *.ext and *', () => {
  const globs = ['/', '/img/logo.png', '/img/*.jpg', '/script/*', '/a/**/b.js', '*.css', '*', '/v*/app.js'];
  const set = new UrlGlobSet(globs, true);
  const m = (p: string): string[] => set.match(p).map((i) => globs[i] as string);
  assert.deepEqual(m('/'), ['/', '*']);
  assert.deepEqual(m('/img/logo.png'), ['/img/logo.png', '*']);
  assert.deepEqual(m('/img/x.jpg'), ['/img/*.jpg', '*']);
  assert.deepEqual(m('/img/sub/x.jpg'), ['*'], '* in a segment stays inside it');
  assert.deepEqual(m('/script/a/b/c.js'), ['/script/*', '*'], 'trailing /* covers every depth');
  assert.deepEqual(m('/script'), ['*'], 'trailing /* needs something below');
  assert.deepEqual(m('/a/b.js'), ['/a/**/b.js', '*']);
  assert.deepEqual(m('/a/x/y/b.js'), ['/a/**/b.js', '*']);
  assert.deepEqual(m('/deep/dir/site.css'), ['*.css', '*']);
  assert.deepEqual(m('/index.html'), ['*'], '*.css does not match .html, and nothing but * covers it');
  assert.deepEqual(m('/v2/app.js'), ['*', '/v*/app.js']);
  assert.deepEqual(new UrlGlobSet(['*.html'], true).match('/'), [], '*.html does not cover / (STON)');
  // A dotted suffix is not one extension: `*.tar.gz` matched nothing when it went into the extension index.
  const dotted = new UrlGlobSet(['*.tar.gz', '*.gz', '*.min.*'], false);
  assert.deepEqual(dotted.match('/dl/a.tar.gz'), [0, 1]);
  assert.deepEqual(dotted.match('/a.gz'), [1]);
  assert.deepEqual(dotted.match('/js/app.min.js'), [2]);
  assert.deepEqual(dotted.match('/tar.gz/x'), []);
});

test('globs: case sensitivity, and results in rule order without duplicates', () => {
  const sensitive = new UrlGlobSet(['/IMG/*', '*.JPG'], true);
  assert.deepEqual(sensitive.match('/img/a.jpg'), []);
  const insensitive = new UrlGlobSet(['/IMG/*', '*.JPG', '/img/**', '/**/a.jpg'], false);
  assert.deepEqual(insensitive.match('/img/A.jpg'), [0, 1, 2, 3]);
  // `**` can reach the same end by several splits; the glob is reported once.
  assert.deepEqual(new UrlGlobSet(['/**/**/x'], true).match('/a/b/x'), [0]);
});

test('globs: 10,000 rules compile once and a lookup walks only its own path', () => {
  const globs: string[] = [];
  for (let i = 0; i < 5000; i++) globs.push(`/site${i}/*.jpg`, `*.ext${i}`);
  globs.push('/hit/*');
  const set = new UrlGlobSet(globs, true);
  assert.deepEqual(set.match('/hit/1k'), [10_000]);
  assert.deepEqual(set.match('/site4999/a.jpg'), [9998]);
  assert.deepEqual(set.match('/x/y.ext17'), [35]);
  const started = performance.now();
  for (let i = 0; i < 100_000; i++) set.match('/hit/1k');
  const perLookupUs = ((performance.now() - started) * 1000) / 100_000;
  // A regex per rule would cost ~10,000 tests per lookup (hundreds of microseconds); the trie costs a few.
  assert.ok(perLookupUs < 20, `lookup took ${perLookupUs.toFixed(2)} us`);
});

test('globs: a thousand in-segment wildcards under one node are bucketed by literal prefix', () => {
  const globs = Array.from({ length: 1000 }, (_, i) => `/c/v${i}*/app.js`);
  const set = new UrlGlobSet(globs, false);
  assert.deepEqual(set.match('/c/V42beta/app.js'), [4, 42], 'v4* and v42* both match, case-insensitively');
  assert.deepEqual(set.match('/c/v1x/app.js'), [1], 'v1x matches v1* only, not v10*..v19*');
  assert.deepEqual(set.match('/c/v100/app.js'), [1, 10, 100]);
  assert.deepEqual(set.match('/c/1k'), []);
  const started = performance.now();
  for (let i = 0; i < 100_000; i++) set.match('/c/w1/app.js');
  const perLookupUs = ((performance.now() - started) * 1000) / 100_000;
  assert.ok(perLookupUs < 20, `lookup took ${perLookupUs.toFixed(2)} us`);
});

test('TTL rules: first match in order wins, status codes and classes', () => {
  const vhost = vhostWith(`<TTLRules>
    <Rule Url="/img/*" Status="404">7</Rule>
    <Rule Url="*.jpg" Status="2xx">3600</Rule>
    <Rule Url="/img/*">60</Rule>
    <Rule Status="500,503">2</Rule>
  </TTLRules>`);
  const rules = new VhostRuleSet(vhost);
  assert.equal(rules.ttlFor('/img/a.jpg', 200), 3600);
  assert.equal(rules.ttlFor('/img/a.jpg', 404), 7);
  assert.equal(rules.ttlFor('/img/a.png', 200), 60);
  assert.equal(rules.ttlFor('/img/a.jpg', 301), 60);
  assert.equal(rules.ttlFor('/other', 503), 2);
  assert.equal(rules.ttlFor('/other', 200), null);
  assert.equal(vhost.rules.ttl[1]?.source, 'vhosts.xml: Vhosts/Vhost[Name=a.com]/TTLRules/Rule[2]');
});

test('txt rules come after the inline ones and keep their line numbers', () => {
  const vhost = vhostWith('<TTLRules><Rule Url="*.jpg">10</Rule></TTLRules>', {
    'a.com': { 'ttl.txt': '# comment\n\n*.jpg, 99\n$URL[/api/*] & $ORGSTATUS[200], 30\n/, 5\n' },
  });
  assert.deepEqual(
    vhost.rules.ttl.map((r) => [r.url, r.status, r.ttlSec, r.source]),
    [
      ['*.jpg', [], 10, 'vhosts.xml: Vhosts/Vhost[Name=a.com]/TTLRules/Rule[1]'],
      ['*.jpg', [], 99, 'svc/a.com/ttl.txt: line 3'],
      ['/api/*', ['200'], 30, 'svc/a.com/ttl.txt: line 4'],
      ['/', [], 5, 'svc/a.com/ttl.txt: line 5'],
    ],
  );
  const rules = new VhostRuleSet(vhost);
  assert.equal(rules.ttlFor('/x.jpg', 200), 10);
  assert.equal(rules.ttlFor('/api/v', 200), 30);
  assert.equal(rules.ttlFor('/api/v', 404), null);
});

test("STON's <MatchingList Target> embeds txt lines after the <Rule>s and before svc/ files", () => {
  const vhost = vhostWith(
    `<TTLRules><Rule Url="/a">1</Rule></TTLRules>
     <MatchingList Target="ttl"><![CDATA[
       $URL[/b] & $ORGSTATUS[2xx], 2
     ]]></MatchingList>
     <MatchingList Target="bypass">/api/*, bypass</MatchingList>`,
    { 'a.com': { 'ttl.txt': '/c, 3\n' } },
  );
  assert.deepEqual(
    vhost.rules.ttl.map((r) => [r.url, r.ttlSec, r.source]),
    [
      ['/a', 1, 'vhosts.xml: Vhosts/Vhost[Name=a.com]/TTLRules/Rule[1]'],
      ['/b', 2, 'vhosts.xml: Vhosts/Vhost[Name=a.com]/MatchingList[1]: line 1'],
      ['/c', 3, 'svc/a.com/ttl.txt: line 1'],
    ],
  );
  assert.equal(vhost.rules.bypass[0]?.action, 'bypass');
  const problems = problemsOf('<MatchingList Target="nope">x</MatchingList><MatchingList Target="ttl">/x, 1\n/y, z</MatchingList>');
  assert.ok(problems.some((p) => p.startsWith('vhosts.xml: Vhosts/Vhost[Name=a.com]/MatchingList[1]@Target: "nope" is not ttl, bypass, querystring, acl, headers, compression or throttling')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('vhosts.xml: Vhosts/Vhost[Name=a.com]/MatchingList[2]: line 2: "z" is not a whole number')), problems.join('\n'));
});

test('bad rules are rejected with their element path or txt line', () => {
  const problems = problemsOf(
    `<TTLRules><Rule Url="*.jpg">10</Rule><Rule Url="/a b" Status="2x0">x</Rule></TTLRules>
     <BypassRules><Rule ClientIp="10.0.0.0/99">bypass</Rule><Rule Url="/a">maybe</Rule></BypassRules>
     <QueryStringRules><Rule Keep="a" Drop="b" Url="/x"/><Rule Keep="q"/></QueryStringRules>`,
    { 'a.com': { 'ttl.txt': '*.jpg, 10\n*.png, soon\n$URL[/a] & $COOKIE[x], 5\n', 'bypass.txt': '$IP[nope], bypass\n', 'querystring.txt': '/s/*, +\n' } },
  );
  const expected = [
    'vhosts.xml: Vhosts/Vhost[Name=a.com]/TTLRules/Rule[2]@Url: the URL pattern "/a b" contains whitespace',
    'vhosts.xml: Vhosts/Vhost[Name=a.com]/TTLRules/Rule[2]@Status: "2x0" is not a status code',
    'vhosts.xml: Vhosts/Vhost[Name=a.com]/TTLRules/Rule[2]: "x" is not a whole number of seconds',
    'vhosts.xml: Vhosts/Vhost[Name=a.com]/BypassRules/Rule[1]@ClientIp: "10.0.0.0/99" is not an IP address or CIDR range',
    'vhosts.xml: Vhosts/Vhost[Name=a.com]/BypassRules/Rule[2]: "maybe" is not bypass, cache or invert',
    'vhosts.xml: Vhosts/Vhost[Name=a.com]/QueryStringRules/Rule[1]: Keep and Drop cannot both be set',
    'vhosts.xml: Vhosts/Vhost[Name=a.com]/QueryStringRules/Rule[2]: missing Url="..."',
    'svc/a.com/ttl.txt: line 2: "soon" is not a whole number of seconds',
    'svc/a.com/ttl.txt: line 3: $COOKIE[...] is not a condition here',
    'svc/a.com/bypass.txt: line 1: "nope" is not an IP address or CIDR range',
    'svc/a.com/querystring.txt: line 1: the key list is empty',
  ];
  for (const start of expected) assert.ok(problems.some((p) => p.startsWith(start)), `missing problem: ${start}\n got:\n${problems.join('\n')}`);
  assert.equal(problems.length, expected.length, problems.join('\n'));
  // Unknown attributes are caught by the schema-driven shape check, with a hint.
  assert.ok(problemsOf('<BypassRules><Rule Uri="/a">bypass</Rule></BypassRules>').some((p) => p.includes('Rule@Uri: unknown attribute; did you mean Url?')));
  assert.ok(problemsOf('<Options><BypassPostRequest>OFF</BypassPostRequest></Options>').some((p) => p.includes('BypassPostRequest: OFF is not supported')));
  assert.ok(problemsOf('<Options><ApplyQueryString Keep="a" Drop="b">ON</ApplyQueryString></Options>').some((p) => p.includes('Keep and Drop cannot both be set')));
  assert.ok(problemsOf('<Options><VaryHeader>Accept, *</VaryHeader></Options>').some((p) => p.includes('VaryHeader: "Accept, *" is not *, OFF')));
});

test('bypass: defaults, no-cache first, rules by method, URL, header, cookie and client IP, first match wins', () => {
  const plain = new VhostRuleSet(vhostWith(''));
  assert.deepEqual(plain.bypass(head('GET'), '/a'), { bypass: false });
  assert.deepEqual(plain.bypass(head('HEAD'), '/a'), { bypass: false });
  assert.deepEqual(plain.bypass(head('POST'), '/a'), { bypass: true, reason: 'default' });
  assert.deepEqual(plain.bypass(head('DELETE'), '/a'), { bypass: true, reason: 'default' });
  assert.deepEqual(plain.bypass(head('GET', ['cache-control', 'no-cache']), '/a'), { bypass: false }, 'BypassNoCacheRequest is OFF by default');

  const rules = new VhostRuleSet(
    vhostWith(`<Options><BypassNoCacheRequest>ON</BypassNoCacheRequest></Options><BypassRules>
      <Rule Url="/public/*">cache</Rule>
      <Rule Method="get" Url="/api/*">bypass</Rule>
      <Rule Header="X-Debug: on*">bypass</Rule>
      <Rule Header="Authorization">bypass</Rule>
      <Rule Cookie="session">bypass</Rule>
      <Rule Cookie="ab=test-*">bypass</Rule>
      <Rule ClientIp="10.1.0.0/16">bypass</Rule>
      <Rule Url="/flip">invert</Rule>
    </BypassRules>`),
  );
  const bypassed = (h: RequestHead, path: string): boolean => rules.bypass(h, path).bypass;
  assert.equal(bypassed(head('GET'), '/api/x'), true);
  assert.equal(bypassed(head('HEAD'), '/api/x'), false, 'Method="get" is GET only');
  assert.equal(bypassed(head('GET', ['x-debug', 'only']), '/x'), true);
  assert.equal(bypassed(head('GET', ['x-debug', 'off']), '/x'), false);
  assert.equal(bypassed(head('GET', ['authorization', 'Basic x']), '/x'), true);
  assert.equal(bypassed(head('GET', ['cookie', 'a=1; session=abc']), '/x'), true);
  assert.equal(bypassed(head('GET', ['cookie', 'sessionid=abc']), '/x'), false, 'cookie names match exactly');
  assert.equal(bypassed(head('GET', ['cookie', 'ab=test-7']), '/x'), true);
  assert.equal(bypassed(head('GET', ['cookie', 'ab=prod']), '/x'), false);
  assert.equal(bypassed(head('GET', [], '10.1.2.3'), '/x'), true);
  assert.equal(bypassed(head('GET', [], '10.2.0.1'), '/x'), false);
  assert.equal(bypassed(head('GET'), '/flip'), true, 'invert turns the GET default (cache) into bypass');
  assert.equal(bypassed(head('POST'), '/flip'), true, 'invert of POST would be cache, but POST is never cached');
  // First match wins: /public/* says cache before the cookie rule.
  assert.equal(bypassed(head('GET', ['cookie', 'session=1']), '/public/a'), false);
  // BypassNoCacheRequest comes before every rule, `cache` ones included.
  assert.deepEqual(rules.bypass(head('GET', ['pragma', 'no-cache']), '/public/a'), { bypass: true, reason: 'no-cache-request' });
  assert.deepEqual(rules.bypass(head('GET', ['cache-control', 'max-age=0, no-cache']), '/x'), { bypass: true, reason: 'no-cache-request' });

  const getOff = new VhostRuleSet(vhostWith('<Options><BypassGetRequest>ON</BypassGetRequest></Options><BypassRules><Rule Url="*.jpg">cache</Rule></BypassRules>'));
  assert.deepEqual(getOff.bypass(head('GET'), '/a.html'), { bypass: true, reason: 'default' });
  assert.deepEqual(getOff.bypass(head('GET'), '/a.jpg'), { bypass: false });
});

test('bypass.txt lines: conditions joined by &, actions and the inverting default', () => {
  const parsed = bypassRulesFromText('svc/a/bypass.txt', '/api/*\n$METHOD[GET] & $HEADER[Cookie: *sid=*] & $IP[::1], bypass\n*.jpg, cache\n');
  assert.deepEqual(parsed.problems, []);
  assert.deepEqual(
    parsed.rules.map((r) => [r.url, r.method, r.header, r.clientIp, r.action]),
    [
      ['/api/*', null, null, null, 'invert'],
      [null, 'GET', { name: 'cookie', value: '*sid=*' }, '::1', 'bypass'],
      ['*.jpg', null, null, null, 'cache'],
    ],
  );
  assert.match(bypassRulesFromText('b', '!$IP[1.2.3.4], bypass').problems[0] ?? '', /b: line 1: .*negated conditions are not supported/);
  assert.match(ttlRulesFromText('t', '/x, 10, 0 0').problems[0] ?? '', /t: line 1: .*cron-style expiry is not/);
  assert.match(ttlRulesFromText('t', '$URL[*] & $ORGSTATUS[304], 1000').problems[0] ?? '', /t: line 1: status 304 is not supported/);
});

test('cache key: CaseSensitive OFF, ApplyQueryString OFF, Keep/Drop lists and per-URL query rules', () => {
  const lower = new VhostRuleSet(vhostWith('<Options><CaseSensitive>OFF</CaseSensitive></Options>'));
  assert.deepEqual(lower.keyParts('/IMG/A.jpg', 'X=1'), { path: '/img/a.jpg', query: 'X=1' });
  assert.equal(lower.plainKey, false);
  assert.equal(new VhostRuleSet(vhostWith('')).plainKey, true);

  const off = new VhostRuleSet(vhostWith('<Options><ApplyQueryString>OFF</ApplyQueryString></Options>'));
  assert.deepEqual(off.keyParts('/a', 'x=1'), { path: '/a', query: '' });

  const keep = new VhostRuleSet(vhostWith('<Options><ApplyQueryString Keep="q, page">ON</ApplyQueryString></Options>'));
  assert.deepEqual(keep.keyParts('/s', 'ts=9&q=a&x&page=2'), { path: '/s', query: 'q=a&page=2' });
  const drop = new VhostRuleSet(vhostWith('<Options><ApplyQueryString Drop="ts,_">ON</ApplyQueryString></Options>'));
  assert.deepEqual(drop.keyParts('/s', 'ts=9&q=a&_=1'), { path: '/s', query: 'q=a' });

  const perUrl = new VhostRuleSet(
    vhostWith(
      `<Options><ApplyQueryString>OFF</ApplyQueryString></Options>
       <QueryStringRules><Rule Url="/search/*" Keep="q"/><Rule Url="/dyn/*">apply</Rule><Rule Url="/static/*" Drop="v"/></QueryStringRules>`,
      { 'a.com': { 'querystring.txt': '/bare/*\n/plus/*, +a&b\n' } },
    ),
  );
  assert.deepEqual(perUrl.keyParts('/search/x', 'q=1&utm=2'), { path: '/search/x', query: 'q=1' });
  assert.deepEqual(perUrl.keyParts('/dyn/x', 'a=1'), { path: '/dyn/x', query: 'a=1' });
  assert.deepEqual(perUrl.keyParts('/static/x', 'v=3&w=1'), { path: '/static/x', query: 'w=1' });
  assert.deepEqual(perUrl.keyParts('/bare/x', 'a=1'), { path: '/bare/x', query: 'a=1' }, 'a bare txt line inverts ApplyQueryString OFF');
  assert.deepEqual(perUrl.keyParts('/plus/x', 'c=1&b=2&a=3'), { path: '/plus/x', query: 'b=2&a=3' });
  assert.deepEqual(perUrl.keyParts('/other', 'a=1'), { path: '/other', query: '' });

  assert.equal(filterQuery('a=1&&b', null, new Set(['a'])), 'b');
  assert.deepEqual(queryRulesFromText('q', '/x, -a', true).rules[0]?.mode, 'drop');
});

test('VaryHeader: * honours every name, a list only those, OFF none', () => {
  const names = ['accept-encoding', 'accept-language', 'user-agent'];
  assert.deepEqual(new VhostRuleSet(vhostWith('')).honouredVary(names), names);
  const list = new VhostRuleSet(vhostWith('<Options><VaryHeader>Accept-Encoding, Accept-Language</VaryHeader></Options>'));
  assert.deepEqual(list.honouredVary(names), ['accept-encoding', 'accept-language']);
  assert.deepEqual(list.honouredVary(['*']), [], 'Vary: * is ignored when a list is configured');
  assert.deepEqual(new VhostRuleSet(vhostWith('<Options><VaryHeader>OFF</VaryHeader></Options>')).honouredVary(names), []);
});

// ---- issue 19: rules match the normalised path; hostile spellings cannot escape a rule

test('normalisePath: unreserved escapes decoded, other escapes upper-cased, dot segments removed (hostile table)', () => {
  // Each row: raw request path, normal form (the cache key's and the origin's), form rules match.
  const rows: Array<[string, string, string]> = [
    ['/admin/panel', '/admin/panel', '/admin/panel'],
    ['/%61dmin/panel', '/admin/panel', '/admin/panel'],
    ['/%61%64%6D%69%6E/panel', '/admin/panel', '/admin/panel'],
    ['/%41dmin/panel', '/Admin/panel', '/Admin/panel'],
    ['/admin%2Fpanel', '/admin%2Fpanel', '/admin/panel'],
    ['/admin%2fpanel', '/admin%2Fpanel', '/admin/panel'],
    ['/admin%5Cpanel', '/admin%5Cpanel', '/admin/panel'],
    ['/admin\\panel', '/admin\\panel', '/admin/panel'],
    ['/x/..%2Fadmin/panel', '/x/..%2Fadmin/panel', '/admin/panel'],
    ['/x%2F..%2Fadmin%2Fpanel', '/x%2F..%2Fadmin%2Fpanel', '/admin/panel'],
    ['/public/%2e%2e/admin/panel', '/admin/panel', '/admin/panel'],
    ['/public/%2E./admin/panel', '/admin/panel', '/admin/panel'],
    ['/public/.%2e/admin/panel', '/admin/panel', '/admin/panel'],
    ['//admin//panel', '/admin/panel', '/admin/panel'],
    ['/./admin/./panel', '/admin/panel', '/admin/panel'],
    ['/admin/panel/..', '/admin/', '/admin/'],
    ['/%7Euser/%5F', '/~user/_', '/~user/_'],
    ['/a%20b', '/a%20b', '/a%20b'],
    ['/a%3f', '/a%3F', '/a%3F'],
    ['/a%2', '/a%2', '/a%2'],
    ['/a%zz%', '/a%zz%', '/a%zz%'],
    ['/%%61', '/%a', '/%a'],
    ['/%2561dmin', '/%2561dmin', '/%2561dmin'],
    ['/a%00b', '/a%00b', '/a%00b'],
  ];
  for (const [raw, normal, forRules] of rows) {
    assert.equal(normalisePath(raw), normal, raw);
    assert.equal(rulePath(normal), forRules, raw);
  }
  assert.equal(normalisePath('admin'), null);
  assert.equal(normalisePath('%2Fadmin'), null);
});

test('bypass and TTL rules: encoded, slashed, dotted and upper-case spellings of /admin cannot escape them', () => {
  const rules = new VhostRuleSet(
    vhostWith('<BypassRules><Rule Url="/admin/*">bypass</Rule></BypassRules><TTLRules><Rule Url="/private/*">0</Rule><Rule Url="*.jpg">3600</Rule></TTLRules>'),
  );
  const hostile = [
    '/admin/panel', '/%61dmin/panel', '/admin%2Fpanel', '/admin%2fpanel', '/ADMIN/panel', '/Admin/Panel', '/%41DMIN/panel',
    '/x/..%2Fadmin/panel', '/public/%2e%2e/admin/panel', '//admin/panel', '/admin%5Cpanel', '/admin\\panel', '/AdMiN%2F%70anel',
  ];
  for (const raw of hostile) {
    const path = normalisePath(raw);
    assert.ok(path !== null, raw);
    assert.deepEqual(rules.bypass(head('GET'), path), { bypass: true, reason: 'rule' }, raw);
  }
  for (const raw of ['/administrator', '/public/admin', '/adm%69n2/x', '/%2561dmin/panel']) {
    assert.deepEqual(rules.bypass(head('GET'), normalisePath(raw) as string), { bypass: false }, raw);
  }
  for (const raw of ['/private/x', '/%70rivate/x', '/PRIVATE/x', '/private%2Fx', '/a/../private/x']) {
    assert.equal(rules.ttlFor(normalisePath(raw) as string, 200), 0, raw);
  }
  assert.equal(rules.ttlFor(normalisePath('/img/A.JPG') as string, 200), 3600);
  // RuleCaseSensitive ON (with CaseSensitive ON) keeps patterns case-sensitive; escapes and %2F still normalise.
  const sensitive = new VhostRuleSet(vhostWith('<Options><RuleCaseSensitive>ON</RuleCaseSensitive></Options><BypassRules><Rule Url="/admin/*">bypass</Rule></BypassRules>'));
  assert.equal(sensitive.bypass(head('GET'), '/ADMIN/panel').bypass, false);
  assert.equal(sensitive.bypass(head('GET'), normalisePath('/%61dmin%2Fpanel') as string).bypass, true);
  // CaseSensitive OFF always matches case-insensitively, whatever RuleCaseSensitive says.
  const lower = new VhostRuleSet(vhostWith('<Options><CaseSensitive>OFF</CaseSensitive><RuleCaseSensitive>ON</RuleCaseSensitive></Options><BypassRules><Rule Url="/admin/*">bypass</Rule></BypassRules>'));
  assert.equal(lower.bypass(head('GET'), '/ADMIN/panel').bypass, true);
});

test('query-string rules match the rule form of the path too', () => {
  const rules = new VhostRuleSet(vhostWith('<QueryStringRules><Rule Url="/search/*">ignore</Rule></QueryStringRules>'));
  for (const raw of ['/search/x', '/%73earch/x', '/SEARCH/x', '/search%2Fx']) {
    assert.equal(rules.keyParts(normalisePath(raw) as string, 'q=1').query, '', raw);
  }
  assert.equal(rules.keyParts('/other/x', 'q=1').query, 'q=1');
});

test('variant key: a header the request\'s Connection lists is hop-by-hop and counts as absent', () => {
  const vary = ['accept-encoding', 'x-device'];
  const plain = variantKey(vary, ['accept-encoding', 'gzip']);
  assert.equal(variantKey(vary, ['accept-encoding', 'gzip', 'x-device', 'evil', 'connection', 'x-device']), plain);
  assert.equal(variantKey(vary, ['connection', 'close, X-Device', 'accept-encoding', 'gzip', 'x-device', 'evil']), plain);
  assert.equal(variantKey(vary, ['connection', 'Accept-Encoding', 'accept-encoding', 'gzip']), variantKey(vary, []));
  assert.notEqual(variantKey(vary, ['accept-encoding', 'gzip', 'x-device', 'evil']), plain);
  assert.equal(variantKey(vary, ['accept-encoding', 'gzip', 'x-device', 'evil', 'connection', 'keep-alive']), variantKey(vary, ['accept-encoding', 'gzip', 'x-device', 'evil']));
});

test('cachesByRule: only an explicit cache (or invert under BypassGetRequest ON) bypass rule says a request is shareable', () => {
  const rules = new VhostRuleSet(vhostWith('<BypassRules><Rule Url="/shared/*">cache</Rule><Rule Url="/admin/*">bypass</Rule><Rule Url="/inv/*">invert</Rule></BypassRules>'));
  assert.equal(rules.cachesByRule(head('GET'), '/shared/x'), true);
  assert.equal(rules.cachesByRule(head('GET'), normalisePath('/%73hared/x') as string), true);
  assert.equal(rules.cachesByRule(head('GET'), '/admin/x'), false);
  assert.equal(rules.cachesByRule(head('GET'), '/inv/x'), false, 'invert under BypassGetRequest OFF means bypass');
  assert.equal(rules.cachesByRule(head('GET'), '/other'), false);
  const getOff = new VhostRuleSet(vhostWith('<Options><BypassGetRequest>ON</BypassGetRequest></Options><BypassRules><Rule Url="/inv/*">invert</Rule></BypassRules>'));
  assert.equal(getOff.cachesByRule(head('GET'), '/inv/x'), true);
  assert.equal(new VhostRuleSet(vhostWith('')).cachesByRule(head('GET'), '/x'), false);
});
