// Unit tests of the primary's origin health state (no processes): members from addresses (IP literals as written,
// DNS names one member per address, a failed lookup keeps the last good set), passive exclusion counting (a success
// resets, Exclusion 0 never excludes, unknown members are ignored), one log line and one push per change, and a
// reload that keeps surviving members' state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigFromText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import type { Logger } from '../../src/log.js';
import { OriginHealth } from '../../src/primary/origin-health.js';
import type { DownSet } from '../../src/primary/origin-health.js';
import { resolveMembers, systemResolver } from '../../src/origin/members.js';

function config(vhosts: string): Config {
  return loadConfigFromText('/srv/flint/conf', '<Server/>', `<Vhosts>${vhosts}</Vhosts>`, { cpuCount: 1 });
}

/** A logger that records what it was given. */
function recordingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const record = (fields: Record<string, unknown>): void => void lines.push(fields);
  return { log: { warn: record, info: record, error: record, debug: record } as unknown as Logger, lines };
}

test('members: IP literals as written, a DNS name gives one member per address, a failed lookup keeps the last good set', async () => {
  const addresses = config('<Vhost Name="a.com"><Origin><Address>10.0.0.1:8080</Address><Address>[::1]:81</Address><Address>origin.test:9000/p</Address></Origin></Vhost>')
    .vhosts[0]?.origins ?? [];
  const previous = new Map<string, readonly string[]>();
  const failures: string[] = [];
  let answer: readonly string[] | Error = ['192.0.2.1', '192.0.2.2', '10.0.0.1'];
  const resolver = async (): Promise<readonly string[]> => {
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const first = await resolveMembers(addresses, previous, failures, resolver);
  assert.deepEqual(first.map((m) => [m.key, m.fromDns, m.address.text]), [
    ['10.0.0.1:8080', false, '10.0.0.1:8080'],
    ['[::1]:81', false, '[::1]:81'],
    ['192.0.2.1:9000', true, 'origin.test:9000/p'],
    ['192.0.2.2:9000', true, 'origin.test:9000/p'],
    ['10.0.0.1:9000', true, 'origin.test:9000/p'],
  ]);
  answer = new Error('SERVFAIL');
  const second = await resolveMembers(addresses, previous, failures, resolver);
  assert.deepEqual(second.map((m) => m.key), first.map((m) => m.key), 'a failed lookup keeps the last good addresses');
  assert.deepEqual(failures, ['origin.test: SERVFAIL']);
  const local = await systemResolver('localhost');
  assert.ok(local.includes('127.0.0.1') || local.includes('::1'), `localhost resolved to ${local.join(', ')}`);
});

test('passive exclusion: Exclusion consecutive failures exclude, a success resets, one log line and one push per change', async () => {
  const { log, lines } = recordingLogger();
  const pushes: DownSet[] = [];
  const cfg = config(
    '<Vhost Name="a.com"><Origin><Address>10.0.0.1</Address><Address>10.0.0.2</Address></Origin><OriginOptions><Exclusion>3</Exclusion><Recovery>0</Recovery></OriginOptions></Vhost>' +
      '<Vhost Name="b.com"><Origin><Address>10.0.0.3</Address></Origin><OriginOptions><Exclusion>0</Exclusion></OriginOptions></Vhost>',
  );
  const health = new OriginHealth(cfg, log, (down) => pushes.push(down));
  await health.apply(cfg);
  assert.deepEqual(pushes, [], 'nothing down at start: nothing to push');
  health.receive([
    ['a.com', '10.0.0.1:80', 'connect-fail'],
    ['a.com', '10.0.0.1:80', 'bad-status'],
    ['a.com', '10.0.0.1:80', 'ok'],
    ['a.com', '10.0.0.1:80', 'receive-fail'],
    ['a.com', '10.0.0.1:80', 'receive-fail'],
    ['a.com', '10.0.0.9:80', 'connect-fail'],
    ['nope.com', '10.0.0.1:80', 'connect-fail'],
  ]);
  assert.deepEqual(health.downSet(), {}, 'the success reset the count: 2 failures so far');
  health.receive([['a.com', '10.0.0.1:80', 'bad-status']]);
  assert.deepEqual(health.downSet(), { 'a.com': ['10.0.0.1:80'] });
  health.receive([['a.com', '10.0.0.1:80', 'bad-status'], ['a.com', '10.0.0.1:80', 'ok']]);
  assert.deepEqual(pushes, [{ 'a.com': ['10.0.0.1:80'] }], 'one push; outcomes of an excluded member change nothing');
  const downs = lines.filter((l) => l.event === 'origin.down');
  assert.deepEqual(downs.map((l) => [l.vhost, l.member, l.reason]), [['a.com', '10.0.0.1:80', '3 consecutive failures (last: bad-status)']]);
  for (let i = 0; i < 10; i++) health.receive([['b.com', '10.0.0.3:80', 'connect-fail']]);
  assert.deepEqual(health.downSet(), { 'a.com': ['10.0.0.1:80'] }, 'Exclusion 0 never excludes');
  const report = health.report('a.com')?.[0];
  assert.deepEqual(report?.addresses, [{ address: '10.0.0.1', state: 'inactive' }, { address: '10.0.0.2', state: 'active' }]);
  assert.equal(report?.members[0]?.exclusions, 1);
  assert.equal(health.report('nope.com'), null);

  // A reload keeps the excluded member's state; a removed vhost's members are gone from the down set.
  const reloaded = config('<Vhost Name="a.com"><Alias>www.a.com</Alias><Origin><Address>10.0.0.1</Address></Origin><OriginOptions><Recovery>0</Recovery></OriginOptions></Vhost>');
  await health.apply(reloaded);
  assert.deepEqual(health.downSet(), { 'a.com': ['10.0.0.1:80'] });
  assert.equal(health.report('a.com')?.[0]?.members[0]?.since, report?.members[0]?.since);
  assert.equal(health.report('b.com'), null);
  assert.equal(lines.filter((l) => l.event === 'origin.down' || l.event === 'origin.up').length, 1, 'the reload logged no state change');
  health.close();
});

test('<Address2> standbys are members too: judged like the others and shown as Address2', async () => {
  const { log } = recordingLogger();
  const cfg = config(
    '<Vhost Name="s.com"><Origin><Address>10.0.0.1</Address><Address2>10.0.0.9</Address2><Address2>10.0.0.1</Address2></Origin><OriginOptions><Exclusion>2</Exclusion><Recovery>0</Recovery></OriginOptions></Vhost>',
  );
  const health = new OriginHealth(cfg, log, () => undefined);
  await health.apply(cfg);
  const before = health.report('s.com')?.[0];
  assert.deepEqual(before?.members.map((m) => [m.member, m.standby, m.state]), [
    ['10.0.0.1:80', false, 'active'],
    ['10.0.0.9:80', true, 'active'],
  ], 'a standby that is also an <Address> member is that member');
  assert.deepEqual(before?.standbyAddresses, [{ address: '10.0.0.9', state: 'active' }, { address: '10.0.0.1', state: 'active' }]);
  health.receive([
    ['s.com', '10.0.0.9:80', 'connect-fail'],
    ['s.com', '10.0.0.9:80', 'connect-fail'],
  ]);
  assert.deepEqual(health.downSet(), { 's.com': ['10.0.0.9:80'] });
  assert.deepEqual(health.report('s.com')?.[0]?.standbyAddresses[0], { address: '10.0.0.9', state: 'inactive' });
  health.close();
});

test('DNS names are resolved again every <DnsRefresh> of the vhosts that have one; IP literals need no timer', async () => {
  const { log } = recordingLogger();
  let lookups = 0;
  const resolver = async (): Promise<readonly string[]> => {
    lookups++;
    return ['192.0.2.7'];
  };
  const cfg = config(
    '<Vhost Name="n.com"><Origin><Address>origin.test</Address></Origin><OriginOptions><DnsRefresh>1</DnsRefresh></OriginOptions></Vhost>' +
      '<Vhost Name="ip.com"><Origin><Address>10.0.0.1</Address></Origin><OriginOptions><DnsRefresh>30</DnsRefresh></OriginOptions></Vhost>',
  );
  const health = new OriginHealth(cfg, log, () => undefined, resolver);
  health.start();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(lookups, 1);
  const ttl = health.report('n.com')?.[0]?.members[0]?.ttl ?? -1;
  assert.ok(ttl >= 0 && ttl <= 1, `ttl ${ttl} s follows DnsRefresh 1`);
  await new Promise((resolve) => setTimeout(resolve, 1300));
  assert.equal(lookups, 2, 're-resolved after 1 s, not after the old fixed 10 s');
  // A reload to DnsRefresh 5: no lookup within the next 1.3 s beyond the reload's own.
  await health.apply(config('<Vhost Name="n.com"><Origin><Address>origin.test</Address></Origin><OriginOptions><DnsRefresh>5</DnsRefresh></OriginOptions></Vhost>'));
  const afterReload = lookups;
  await new Promise((resolve) => setTimeout(resolve, 1300));
  assert.equal(lookups, afterReload);
  assert.ok((health.report('n.com')?.[0]?.members[0]?.ttl ?? 0) >= 3);
  health.close();
});

// Members below are loopback addresses on port 1 (closed): the recovery probes an exclusion starts are refused.
test('the last active member is never excluded by failures unless Exclusion All="ON" (then it is)', async () => {
  const { log } = recordingLogger();
  const cfg = config(
    '<Vhost Name="one.com"><Origin><Address>127.0.0.1:1</Address></Origin><OriginOptions><Exclusion>2</Exclusion></OriginOptions></Vhost>' +
      '<Vhost Name="two.com"><Origin><Address>127.0.0.2:1</Address><Address>127.0.0.3:1</Address></Origin><OriginOptions><Exclusion>2</Exclusion></OriginOptions></Vhost>' +
      '<Vhost Name="all.com"><Origin><Address>127.0.0.4:1</Address></Origin><OriginOptions><Exclusion All="ON">2</Exclusion></OriginOptions></Vhost>',
  );
  const health = new OriginHealth(cfg, log, () => undefined);
  await health.apply(cfg);
  const fail = (vhost: string, member: string, n: number): void => health.receive(Array.from({ length: n }, () => [vhost, member, 'connect-fail'] as const));
  fail('one.com', '127.0.0.1:1', 10);
  assert.deepEqual(health.downSet(), {}, 'by default the only member stays in');
  assert.equal(health.report('one.com')?.[0]?.members[0]?.consecutiveFailures, 10, 'failures are still counted and shown');
  fail('two.com', '127.0.0.2:1', 2);
  fail('two.com', '127.0.0.3:1', 5);
  assert.deepEqual(health.downSet(), { 'two.com': ['127.0.0.2:1'] }, 'one of two may go; the last one stays');
  fail('all.com', '127.0.0.4:1', 2);
  assert.deepEqual(health.downSet(), { 'all.com': ['127.0.0.4:1'], 'two.com': ['127.0.0.2:1'] }, 'All="ON" excludes the last member');
  health.close();
});

test('all-down trials: one per Recovery Cycle for the vhost, whoever asks; its answer re-admits, its failure does not; never with Recovery 0', async () => {
  const { log, lines } = recordingLogger();
  const pushes: DownSet[] = [];
  const cfg = config(
    '<Vhost Name="t.com"><Origin><Address>127.0.0.1:1</Address><Address>127.0.0.2:1</Address><Address2>127.0.0.9:1</Address2></Origin>' +
      '<OriginOptions><Exclusion All="ON">1</Exclusion><Recovery Cycle="0.3">5</Recovery></OriginOptions></Vhost>' +
      '<Vhost Name="never.com"><Origin><Address>127.0.0.5:1</Address></Origin><OriginOptions><Exclusion All="ON">1</Exclusion><Recovery>0</Recovery></OriginOptions></Vhost>',
  );
  const health = new OriginHealth(cfg, log, (down) => pushes.push(down));
  await health.apply(cfg);
  const before = Date.now();
  assert.equal(health.grantTrial('t.com').member, null, 'nothing to try while a member is up');
  health.receive([
    ['t.com', '127.0.0.1:1', 'connect-fail'],
    ['t.com', '127.0.0.2:1', 'connect-fail'],
    ['t.com', '127.0.0.9:1', 'connect-fail'],
  ]);
  assert.deepEqual(health.downSet()['t.com'], ['127.0.0.1:1', '127.0.0.2:1', '127.0.0.9:1']);
  const first = health.grantTrial('t.com');
  assert.equal(first.member, '127.0.0.1:1', 'an <Address> member first');
  assert.ok(first.retryAt >= before + 300 && first.retryAt <= Date.now() + 300, 'the next one a Recovery Cycle later');
  // Another worker asking within the cycle gets nothing, and is told when to ask again.
  assert.deepEqual(health.grantTrial('t.com'), { member: null, retryAt: first.retryAt });
  // The trial failed: still down, the reason recorded.
  health.receive([['t.com', '127.0.0.1:1', 'connect-fail']]);
  assert.equal(health.report('t.com')?.[0]?.members[0]?.lastError?.reason, 'trial: connect-fail');
  await new Promise((resolve) => setTimeout(resolve, 320));
  const second = health.grantTrial('t.com');
  assert.equal(second.member, '127.0.0.2:1', 'the member tried least recently next');
  // An 'ok' that is not the trial's (127.0.0.1:1, an old transaction) changes nothing; the trial's answer re-admits.
  health.receive([['t.com', '127.0.0.1:1', 'ok']]);
  assert.deepEqual(health.downSet()['t.com'], ['127.0.0.1:1', '127.0.0.2:1', '127.0.0.9:1']);
  health.receive([['t.com', '127.0.0.2:1', 'ok']]);
  assert.deepEqual(health.downSet()['t.com'], ['127.0.0.1:1', '127.0.0.9:1']);
  assert.deepEqual(pushes.at(-1)?.['t.com'], ['127.0.0.1:1', '127.0.0.9:1'], 'pushed to the workers at once');
  const up = lines.filter((l) => l.event === 'origin.up');
  assert.deepEqual(up.map((l) => [l.member, l.reason]), [['127.0.0.2:1', 'a request sent as the all-down trial was answered']]);
  assert.equal(lines.filter((l) => l.event === 'origin.trial').length, 2);
  health.receive([['never.com', '127.0.0.5:1', 'connect-fail']]);
  assert.deepEqual(health.downSet()['never.com'], ['127.0.0.5:1']);
  assert.equal(health.grantTrial('never.com').member, null, 'Recovery 0: an excluded member is never re-admitted, not even by a trial');
  assert.equal(health.grantTrial('nope.com').member, null);
  health.close();
});
