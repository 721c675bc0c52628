/**
 * Origin members and balancing with real Flint processes (2 workers) in front of several scripted origins on
 * 127.0.0.1: round robin spreads evenly, Hash sends every URL (and its IgnoreSuffix variants) to the member
 * rendezvous hashing predicts, in both workers and after a restart, and a SIGHUP that removes one of three members
 * moves only that member's URLs; Session mode stays on a member with an idle connection; standbys serve only while every active member is down (the primary excludes the refused actives, tracks the standby, and its recovery probes re-admit an active that is back); OriginAffinity keeps a
 * client IP's bypassed requests on one member; a DNS name (localhost) resolves to IP members.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import { waitFor } from '../helpers/cache.js';
import { rendezvous } from '../../src/origin/selector.js';

/** An origin that answers every request with its own name, uncacheable (so every request reaches an origin). */
async function namedOrigin(name: string, port = 0): Promise<TestOrigin> {
  return TestOrigin.start((_req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.end(name);
  }, port);
}

interface VhostSpec {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly standby?: readonly string[];
  readonly originOptions?: string;
  readonly options?: string;
}

function vhostsXml(port: number, vhosts: readonly VhostSpec[]): string {
  const body = vhosts
    .map(
      (v) => `  <Vhost Name="${v.name}">
    <Listen>127.0.0.1:${port}</Listen>
    <Origin>${v.addresses.map((a) => `<Address>${a}</Address>`).join('')}${(v.standby ?? []).map((a) => `<Address2>${a}</Address2>`).join('')}</Origin>
    <OriginOptions>${v.originOptions ?? ''}</OriginOptions>
    <Options>${v.options ?? ''}</Options>
  </Vhost>`,
    )
    .join('\n');
  return `<Vhosts>\n${body}\n</Vhosts>\n`;
}

async function startFlint(port: number, vhosts: readonly VhostSpec[], workers = 2): Promise<FlintProcess> {
  return FlintProcess.start(({ dir, managerPort }) => ({ server: serverXml({ managerPort, dir, workers }), vhosts: vhostsXml(port, vhosts) }));
}

/** GETs `path` on a new connection and returns the name of the origin that answered (throws on non-200). */
async function servedBy(port: number, host: string, path: string, localAddress?: string): Promise<string> {
  const res = await request({ port, host, path, ...(localAddress === undefined ? {} : { localAddress }) });
  assert.equal(res.status, 200, `${path}: ${res.status} ${res.body.toString()}`);
  return res.body.toString();
}

function tally(names: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return counts;
}

describe('origin balancing', () => {
  const origins: TestOrigin[] = [];
  let flint: FlintProcess | undefined;

  before(async () => {
    for (const name of ['a', 'b', 'c']) origins.push(await namedOrigin(name));
  });

  after(async () => {
    await flint?.stop();
    for (const o of origins) await o.close();
  });

  test('RoundRobin (the default) spreads requests evenly over three members, in two workers', async () => {
    const port = await freePort();
    flint = await startFlint(port, [{ name: 'rr.test', addresses: origins.map((o) => o.address) }]);
    const names: string[] = [];
    for (let i = 0; i < 90; i++) names.push(await servedBy(port, 'rr.test', `/rr/${i}`));
    const counts = tally(names);
    assert.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c']);
    // Each worker cycles through the three members, so each member is within a few requests of a third.
    for (const [name, n] of counts) assert.ok(Math.abs(n - 30) <= 4, `${name} served ${n} of 90`);
    const workers = (await flint.stats()).workers.filter((w) => w.requests > 0);
    assert.equal(workers.length, 2, 'both workers took requests');
    // The access log names the member (ip:port) that served each request.
    const records = await waitFor('access records', () => {
      const r = flint?.accessLog().filter((x) => String(x.url).startsWith('/rr/')) ?? [];
      return r.length >= 90 ? r : undefined;
    });
    const byAddress = new Map(origins.map((o, i) => [o.address, ['a', 'b', 'c'][i]]));
    for (const r of records) assert.ok(byAddress.has(String(r.origin)), `origin field ${String(r.origin)}`);
    await flint.stop();
    flint = undefined;
  });

  test('Hash: each URL goes to the member rendezvous hashing predicts, the same in both workers and after a restart; IgnoreSuffix variants follow their base URL; removing a member moves only its URLs', async () => {
    const port = await freePort();
    const spec = (addresses: readonly string[]): VhostSpec => ({
      name: 'hash.test',
      addresses,
      originOptions: '<BalanceMode>Hash</BalanceMode><BalanceHashRules><IgnoreSuffix>/dims/</IgnoreSuffix></BalanceHashRules>',
    });
    flint = await startFlint(port, [spec(origins.map((o) => o.address))]);
    const nameOf = new Map(origins.map((o, i) => [o.address, ['a', 'b', 'c'][i] ?? '']));
    const members = origins.map((o) => ({ key: o.address }));
    const urls = Array.from({ length: 60 }, (_, i) => `/h/${i}.jpg`);
    const owners = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const url of urls) {
        // Three requests on new connections (spread over both workers) and a /dims/ variant: one member.
        const seen = new Set<string>();
        for (let i = 0; i < 3; i++) seen.add(await servedBy(port, 'hash.test', url));
        seen.add(await servedBy(port, 'hash.test', `${url}/dims/resize/${url.length}`));
        assert.equal(seen.size, 1, `${url} went to ${[...seen].join(', ')}`);
        out.push([...seen][0] ?? '');
      }
      return out;
    };
    const first = await owners();
    assert.deepEqual(first, urls.map((u) => nameOf.get(rendezvous(members, u)?.key ?? '')), 'owners are the rendezvous prediction');
    for (const [name, n] of tally(first)) assert.ok(n >= 8, `${name} owns only ${n} of 60 URLs`);

    await flint.stop(20_000, true);
    flint = await FlintProcess.restart(flint);
    assert.deepEqual(await owners(), first, 'same owners after a restart');

    // SIGHUP with member b removed: only b's URLs move.
    const applied = flint.logs.filter((l) => l.event === 'config.applied').length;
    flint.writeConf('vhosts.xml', vhostsXml(port, [spec([origins[0]?.address ?? '', origins[2]?.address ?? ''])]));
    flint.signal('SIGHUP');
    await waitFor('both workers applied the reload', () => (flint?.logs.filter((l) => l.event === 'config.applied').length ?? 0) >= applied + 2 || undefined);
    const later = await owners();
    let moved = 0;
    first.forEach((owner, i) => {
      if (owner === 'b') {
        moved++;
        assert.notEqual(later[i], 'b');
      } else {
        assert.equal(later[i], owner, `${urls[i]} moved from ${owner} to ${later[i]} although ${owner} stayed`);
      }
    });
    assert.ok(moved >= 8 && moved <= 32, `${moved} of 60 URLs moved (about a third expected)`);
    await flint.stop();
    flint = undefined;
  });

  test('standby <Address2> serves only while every active member is down; traffic returns when one is back', async () => {
    const port = await freePort();
    const standby = await namedOrigin('standby');
    const [a, b] = [origins[0] as TestOrigin, origins[1] as TestOrigin];
    const portA = a.port;
    const portB = b.port;
    // A closed TestOrigin has no address: keep the member keys.
    const [addrA, addrB] = [a.address, b.address];
    let aClosed = false;
    let bClosed = false;
    try {
      // The refused actives are excluded by the primary (<Exclusion> 3); a quick <Recovery> re-admits one that is back.
      flint = await startFlint(port, [
        { name: 'sb.test', addresses: [addrA, addrB], standby: [standby.address], originOptions: '<Exclusion>3</Exclusion><Recovery Cycle="0.2">2</Recovery>' },
      ]);
      const running = flint;
      const origin = async (): Promise<{ Address: unknown[]; Address2: unknown[]; Members: Array<{ Member: string; State: string; Standby: boolean }> }> => {
        const doc = await running.admin<{ result: Array<{ Address: unknown[]; Address2: unknown[]; Members: Array<{ Member: string; State: string; Standby: boolean }> }> }>(
          '/monitoring/origin?vhost=sb.test',
        );
        assert.equal(doc.status, 200);
        const vhost = doc.body.result[0];
        assert.ok(vhost !== undefined);
        return vhost;
      };
      /** Waits until both workers applied a down set of sb.test in which `member` is down (or up), logged at or after `since`. */
      const appliedInBothWorkers = (member: string, down: boolean, since: number): Promise<true> =>
        waitFor(`both workers to apply ${member} ${down ? 'down' : 'up'}`, () => {
          for (const worker of [0, 1]) {
            const line = running.logs.find(
              (l) =>
                l.event === 'origin.health_applied' &&
                l.worker === worker &&
                Date.parse(String(l.time)) >= since - 5 &&
                ((l.down as Record<string, string[]>)['sb.test'] ?? []).includes(member) === down,
            );
            if (line === undefined) return undefined;
          }
          return true;
        });
      // The primary tracks the standby too (STON shows Address2).
      const initial = await origin();
      assert.deepEqual(initial.Address2, [{ [standby.address]: 'Active' }]);
      assert.deepEqual(
        initial.Members.map((m) => [m.Member, m.State, m.Standby]),
        [
          [addrA, 'Active', false],
          [addrB, 'Active', false],
          [standby.address, 'Active', true],
        ],
      );
      const names: string[] = [];
      for (let i = 0; i < 20; i++) names.push(await servedBy(port, 'sb.test', `/sb/${i}`));
      assert.equal(names.includes('standby'), false, 'the standby was used while actives were up');
      const closedAt = Date.now();
      await a.close();
      aClosed = true;
      await b.close();
      bClosed = true;
      const down: string[] = [];
      for (let i = 0; i < 10; i++) down.push(await servedBy(port, 'sb.test', `/sb/down/${i}`));
      assert.deepEqual(new Set(down), new Set(['standby']));
      await appliedInBothWorkers(addrA, true, closedAt);
      await appliedInBothWorkers(addrB, true, closedAt);
      const allOut = await origin();
      assert.deepEqual(allOut.Address, [{ [addrA]: 'Inactive' }, { [addrB]: 'Inactive' }]);
      assert.deepEqual(allOut.Address2, [{ [standby.address]: 'Active' }]);

      const reopenedAt = Date.now();
      origins[0] = await namedOrigin('a', portA);
      aClosed = false;
      await appliedInBothWorkers(addrA, false, reopenedAt);
      const back: string[] = [];
      for (let i = 0; i < 10; i++) back.push(await servedBy(port, 'sb.test', `/sb/back/${i}`));
      assert.deepEqual(new Set(back), new Set(['a']), `after a came back: ${back.join(',')}`);
    } finally {
      await flint?.stop();
      flint = undefined;
      await standby.close();
      // The later tests need a and b listening again, whatever happened here.
      if (aClosed) origins[0] = await namedOrigin('a', portA);
      if (bClosed) origins[1] = await namedOrigin('b', portB);
    }
  });

  test('OriginAffinity: bypassed requests of one client IP stay on one member, other IPs spread; OFF = round robin', async () => {
    const port = await freePort();
    const addresses = origins.slice(0, 2).map((o) => o.address);
    flint = await startFlint(port, [
      { name: 'sticky.test', addresses, options: '<Caching>OFF</Caching>' },
      { name: 'loose.test', addresses, options: '<Caching>OFF</Caching>', originOptions: '<OriginAffinity>OFF</OriginAffinity>' },
    ]);
    const fromOne: string[] = [];
    for (let i = 0; i < 12; i++) fromOne.push(await servedBy(port, 'sticky.test', `/s/${i}`));
    assert.equal(new Set(fromOne).size, 1, `one client, several members: ${fromOne.join(',')}`);
    const fromMany = new Set<string>();
    for (let i = 2; i < 18; i++) {
      const ip = `127.0.0.${i}`;
      const firstName = await servedBy(port, 'sticky.test', '/s/x', ip);
      assert.equal(await servedBy(port, 'sticky.test', '/s/y', ip), firstName, `client ${ip} moved`);
      fromMany.add(firstName);
    }
    assert.equal(fromMany.size, 2, 'sixteen client IPs all landed on one member');
    const loose: string[] = [];
    for (let i = 0; i < 12; i++) loose.push(await servedBy(port, 'loose.test', `/l/${i}`));
    for (const [name, n] of tally(loose)) assert.ok(n >= 4 && n <= 8, `${name} served ${n} of 12 with affinity OFF`);
    await flint.stop();
    flint = undefined;
  });

  test('Session: sequential requests stay on the member whose keep-alive connection is idle; RoundRobin would spread them', async () => {
    const port = await freePort();
    const addresses = origins.map((o) => o.address);
    flint = await startFlint(
      port,
      [
        { name: 'session.test', addresses, originOptions: '<BalanceMode>Session</BalanceMode>' },
        { name: 'rr2.test', addresses },
      ],
      1,
    );
    const session: string[] = [];
    for (let i = 0; i < 12; i++) session.push(await servedBy(port, 'session.test', `/se/${i}`));
    assert.equal(new Set(session).size, 1, `Session mode used ${[...new Set(session)].join(', ')}`);
    const rr: string[] = [];
    for (let i = 0; i < 12; i++) rr.push(await servedBy(port, 'rr2.test', `/rr2/${i}`));
    assert.equal(new Set(rr).size, 3);
    await flint.stop();
    flint = undefined;
  });

  test('a DNS name (localhost) resolves to IP members; the path prefix of the address is kept', async () => {
    const port = await freePort();
    const origin = origins[2] as TestOrigin;
    flint = await startFlint(port, [{ name: 'dns.test', addresses: [`localhost:${origin.port}/pre`] }], 1);
    const before = origin.seen.length;
    const member = await waitFor('the name resolved to 127.0.0.1', async () => {
      await servedBy(port, 'dns.test', '/d');
      const records = flint?.accessLog().filter((r) => r.url === '/d') ?? [];
      const last = records.at(-1);
      return last !== undefined && last.origin === `127.0.0.1:${origin.port}` ? last.origin : undefined;
    });
    assert.equal(member, `127.0.0.1:${origin.port}`);
    assert.ok(origin.seen.slice(before).every((s) => s.url === '/pre/d'), 'the path prefix is sent');
    await flint.stop();
    flint = undefined;
  });
});
