// Unit tests of origin member selection (origin/selector.ts) and member tables (origin/members.ts): rendezvous
// hashing moves only a removed member's keys, a flapping member takes back exactly its own keys, IgnoreSuffix,
// standbys only when every active member is out, round robin and Session preferences, DNS answers and failures, a
// standby equal to an active member listed once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { Config, OriginAddress, Vhost } from '../../src/config/types.js';
import { MemberTable, dnsRefreshMs, memberKey } from '../../src/origin/members.js';
import type { MemberSet, OriginMember } from '../../src/origin/members.js';
import { MemberSelector, hashedUrl, rendezvous } from '../../src/origin/selector.js';

const member = (key: string, standby = false): OriginMember => {
  const [host = '', port = '80'] = key.split(':');
  return { key, address: { text: key, host, port: Number(port), pathPrefix: '' }, standby };
};
const KEYS = Array.from({ length: 3000 }, (_, i) => `/objects/${i}.bin?v=${i % 7}`);
const ALL = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'].map((k) => member(k));

test('rendezvous: spreads keys evenly and removing one of three members moves only its keys', () => {
  const owners = KEYS.map((k) => rendezvous(ALL, k)?.key);
  for (const m of ALL) {
    const share = owners.filter((o) => o === m.key).length / KEYS.length;
    assert.ok(share > 0.28 && share < 0.39, `${m.key} owns ${share}`);
  }
  const without = ALL.filter((m) => m.key !== '10.0.0.2:80');
  let moved = 0;
  KEYS.forEach((k, i) => {
    const now = rendezvous(without, k)?.key;
    if (owners[i] === '10.0.0.2:80') moved++;
    else assert.equal(now, owners[i], `key ${k} moved although its member stayed`);
  });
  assert.ok(moved / KEYS.length > 0.28 && moved / KEYS.length < 0.39);
  // The order members are listed in does not matter (workers may list them differently).
  assert.deepEqual(KEYS.map((k) => rendezvous([...ALL].reverse(), k)?.key), owners);
});

test('selector Hash: a member that goes down and comes back takes back exactly its keys', () => {
  const selector = new MemberSelector();
  const set: MemberSet = { active: ALL, standby: [] };
  const pick = (key: string, down: ReadonlySet<string>): string | undefined =>
    selector.pick('v', set, { mode: 'Hash', hashKey: key }, (m) => !down.has(m.key), () => false)?.key;
  const before = KEYS.map((k) => pick(k, new Set()));
  const during = KEYS.map((k) => pick(k, new Set(['10.0.0.3:80'])));
  KEYS.forEach((_k, i) => {
    if (before[i] !== '10.0.0.3:80') assert.equal(during[i], before[i]);
    else assert.notEqual(during[i], '10.0.0.3:80');
  });
  assert.deepEqual(KEYS.map((k) => pick(k, new Set())), before);
});

test('hashedUrl: cut at the first IgnoreSuffix found', () => {
  assert.equal(hashedUrl('/img/a.jpg/dims/resize/100', ['/dims/', '?start=']), '/img/a.jpg');
  assert.equal(hashedUrl('/v/a.mp4?start=30&x=1', ['/dims/', '?start=']), '/v/a.mp4');
  assert.equal(hashedUrl('/v/a.mp4?x=1', ['/dims/', '?start=']), '/v/a.mp4?x=1');
  assert.equal(hashedUrl('/a/dims/b?start=1', ['?start=', '/dims/']), '/a');
});

test('selector: standbys only when every active member is down or tried; none left = null', () => {
  const selector = new MemberSelector();
  const set: MemberSet = { active: ALL.slice(0, 2), standby: [member('10.0.0.9:80', true)] };
  const pick = (out: readonly string[]): string | undefined =>
    selector.pick('v', set, { mode: 'RoundRobin', hashKey: '/' }, (m) => !out.includes(m.key), () => false)?.key;
  for (let i = 0; i < 10; i++) assert.notEqual(pick([]), '10.0.0.9:80');
  assert.equal(pick(['10.0.0.1:80']), '10.0.0.2:80');
  assert.equal(pick(['10.0.0.1:80', '10.0.0.2:80']), '10.0.0.9:80');
  assert.equal(pick(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.9:80']), undefined);
});

test('selector RoundRobin cycles evenly; Session prefers members with an idle connection', () => {
  const selector = new MemberSelector();
  const set: MemberSet = { active: ALL, standby: [] };
  const counts = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const key = selector.pick('v', set, { mode: 'RoundRobin', hashKey: '' }, () => true, () => false)?.key ?? '';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.deepEqual([...counts.values()], [100, 100, 100]);
  const warm = new Set(['10.0.0.2:80']);
  for (let i = 0; i < 10; i++) {
    assert.equal(selector.pick('s', set, { mode: 'Session', hashKey: '' }, () => true, (m) => warm.has(m.key))?.key, '10.0.0.2:80');
  }
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 6; i++) seen.add(selector.pick('s', set, { mode: 'Session', hashKey: '' }, () => true, () => false)?.key);
  assert.equal(seen.size, 3, 'no idle connection anywhere: round robin');
});

function configWith(origins: readonly OriginAddress[], standbyOrigins: readonly OriginAddress[] = []): Config {
  const vhost = { name: 'v', origins, standbyOrigins, originOptions: { dnsRefreshMs: 60_000 } } as unknown as Vhost;
  return { vhosts: [vhost] } as unknown as Config;
}
const address = (host: string, port: number): OriginAddress => ({ text: `${host}:${port}`, host, port, pathPrefix: '/p' });

test('MemberTable: every resolved IP is a member; a failed or empty re-resolution keeps the last good set', async () => {
  let answer: string[] | Error = ['10.1.0.2', '10.1.0.1', '10.1.0.2'];
  const table = new MemberTable(pino({ level: 'silent' }), async () => {
    if (answer instanceof Error) throw answer;
    return answer;
  });
  table.apply(configWith([address('origin.test', 8080), address('::1', 81)], [address('10.9.9.9', 80)]));
  // Before the first answer the name itself stands in.
  assert.deepEqual(table.members('v').active.map((m) => m.key), ['[::1]:81', 'origin.test:8080']);
  await table.refresh();
  const set = table.members('v');
  assert.deepEqual(set.active.map((m) => m.key), ['10.1.0.1:8080', '10.1.0.2:8080', '[::1]:81']);
  assert.deepEqual(set.active.map((m) => m.address.pathPrefix), ['/p', '/p', '/p']);
  assert.deepEqual(set.standby.map((m) => [m.key, m.standby]), [['10.9.9.9:80', true]]);
  answer = new Error('SERVFAIL');
  await table.refresh();
  assert.deepEqual(table.members('v').active.map((m) => m.key), ['10.1.0.1:8080', '10.1.0.2:8080', '[::1]:81']);
  answer = [];
  await table.refresh();
  assert.equal(table.members('v').active.length, 3);
  answer = ['10.1.0.3'];
  await table.refresh();
  assert.deepEqual(table.members('v').active.map((m) => m.key), ['10.1.0.3:8080', '[::1]:81']);
  table.close();
  assert.equal(memberKey('fe80::1', 80), '[fe80::1]:80');
});

test('MemberTable: a standby equal to an active member is that member, listed once; the refresh period is the smallest DnsRefresh of the vhosts with a name', async () => {
  const table = new MemberTable(pino({ level: 'silent' }), async () => ['10.1.0.1']);
  const config = configWith([address('origin.test', 80)], [address('10.1.0.1', 80), address('10.9.9.9', 80)]);
  table.apply(config);
  await table.refresh();
  const set = table.members('v');
  assert.deepEqual(set.active.map((m) => m.key), ['10.1.0.1:80']);
  assert.deepEqual(set.standby.map((m) => m.key), ['10.9.9.9:80']);
  table.close();
  assert.equal(dnsRefreshMs(config), 60_000);
  assert.equal(dnsRefreshMs(configWith([address('10.0.0.1', 80)])), 0, 'no DNS name: no refresh');
});
