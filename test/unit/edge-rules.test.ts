// Unit tests of the edge rule language (policy/edge-rules/parse.ts, acl-parse.ts), the compiled ACL
// (policy/edge-rules/acl.ts), <ServiceAccess> (policy/service-access.ts) and their config loading: table-driven
// hostile lines (bad CIDRs, unbalanced brackets, huge lines, unknown conditions and actions, IPv4-mapped IPv6,
// case), first-match order, and problems naming the file and line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Vhost } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import type { RequestHead } from '../../src/http/request.js';
import { aclRulesFromText } from '../../src/policy/edge-rules/acl-parse.js';
import { AccessPolicy } from '../../src/policy/edge-rules/acl.js';
import { EDGE_LINE_MAX, parseAddressRange } from '../../src/policy/edge-rules/parse.js';
import { ServiceAccess } from '../../src/policy/service-access.js';
import { headerRulesFromText } from '../../src/policy/edge-rules/header-parse.js';
import { HeaderPolicy, NO_EDITS } from '../../src/policy/edge-rules/headers.js';
import { AddressSet } from '../../src/policy/address-set.js';
import { policySummary } from '../../src/config/policy-summary.js';

const SERVER = '<Server><Cache><Storage><Disk>/tmp/flint-unit-cache</Disk></Storage></Cache></Server>';

function configWith(options: string, ruleFiles?: Record<string, Record<string, string>>, server = SERVER): ReturnType<typeof loadConfigFromText> {
  const xml = `<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Options>${options}</Options></Vhost></Vhosts>`;
  return loadConfigFromText('/srv/flint/conf', server, xml, ruleFiles === undefined ? { cpuCount: 1 } : { cpuCount: 1, ruleFiles });
}

function vhostWith(options: string, ruleFiles?: Record<string, Record<string, string>>): Vhost {
  const vhost = configWith(options, ruleFiles).vhosts[0];
  assert.ok(vhost !== undefined);
  return vhost;
}

function problemsOf(options: string, ruleFiles?: Record<string, Record<string, string>>): string[] {
  try {
    vhostWith(options, ruleFiles);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a ConfigError');
}

function head(path: string, opts: { method?: string; headers?: string[]; ip?: string; query?: string } = {}): RequestHead {
  return { method: opts.method ?? 'GET', path, query: opts.query ?? '', headers: opts.headers ?? [], host: 'a.com', clientIp: opts.ip ?? '127.0.0.1' };
}

const ON = '<AccessControl>ON</AccessControl>';
const acl = (lines: string): string => `${ON}<MatchingList Target="acl"><![CDATA[\n${lines}\n]]></MatchingList>`;

test('acl lines: hostile inputs are problems naming the line, never rules', () => {
  const cases: Array<[string, RegExp]> = [
    ['$IP[10.0.0.0/33], deny', /not an IP address, CIDR range/],
    ['$IP[10.0.0.0/8/8], deny', /not an IP address/],
    ['$IP[300.1.1.1], deny', /not an IP address/],
    ['$IP[10.0.0.9-3], deny', /a\.b\.c\.x-y range/],
    ['$IP[fe80::/129], deny', /not an IP address/],
    ['$IP[::ffff:10.0.0.0/8], deny', /prefix of 96 or more/],
    ['$IP[], deny', /not an IP address/],
    ['$IP[10.0.0.1, deny', /never closed/],
    ['$IP10.0.0.1], deny', /']' without '\['/],
    ['$IP[[10.0.0.1]], deny', /'\[' inside brackets/],
    ['$HEADER[: x], deny', /header name/],
    ['$HEADER[bad name: x], deny', /header name/],
    ['$METHOD[GET|], deny', /not an HTTP method/],
    ['$COOKIE[a], deny', /\$COOKIE\[\.\.\.\] is not a condition here/],
    ['$GEO[ZZ], deny', /not an ISO 3166-1 alpha-2 country code/],
    ['$URL[/a?b], deny', /query string/],
    ['$URL[/a] & $URL[/b], deny', /appears twice/],
    ['$URL[/a] & , deny', /empty condition/],
    ['$URL[/a], permit', /"permit" is not an acl action/],
    ['$URL[/a], deny, 200', /not a denial status/],
    ['$URL[/a], deny, 4033', /not a denial status/],
    ['$URL[/a], allow, 200', /allow takes no further field/],
    ['$URL[/a], redirect', /redirect needs a URL/],
    ['$URL[/a], redirect, javascript:alert(1)', /not a redirect target/],
    ['$URL[/a], redirect, https://x.test/a b', /not a redirect target/],
    ['$URL[/a], deny, 403, extra', /too many fields/],
    [`$URL[/${'a'.repeat(EDGE_LINE_MAX)}], deny`, /longer than 4096 characters/],
    ['$URL[/a]\u0001, deny', /control characters/],
  ];
  for (const [line, expected] of cases) {
    const r = aclRulesFromText('svc/a.com/acl.txt', `# comment\n\n${line}`);
    assert.equal(r.rules.length, 0, line);
    assert.equal(r.problems.length >= 1, true, line);
    assert.match(r.problems[0] as string, /^svc\/a\.com\/acl\.txt: line 3: /, line);
    assert.match(r.problems.join('\n'), expected, line);
  }
});

test('acl lines: accepted forms, case-insensitive names and actions', () => {
  const r = aclRulesFromText(
    'l',
    [
      '$ip[10.0.0.0/8], DENY',
      '$IP[127.0.0.2-9] & $method[post|Put], deny, 401',
      '$Header[Referer: *evil.test*], Allow',
      '/old/*, redirect, https://#HOST/new#URL',
      '$IP[::FFFF:7f00:3], deny',
      '$IP[::ffff:10.1.0.0/112], deny',
      '$URL[/x]',
    ].join('\n'),
  );
  assert.deepEqual(r.problems, []);
  assert.deepEqual(
    r.rules.map((x) => [x.conditions, x.action]),
    [
      [[{ kind: 'ip', range: '10.0.0.0/8' }], { kind: 'deny', status: null }],
      [[{ kind: 'ip', range: '127.0.0.2-9' }, { kind: 'method', methods: ['POST', 'PUT'] }], { kind: 'deny', status: 401 }],
      [[{ kind: 'header', name: 'referer', value: '*evil.test*' }], { kind: 'allow' }],
      [[{ kind: 'url', glob: '/old/*' }], { kind: 'redirect', url: 'https://#HOST/new#URL' }],
      [[{ kind: 'ip', range: '127.0.0.3' }], { kind: 'deny', status: null }],
      [[{ kind: 'ip', range: '10.1.0.0/16' }], { kind: 'deny', status: null }],
      [[{ kind: 'url', glob: '/x' }], { kind: 'deny', status: null }],
    ],
  );
  assert.deepEqual(parseAddressRange('::ffff:1.2.3.4'), { ok: true, value: '1.2.3.4' });
  assert.deepEqual(parseAddressRange('FD00::/8'), { ok: true, value: 'fd00::/8' });
});

test('acl policy: first match wins, then Default; deny codes, redirect variables, IPv6 CIDR', () => {
  const vhost = vhostWith(
    `<AccessControl Default="Deny" DenialCode="451">ON</AccessControl><MatchingList Target="acl"><![CDATA[
      $IP[127.0.0.2], allow
      $IP[127.0.0.0/8] & $URL[/admin/*], deny, 401
      $HEADER[referer: *evil.test*], deny
      $URL[/old/*], redirect, https://#HOST/new#URL
      $IP[fd00::/8] & $METHOD[GET], allow
      $IP[127.0.0.0/8], allow
    ]]></MatchingList>`,
  );
  const p = new AccessPolicy(vhost);
  assert.equal(p.verdict(head('/admin/x', { ip: '127.0.0.2' }), '/admin/x'), null, 'rule 1 before rule 2');
  assert.deepEqual(p.verdict(head('/admin/x', { ip: '127.0.0.3' }), '/admin/x'), { kind: 'deny', status: 401 });
  assert.deepEqual(p.verdict(head('/ADMIN/x', { ip: '127.0.0.3' }), '/ADMIN/x'), { kind: 'deny', status: 401 }, 'CaseSensitive ON but RuleCaseSensitive OFF');
  assert.deepEqual(p.verdict(head('/a', { headers: ['referer', 'http://WWW.EVIL.test/x'] }), '/a'), { kind: 'deny', status: 451 }, 'header values case-insensitive; DenialCode');
  assert.deepEqual(p.verdict(head('/old/a', { query: 'q=1' }), '/old/a'), { kind: 'redirect', location: 'https://a.com/new/old/a?q=1' });
  assert.equal(p.verdict(head('/a', { ip: 'fd00::1' }), '/a'), null, 'IPv6 CIDR');
  assert.deepEqual(p.verdict(head('/a', { ip: 'fd00::1', method: 'POST' }), '/a'), { kind: 'deny', status: 451 }, 'method condition fails -> Default');
  assert.deepEqual(p.verdict(head('/a', { ip: '::1' }), '/a'), { kind: 'deny', status: 451 }, 'Default Deny');
  assert.equal(p.verdict(head('/a', { ip: '127.0.0.9' }), '/a'), null);
  assert.equal(p.verdict(head('/a', { ip: '::ffff:127.0.0.9' }), '/a'), null, 'IPv4-mapped peer matches an IPv4 range');
});

test('acl config: rules need AccessControl ON; DenialCode range; file and inline lists in order', () => {
  assert.match(problemsOf('<MatchingList Target="acl">$IP[10.0.0.1], deny</MatchingList>').join('\n'), /1 acl rules but <AccessControl> is not ON/);
  assert.match(problemsOf('<AccessControl DenialCode="200">ON</AccessControl>').join('\n'), /AccessControl@DenialCode: "200" is out of range/);
  assert.match(problemsOf('<AccessControl Default="Maybe">ON</AccessControl>').join('\n'), /"Maybe" is not Allow or Deny/);
  const vhost = vhostWith(acl('$IP[10.0.0.1], deny'), { 'a.com': { 'acl.txt': '$IP[10.0.0.2], allow\n' } });
  assert.deepEqual(
    vhost.rules.acl.map((r) => r.source),
    ['vhosts.xml: Vhosts/Vhost[Name=a.com]/Options/MatchingList[1]: line 1', 'svc/a.com/acl.txt: line 1'],
  );
  const bad = problemsOf(ON, { 'a.com': { 'acl.txt': '# ok\n$IP[10.0.0.1], deny\n$IP[10.0.0.0/40], deny\n' } });
  assert.deepEqual(bad, ['svc/a.com/acl.txt: line 3: "10.0.0.0/40" is not an IP address, CIDR range or a.b.c.x-y range']);
});

test('svc/<vhost>/ files Flint does not read are config errors', () => {
  const problems = problemsOf('', { 'a.com': { 'ttl.txt': '*.jpg, 60\n', 'expires.txt': '$URL[/a], 1d\n', 'postbody.txt': '' } });
  assert.deepEqual(problems.sort(), [
    'svc/a.com/expires.txt: Flint does not understand this rule file (it reads ttl.txt, bypass.txt, querystring.txt, acl.txt, headers.txt, compression.txt, throttling.txt)',
    'svc/a.com/postbody.txt: Flint does not understand this rule file (it reads ttl.txt, bypass.txt, querystring.txt, acl.txt, headers.txt, compression.txt, throttling.txt)',
  ]);
});

test('ServiceAccess: Allow beats Deny, then Default; the summary counts the lists', () => {
  const server = `<Server><Host><ServiceAccess Default="Allow"><Deny>127.0.0.0/8</Deny><Deny>::1</Deny><Allow>127.0.0.2</Allow></ServiceAccess></Host><Cache><Storage><Disk>/tmp/x</Disk></Storage></Cache></Server>`;
  const config = configWith(acl('$IP[10.0.0.1], deny'), undefined, server);
  const sa = new ServiceAccess(config.server.serviceAccess);
  assert.equal(sa.open, false);
  assert.equal(sa.admits({ clientIp: '127.0.0.2' }), true);
  assert.equal(sa.admits({ clientIp: '127.0.0.3' }), false);
  assert.equal(sa.admits({ clientIp: '::1' }), false);
  assert.equal(sa.admits({ clientIp: '10.0.0.1' }), true);
  assert.equal(new ServiceAccess({ defaultAction: 'deny', allow: ['10.0.0.0/8'], deny: [], geoIp: null }).admits({ clientIp: '11.0.0.1' }), false);
  assert.equal(new ServiceAccess({ defaultAction: 'allow', allow: [], deny: [], geoIp: null }).open, true);
  assert.deepEqual(policySummary(config), [
    'ServiceAccess: Default allow, 1 allow, 2 deny',
    'vhost a.com: ttl 0, bypass 0, querystring 0, acl 1, headers 0 (AccessControl ON, Default allow, DenialCode 403)',
  ]);
});

test('headers lines: hostile inputs are problems naming the line', () => {
  const cases: Array<[string, RegExp]> = [
    ['$URL[/*], $RES[X-A: 1]', /expected "conditions, \$REQ/],
    ['$URL[/*], $FOO[X-A: 1], set', /not \$REQ\[\.\.\.\] or \$RES/],
    ['$URL[/*], X-A: 1, set', /not \$REQ\[\.\.\.\] or \$RES/],
    ['$URL[/*], $RES[X-A: 1], replace', /"replace" is not set, put, append or unset/],
    ['$URL[/*], $RES[X-A], set', /set needs a value/],
    ['$URL[/*], $RES[X-A: 1], unset', /unset takes a name only/],
    ['$URL[/*], $RES[Content-Length: 1], set', /content-length cannot be rewritten/],
    ['$URL[/*], $REQ[Host: evil], set', /host cannot be rewritten/],
    ['$URL[/*], $RES[Transfer-Encoding], unset', /transfer-encoding cannot be rewritten/],
    ['$URL[/*], $RES[X-A: #NOPE], set', /#NOPE is not a variable/],
    ['$URL[/*], $REQ[X-A: #CACHEHIT], set', /only known for responses/],
    ['$URL[/*], $RES[X-A: $RES.server], set', /the only \$ variable is \$REQ/],
    ['$URL[/*], $REQ[X-A: 1], set, 200', /\$RES rules only/],
    ['$URL[/*], $RES[X-A: 1], set, 6xx', /not a status code/],
    ['$URL[/*], $RES[X-A: 1], set, 200, more', /too many fields/],
    ['$URL[/*], $RES[X A: 1], set', /header name/],
    ['$URL[/*], $RES[X-A: [1]], set', /'\[' inside brackets/],
    ['$STATUS[200], $RES[X-A: 1], set', /not a condition here/],
  ];
  for (const [line, expected] of cases) {
    const r = headerRulesFromText('svc/a.com/headers.txt', line);
    assert.equal(r.rules.length, 0, line);
    assert.match(r.problems.join('\n'), /^svc\/a\.com\/headers\.txt: line 1: /, line);
    assert.match(r.problems.join('\n'), expected, line);
  }
});

test('header policy: set/put/append/unset in rule order, variables, status classes, conditions', () => {
  const vhost = vhostWith(
    `<MatchingList Target="headers"><![CDATA[
      $URL[/*], $RES[X-Frame-Options: DENY], set
      $URL[/*], $RES[Server], unset
      $URL[/*], $RES[Cache-Control: private], append
      $URL[/*], $RES[X-Multi: a], put
      $URL[/*], $RES[X-Multi: b], put
      $URL[/*] & $IP[10.0.0.0/8], $RES[X-Internal: #CLIENTIP #PROTOCOL #CACHEHIT $REQ.x-trace], set
      $URL[/img/*], $RES[X-Img: 1], set, 2xx|304
      $URL[/api/*] & $METHOD[POST], $REQ[X-From-Edge: 1], set
      $REQ[Cookie], unset
    ]]></MatchingList>`,
  );
  const p = new HeaderPolicy(vhost);
  assert.equal(p.hasResponseRules, true);
  const res = ['server', 'origin', 'cache-control', 'max-age=60', 'x-frame-options', 'SAMEORIGIN', 'x-frame-options', 'x'];
  p.rewriteResponse(res, { head: head('/img/a', { ip: '10.1.2.3', headers: ['x-trace', 't'] }), path: '/img/a', cacheResult: 'TCP_HIT' }, 200);
  assert.deepEqual(res, [
    'cache-control', 'max-age=60, private',
    'x-frame-options', 'DENY',
    'x-multi', 'a',
    'x-multi', 'b',
    'x-internal', '10.1.2.3 http TCP_HIT t',
    'x-img', '1',
  ]);
  // Hot-tier hits: the rules without request conditions and with constant values are one shared edits object.
  const hit = { head: head('/img/a'), path: '/img/a', cacheResult: 'TCP_HIT' };
  const edits = p.hitEdits(hit, 200);
  assert.ok(edits !== null && edits !== NO_EDITS, 'constant rules: shared edits');
  assert.equal(p.hitEdits({ ...hit, head: head('/img/a', { ip: '127.0.0.2' }) }, 200), edits, 'the same object for another client');
  const viaEdits = ['server', 'origin', 'cache-control', 'max-age=60'];
  edits.apply(viaEdits);
  const perRequest = ['server', 'origin', 'cache-control', 'max-age=60'];
  p.rewriteResponse(perRequest, hit, 200);
  assert.deepEqual(viaEdits, perRequest, 'shared edits = per-request rewrite when the conditional rule does not hold');
  assert.equal(p.hitEdits({ ...hit, head: head('/img/a', { ip: '10.1.2.3' }) }, 200), null, 'a conditional rule holds: per request');
  const none = new HeaderPolicy(vhostWith('<MatchingList Target="headers">$URL[/x/*] &amp; $IP[10.0.0.1], $RES[X-A: 1], set, 200</MatchingList>'));
  assert.equal(none.hitEdits({ head: head('/y'), path: '/y', cacheResult: 'TCP_HIT' }, 200), NO_EDITS, 'URL');
  assert.equal(none.hitEdits({ head: head('/x/1'), path: '/x/1', cacheResult: 'TCP_HIT' }, 200), NO_EDITS, '$IP');
  assert.equal(none.hitEdits({ head: head('/x/1', { ip: '10.0.0.1' }), path: '/x/1', cacheResult: 'TCP_HIT' }, 404), NO_EDITS, 'status');
  assert.equal(none.hitEdits({ head: head('/x/1', { ip: '10.0.0.1' }), path: '/x/1', cacheResult: 'TCP_HIT' }, 200), null);
  const variable = new HeaderPolicy(vhostWith('<MatchingList Target="headers">$URL[/*], $RES[X-Who: #CLIENTIP], set</MatchingList>'));
  assert.equal(variable.hitEdits({ head: head('/y'), path: '/y', cacheResult: 'TCP_HIT' }, 200), null, 'a request variable: per request');
  const notFound: string[] = [];
  p.rewriteResponse(notFound, { head: head('/img/a'), path: '/img/a', cacheResult: 'TCP_MISS' }, 404);
  assert.equal(notFound.includes('x-img'), false, 'status class');
  assert.equal(notFound.includes('x-internal'), false, '$IP condition');
  const req = ['cookie', 'a=1', 'accept', '*/*'];
  p.rewriteRequest(req, head('/api/v', { method: 'POST' }), '/api/v');
  assert.deepEqual(req, ['accept', '*/*', 'x-from-edge', '1']);
  const get = ['cookie', 'a=1'];
  p.rewriteRequest(get, head('/api/v'), '/api/v');
  assert.deepEqual(get, [], 'method condition');
});

test('<Cors> ON: the origin\'s Allow-Origin and Allow-Credentials are removed after the vhost\'s own rules, also on hot hits', () => {
  const input = { head: head('/a.js'), path: '/a.js', cacheResult: 'TCP_HIT' };
  const stored = (): string[] => ['access-control-allow-origin', '*', 'access-control-allow-credentials', 'true', 'access-control-expose-headers', 'x-id', 'etag', '"1"'];
  const cors = new HeaderPolicy(vhostWith('<Cors AllowOrigin="https://app.test">ON</Cors><MatchingList Target="headers">$URL[/*], $RES[Access-Control-Allow-Origin: https://evil.test], set</MatchingList>'));
  const perRequest = stored();
  cors.rewriteResponse(perRequest, input, 200);
  assert.deepEqual(perRequest, ['access-control-expose-headers', 'x-id', 'etag', '"1"'], 'the edge adds its own Allow-Origin at delivery');
  const edits = cors.hitEdits(input, 200);
  assert.ok(edits !== null && edits !== NO_EDITS, 'constant: baked into the hot head');
  const viaEdits = stored();
  edits.apply(viaEdits);
  assert.deepEqual(viaEdits, perRequest);
  // Without rules of its own the vhost still gets the two; a vhost without <Cors> keeps what the origin sent.
  const bare = new HeaderPolicy(vhostWith('<Cors AllowOrigin="*">ON</Cors>'));
  const bareHead = stored();
  bare.rewriteResponse(bareHead, input, 304);
  assert.deepEqual(bareHead, ['access-control-expose-headers', 'x-id', 'etag', '"1"']);
  const plain = new HeaderPolicy(vhostWith('<MatchingList Target="headers">$URL[/*], $RES[X-A: 1], set</MatchingList>'));
  const plainHead = stored();
  plain.rewriteResponse(plainHead, input, 200);
  assert.deepEqual(plainHead, [...stored(), 'x-a', '1']);
});

test('a svc/<dir>/ naming no vhost is a config error', () => {
  assert.deepEqual(problemsOf('', { 'b.com': { 'acl.txt': '$IP[10.0.0.1], deny\n' } }), ['svc/b.com/: no vhost is named "b.com", so its files (acl.txt) would be ignored']);
});

test('acl policy: runs of address-only rules merge without changing first-match order', () => {
  const lines = ['$IP[10.0.0.1], deny', '$IP[10.0.0.2], deny', '$IP[10.0.0.3], deny, 401', '$IP[10.0.0.0/8], allow', '$IP[10.0.0.4], deny', '$IP[11.0.0.0/8], deny'];
  const p = new AccessPolicy(vhostWith(`<AccessControl Default="Deny" DenialCode="451">ON</AccessControl><MatchingList Target="acl">${lines.join('\n')}</MatchingList>`));
  const verdict = (ip: string): unknown => p.verdict(head('/', { ip }), '/');
  assert.deepEqual(verdict('10.0.0.1'), { kind: 'deny', status: 451 });
  assert.deepEqual(verdict('10.0.0.2'), { kind: 'deny', status: 451 });
  assert.deepEqual(verdict('10.0.0.3'), { kind: 'deny', status: 401 });
  assert.equal(verdict('10.0.0.4'), null, 'the /8 allow comes first');
  assert.deepEqual(verdict('11.1.1.1'), { kind: 'deny', status: 451 });
  assert.deepEqual(verdict('12.1.1.1'), { kind: 'deny', status: 451 }, 'Default');
  const many = Array.from({ length: 1000 }, (_, i) => `$IP[10.${i >> 8}.${i & 255}.0/24], deny`).join('\n');
  const big = new AccessPolicy(vhostWith(`<AccessControl>ON</AccessControl><MatchingList Target="acl">${many}\n$URL[/x], deny</MatchingList>`));
  assert.deepEqual(big.verdict(head('/', { ip: '10.3.231.9' }), '/'), { kind: 'deny', status: 403 });
  assert.equal(big.verdict(head('/', { ip: '10.4.0.1' }), '/'), null);
  const started = performance.now();
  for (let i = 0; i < 10_000; i++) big.verdict(head('/a', { ip: '127.0.0.1' }), '/a');
  const perRequestUs = ((performance.now() - started) * 1000) / 10_000;
  assert.ok(perRequestUs < 100, `1,000 address rules cost ${perRequestUs.toFixed(1)} µs per request`);
});

test('AddressSet: IPv4/IPv6 ranges, boundaries, IPv4-mapped clients, junk client strings', () => {
  const set = new AddressSet(['10.0.0.0/8', '192.168.1.10-20', '127.0.0.1', 'fd00::/8', '::1', '2001:db8::/126', '0.0.0.0/32']);
  const cases: Array<[string, boolean]> = [
    ['10.0.0.0', true],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['9.255.255.255', false],
    ['192.168.1.9', false],
    ['192.168.1.10', true],
    ['192.168.1.20', true],
    ['192.168.1.21', false],
    ['127.0.0.1', true],
    ['127.0.0.2', false],
    ['::ffff:10.1.2.3', true],
    ['::FFFF:7f00:1', true],
    ['fd12:3456::1', true],
    ['fe00::1', false],
    ['::1', true],
    ['::2', false],
    ['2001:db8::3', true],
    ['2001:db8::4', false],
    ['[::1]', true],
    ['fe80::1%eth0', false],
    ['0.0.0.0', true],
    ['', false],
    ['256.0.0.1', false],
    ['10.0.0', false],
    ['1::2::3', false],
    ['not-an-ip', false],
    ['1:2:3:4:5:6:7:8:9', false],
  ];
  for (const [ip, expected] of cases) assert.equal(set.has(ip), expected, ip);
  assert.equal(new AddressSet(['::ffff:10.0.0.0/104']).has('10.9.9.9'), true, 'a raw IPv4-mapped range matches IPv4 clients');
  assert.equal(new AddressSet(['::/0']).has('2001:db8::1'), true);
  assert.equal(new AddressSet(['0.0.0.0/0']).has('203.0.113.9'), true);
});
