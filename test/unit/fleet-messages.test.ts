/**
 * The fleet's parsers, table-driven with hostile inputs: the NATS messages an edge accepts (fleet/messages.ts:
 * anything on NATS can publish, so a malformed one must be refused, never applied), the <Cluster> values
 * (config/cluster.ts and the ConfigError lines they give), the fleet routes' group=/wait= (admin/fleet-routes.ts),
 * and that /fleet/command/* is a state-changing endpoint (POST only without a token).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeConfigReport, decodePurge, decodePurgeAck, decodePushed, decodeStatsRequest } from '../../src/fleet/messages.js';
import { defaultNodeName, parseFleetName, parseNatsUrls } from '../../src/config/cluster.js';
import { fleetParams, fleetPurgeTarget } from '../../src/admin/fleet-routes.js';
import { MAX_TAG_LENGTH, MAX_TAGS_PER_CALL, parseTagList } from '../../src/cache/tags.js';
import { isCommandPath, methodRefusal } from '../../src/admin/request-guard.js';
import { requiredRole } from '../../src/admin/access.js';
import { loadConfigFromText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const PURGE = { id: 'abc_DEF-123', command: 'purge', urls: 'a.com/x.jpg|a.com/img/*', group: null, from: 'edge-1', time: 1_700_000_000_000 };

test('decodePurge: a well-formed command passes; every malformed field is refused', () => {
  const good = decodePurge(JSON.stringify(PURGE));
  assert.deepEqual(good, { ok: true, value: PURGE });
  assert.ok(decodePurge(Buffer.from(JSON.stringify({ ...PURGE, command: 'hardpurge', group: 'seoul' }))).ok);
  const bad: unknown[] = [
    '', 'null', '[]', '"purge"', '{', '{"id":', JSON.stringify(null),
    { ...PURGE, id: '' }, { ...PURGE, id: 'a.b' }, { ...PURGE, id: 'x'.repeat(65) }, { ...PURGE, id: 7 },
    { ...PURGE, command: 'expireafter' }, { ...PURGE, command: 'PURGE' }, { ...PURGE, command: '__proto__' }, { ...PURGE, command: null },
    { ...PURGE, urls: '' }, { ...PURGE, urls: 'a.com/x\r\nHost: evil' }, { ...PURGE, urls: 'a.com/\u0000' }, { ...PURGE, urls: 'a'.repeat(64 * 1024 + 1) }, { ...PURGE, urls: ['a.com/x'] },
    { ...PURGE, group: '' }, { ...PURGE, group: 'a.b' }, { ...PURGE, group: '*' }, { ...PURGE, group: '>' }, { ...PURGE, group: 'a b' }, { ...PURGE, group: 1 },
    { ...PURGE, from: '' }, { ...PURGE, from: 'edge.1' }, { ...PURGE, from: 'x'.repeat(65) },
    { ...PURGE, time: -1 }, { ...PURGE, time: 1.5 }, { ...PURGE, time: '1' }, { ...PURGE, time: 2 ** 60 },
    { id: PURGE.id, command: 'purge', urls: 'a.com/x', from: 'edge-1', time: 1 },
  ];
  for (const input of bad) {
    const text = typeof input === 'string' ? input : JSON.stringify(input);
    assert.equal(decodePurge(text).ok, false, text.slice(0, 120));
  }
});

const TAGGED = { id: 'tag_1', command: 'hardpurge', tags: 'product-42 p:1/2', vhost: null, group: null, from: 'edge-1', time: 1_700_000_000_000 };

test('decodePurge with tags: the local tag rule (count, length, bytes), canonical form, exactly one of urls and tags', () => {
  assert.deepEqual(decodePurge(JSON.stringify(TAGGED)), { ok: true, value: TAGGED });
  assert.ok(decodePurge(JSON.stringify({ ...TAGGED, vhost: 'shop.example.com' })).ok);
  assert.ok(decodePurge(JSON.stringify({ ...TAGGED, vhost: '*.example.com' })).ok);
  const most = Array.from({ length: MAX_TAGS_PER_CALL }, (_, i) => `${i}${'t'.repeat(MAX_TAG_LENGTH - String(i).length)}`).join(' ');
  assert.ok(decodePurge(JSON.stringify({ ...TAGGED, tags: most })).ok, 'the most the local parameter takes');
  const bad: Array<[string, Record<string, unknown>]> = [
    ['empty', { ...TAGGED, tags: '' }],
    ['separators only', { ...TAGGED, tags: ' , ' }],
    ['not a string', { ...TAGGED, tags: ['a'] }],
    ['null', { ...TAGGED, tags: null }],
    ['a tag too long', { ...TAGGED, tags: 'x'.repeat(MAX_TAG_LENGTH + 1) }],
    ['one tag too many', { ...TAGGED, tags: `${most} z` }],
    ['huge list', { ...TAGGED, tags: 'a '.repeat(200_000) }],
    ['quote', { ...TAGGED, tags: 'a"b' }],
    ['non-ASCII', { ...TAGGED, tags: 'caf\u00e9' }],
    ['NUL', { ...TAGGED, tags: 'a\u0000b' }],
    ['DEL', { ...TAGGED, tags: 'a\u007f' }],
    ['CR LF', { ...TAGGED, tags: 'a\r\nHost: evil' }],
    ['tab separator (not canonical)', { ...TAGGED, tags: 'a\tb' }],
    ['comma separator (not canonical)', { ...TAGGED, tags: 'a,b' }],
    ['two spaces', { ...TAGGED, tags: 'a  b' }],
    ['leading space', { ...TAGGED, tags: ' a' }],
    ['duplicate', { ...TAGGED, tags: 'a a' }],
    ['no-break space', { ...TAGGED, tags: 'a\u00a0b' }],
    ['line separator', { ...TAGGED, tags: 'a\u2028b' }],
    ['urls and tags', { ...TAGGED, urls: 'a.com/x' }],
    ['neither', { id: 'x', command: 'purge', group: null, from: 'edge-1', time: 1 }],
    ['vhost missing', { id: TAGGED.id, command: 'purge', tags: 'a', group: null, from: 'edge-1', time: 1 }],
    ['vhost empty', { ...TAGGED, vhost: '' }],
    ['vhost with a slash', { ...TAGGED, vhost: 'a.com/x' }],
    ['vhost with a space', { ...TAGGED, vhost: 'a com' }],
    ['vhost too long', { ...TAGGED, vhost: 'a'.repeat(256) }],
    ['vhost a number', { ...TAGGED, vhost: 7 }],
    ['vhost with urls', { ...PURGE, vhost: null }],
  ];
  for (const [name, input] of bad) assert.equal(decodePurge(JSON.stringify(input)).ok, false, name);
  // A `__proto__` key holding the target is a field of its own name, not the message's target.
  assert.equal(decodePurge('{"id":"x","command":"purge","__proto__":{"tags":"a","vhost":null},"group":null,"from":"edge-1","time":1}').ok, false);
});

test('parseTagList and the fleet route: the local tag parameter, normalized before it is published', () => {
  assert.deepEqual(parseTagList('a b,c\td, a'), { ok: true, tags: ['a', 'b', 'c', 'd'] });
  for (const bad of ['', ' ,\t', 'a"b', 'caf\u00e9', 'x'.repeat(MAX_TAG_LENGTH + 1), Array.from({ length: MAX_TAGS_PER_CALL + 1 }, (_, i) => `t${i}`).join(' '), ' '.repeat(200_000)]) {
    assert.equal(parseTagList(bad).ok, false, JSON.stringify(bad.slice(0, 40)));
  }
  const tagged = fleetPurgeTarget('group=seoul&wait=2&tag=a%20b,c&vhost=shop.example.com');
  assert.ok(tagged.ok);
  assert.deepEqual(tagged.target, { tags: 'a b c', vhost: 'shop.example.com' });
  assert.equal(tagged.params.get('group'), 'seoul');
  // What the route publishes is what every edge's decoder takes.
  assert.ok(decodePurge(JSON.stringify({ id: 'x', command: 'purge', ...tagged.target, group: 'seoul', from: 'edge-1', time: 1 })).ok);
  const byUrl = fleetPurgeTarget('wait=2&url=a.com/x?tag=1&y=2');
  assert.ok(byUrl.ok);
  assert.deepEqual(byUrl.target, { urls: 'a.com/x?tag=1&y=2' }, 'url= takes the rest of the query, tag= inside it is part of the URL');
  for (const [text, error] of [
    ['', /missing url=/],
    ['tag=', /no tag/],
    ['tag=a%22b', /is not a tag/],
    ['tag=a&url=a.com/x', /not both/],
    ['tag=a&vhost=a%2Fb', /vhost= is not a host name/],
    ['tag=a&vhost=', /vhost= is not a host name/],
  ] as const) {
    const result = fleetPurgeTarget(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) assert.match(result.error, error, text);
  }
});

test('decodePurgeAck, decodeConfigReport, decodeStatsRequest refuse malformed answers', () => {
  const ack = { id: 'x', node: 'edge-2', status: 200, Count: 3, Size: 100 };
  assert.deepEqual(decodePurgeAck(JSON.stringify(ack)), { ok: true, value: ack });
  assert.ok(decodePurgeAck(JSON.stringify({ ...ack, Denied: ['a: no'], Errors: [] })).ok);
  for (const bad of [{ ...ack, node: 'a.b' }, { ...ack, Count: -1 }, { ...ack, Size: 'big' }, { ...ack, status: 2.5 }, { ...ack, Denied: 'x' }, { ...ack, Errors: [1] }, { ...ack, Errors: Array(1001).fill('e') }]) {
    assert.equal(decodePurgeAck(JSON.stringify(bad)).ok, false, JSON.stringify(bad).slice(0, 100));
  }
  const report = { version: 4, node: 'edge-3', result: 'refused', problems: ['vhosts.xml: ...'] };
  assert.deepEqual(decodeConfigReport(JSON.stringify(report)), { ok: true, value: report });
  for (const bad of [{ ...report, result: 'maybe' }, { ...report, version: -1 }, { ...report, problems: 'x' }, { ...report, node: '' }]) assert.equal(decodeConfigReport(JSON.stringify(bad)).ok, false);
  assert.deepEqual(decodeStatsRequest('{"group":null}'), { ok: true, value: { group: null } });
  assert.deepEqual(decodeStatsRequest('{"group":"seoul"}'), { ok: true, value: { group: 'seoul' } });
  for (const bad of ['{}', '{"group":"a.>"}', '{"group":""}', '[]', 'x']) assert.equal(decodeStatsRequest(bad).ok, false, bad);
});

test('decodePushed: rule file paths stay under svc/<vhost>/*.txt; oversized or malformed configs are refused', () => {
  const config = { vhosts: '<Vhosts/>', rules: [{ path: 'svc/a.com/ttl.txt', text: '' }], from: 'edge-1', time: 1, rollbackOf: null };
  assert.deepEqual(decodePushed(JSON.stringify(config)), { ok: true, value: config });
  assert.ok(decodePushed(JSON.stringify({ ...config, rollbackOf: 3 })).ok);
  const badPaths = ['../server.xml', 'svc/../../etc/passwd.txt', 'svc/a.com/../../x.txt', 'svc/a.com/ttl', 'svc/a.com/sub/ttl.txt', '/svc/a.com/ttl.txt', 'svc//ttl.txt', 'svc/a.com/ttl.txt\u0000', 'server.xml', 'svc/a com/ttl.txt', 'svc\\a.com\\ttl.txt', 'svc/../ttl.txt', 'svc/./ttl.txt'];
  for (const path of badPaths) assert.equal(decodePushed(JSON.stringify({ ...config, rules: [{ path, text: '' }] })).ok, false, path);
  const bad: unknown[] = [
    { ...config, vhosts: '' }, { ...config, vhosts: 1 }, { ...config, rules: {} }, { ...config, rules: [{ path: 'svc/a.com/ttl.txt' }] },
    { ...config, rules: [config.rules[0], config.rules[0]] }, { ...config, rollbackOf: 0 }, { ...config, rollbackOf: 'x' }, { ...config, from: 'a.b' },
    { ...config, vhosts: 'x'.repeat(900 * 1024) },
  ];
  for (const input of bad) assert.equal(decodePushed(JSON.stringify(input)).ok, false, JSON.stringify(input).slice(0, 120));
});

test('<Cluster> values: NATS URL lists and fleet names', () => {
  assert.deepEqual(parseNatsUrls('nats://127.0.0.1:4222'), { ok: true, value: ['nats://127.0.0.1:4222'] });
  assert.deepEqual(parseNatsUrls('nats://a.example:4222, tls://[::1]:4223 nats://b'), { ok: true, value: ['nats://a.example:4222', 'tls://[::1]:4223', 'nats://b'] });
  for (const bad of ['', ' , ', 'http://a:4222', 'nats://', 'nats://a:0', 'nats://a:65536', 'nats://a:4222/path', 'nats://user:pw@a:4222', 'nats://a:42x', 'a:4222', 'nats://a b:1', 'nats://[zz]:1']) {
    assert.equal(parseNatsUrls(bad).ok, false, bad);
  }
  for (const good of ['edge-1', 'seoul', 'A_b-9', 'x'.repeat(64)]) assert.ok(parseFleetName(good).ok, good);
  for (const bad of ['', 'a.b', 'a*', '>', 'a b', 'x'.repeat(65), 'a/b', 'é', 'a\nb']) assert.equal(parseFleetName(bad).ok, false, bad);
  assert.equal(defaultNodeName('cache1.seoul.example.com'), 'cache1');
  assert.equal(defaultNodeName('weird host!'), 'weird-host-');
  assert.equal(defaultNodeName(''), 'flint');
});

test('<Cluster> in server.xml: defaults, a standalone edge has none, and each bad value names its element', () => {
  const vhosts = '<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin></Vhost></Vhosts>';
  const load = (cluster: string) => loadConfigFromText('/srv/flint/conf', `<Server>${cluster}</Server>`, vhosts, { cpuCount: 1 });
  assert.equal(load('').server.cluster, null, 'no <Cluster>: standalone');
  assert.equal(load('<Cluster><Nats>OFF</Nats><NodeName>e1</NodeName></Cluster>').server.cluster, null, 'Nats OFF: standalone');
  const on = load('<Cluster><Nats Url="nats://10.0.0.9:4222,nats://10.0.0.10:4222">ON</Nats><NodeName>edge-1</NodeName><Group>seoul</Group></Cluster>').server.cluster;
  assert.deepEqual(on, { urls: ['nats://10.0.0.9:4222', 'nats://10.0.0.10:4222'], nodeName: 'edge-1', group: 'seoul', purgeRetentionSec: 86400, waitMs: 5000 });
  // <Url> elements: alone they replace the default server; with Nats@Url they add to it (a repeat counts once).
  const elements = load('<Cluster><Nats>ON</Nats><Url>nats://10.0.0.9:4222</Url><Url>tls://10.0.0.10:4223</Url></Cluster>').server.cluster;
  assert.deepEqual(elements?.urls, ['nats://10.0.0.9:4222', 'tls://10.0.0.10:4223']);
  const both = load('<Cluster><Nats Url="nats://10.0.0.9:4222">ON</Nats><Url>nats://10.0.0.9:4222</Url><Url>nats://10.0.0.11:4222</Url></Cluster>').server.cluster;
  assert.deepEqual(both?.urls, ['nats://10.0.0.9:4222', 'nats://10.0.0.11:4222']);
  assert.deepEqual(load('<Cluster><Nats>ON</Nats></Cluster>').server.cluster?.urls, ['nats://127.0.0.1:4222'], 'neither: the default');
  const problems = (cluster: string): readonly string[] => {
    try {
      load(cluster);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems;
    }
    return assert.fail('accepted');
  };
  assert.deepEqual(problems('<Cluster><Nats Url="http://x">ON</Nats></Cluster>'), ['server.xml: Server/Cluster/Nats@Url: "http://x" is not a NATS URL (nats://host:port or tls://host:port, without user or path)']);
  assert.deepEqual(problems('<Cluster><Nats>ON</Nats><Url>nats://a:4222</Url><Url>nats://a:99999</Url></Cluster>').map((p) => p.split(':').slice(0, 3).join(':')), ['server.xml: Server/Cluster/Url: "nats']);
  assert.deepEqual(problems('<Cluster><Nats>ON</Nats><NodeName>edge.1</NodeName></Cluster>'), ['server.xml: Server/Cluster/NodeName: "edge.1" is not a fleet name (1-64 letters, digits, - or _)']);
  assert.deepEqual(problems('<Cluster><Nats>ON</Nats><PurgeRetention>10</PurgeRetention><Wait>0</Wait></Cluster>'), [
    'server.xml: Server/Cluster/PurgeRetention: "10" is out of range (60..31536000)',
    'server.xml: Server/Cluster/Wait: "0" is out of range (0.1..120)',
  ]);
  assert.match(problems('<Cluster><Nats>ON</Nats><Groop>a</Groop></Cluster>')[0] ?? '', /Server\/Cluster\/Groop: unknown element; did you mean <Group>\?/);
});

test('fleet routes: group= and wait= are checked; /fleet/command/* changes state, /fleet/stats and /fleet/status are reads', () => {
  assert.deepEqual(fleetParams(new URLSearchParams('')), { ok: true, group: null, waitMs: null });
  assert.deepEqual(fleetParams(new URLSearchParams('group=seoul&wait=2.5s')), { ok: true, group: 'seoul', waitMs: 2500 });
  assert.deepEqual(fleetParams(new URLSearchParams('wait=10')), { ok: true, group: null, waitMs: 10_000 });
  for (const bad of ['group=a.b', 'group=*', 'wait=0', 'wait=121', 'wait=301', 'wait=-1', 'wait=1e3', 'wait=5m', 'wait=', 'wait=Infinity', 'wait=NaN', 'wait=1.2345']) {
    assert.equal(fleetParams(new URLSearchParams(bad)).ok, false, bad);
  }
  assert.ok(isCommandPath('/fleet/command/purge'));
  assert.ok(isCommandPath('/fleet/command/push'));
  assert.ok(!isCommandPath('/fleet/stats'));
  assert.equal(methodRefusal('GET', '/fleet/command/purge', false)?.status, 405);
  assert.equal(methodRefusal('POST', '/fleet/command/purge', false), null);
  assert.equal(requiredRole('/fleet/command/purge'), 'Admin');
  assert.equal(requiredRole('/fleet/command/push'), 'Admin');
  assert.equal(requiredRole('/fleet/stats'), 'User');
  assert.equal(requiredRole('/fleet/status'), 'User');
});
