/**
 * Origin failover with real Flint processes and scripted origins on 127.0.0.1: a refused member is retried on
 * another (`<Retry>`; the client gets 200, `<Retry>0` shows the failure), a killed member costs no failed request,
 * and with every member down a cached object is served stale with the ConnectTimeout extension while an uncached
 * URL gets a fast 503, remembered for `<TTL><ConnectTimeout>` seconds (the origin is not asked again meanwhile); a
 * member that is back serves once the primary's recovery probes re-admit it.
 * Failover times are measured and printed (test diagnostics).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { FlintProcess, serverXml, sleep } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import { cacheStatus, waitFor } from '../helpers/cache.js';

async function namedOrigin(name: string, port = 0, cacheControl = 'no-store'): Promise<TestOrigin> {
  return TestOrigin.start((_req, res) => {
    res.setHeader('cache-control', cacheControl);
    res.end(name);
  }, port);
}

function vhostXml(port: number, name: string, addresses: readonly string[], extra = ''): string {
  return `  <Vhost Name="${name}">
    <Listen>127.0.0.1:${port}</Listen>
    <Origin>${addresses.map((a) => `<Address>${a}</Address>`).join('')}</Origin>
    ${extra}
  </Vhost>`;
}

async function startFlint(vhosts: readonly string[], workers = 2): Promise<FlintProcess> {
  return FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers }),
    vhosts: `<Vhosts>\n${vhosts.join('\n')}\n</Vhosts>\n`,
  }));
}

describe('origin failover', () => {
  const cleanup: Array<() => Promise<unknown>> = [];

  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  test('a refused member is retried on another (the client gets 200); <Retry>0 passes the failure on', async () => {
    const live = await namedOrigin('live');
    cleanup.push(() => live.close());
    const dead = `127.0.0.1:${await freePort()}`;
    const port = await freePort();
    const flint = await startFlint([
      vhostXml(port, 'retry.test', [dead, live.address]),
      vhostXml(port, 'noretry.test', [dead, live.address], '<OriginOptions><Retry>0</Retry></OriginOptions>'),
    ]);
    cleanup.push(() => flint.stop());
    for (const method of ['GET', 'POST']) {
      for (let i = 0; i < 12; i++) {
        // GET (cache flow) and DELETE without a body (bypass) are both transactions that never started.
        const res = await request({ port, host: 'retry.test', path: `/r/${method}/${i}`, method: method === 'GET' ? 'GET' : 'DELETE' });
        assert.equal(res.status, 200, `${method} #${i}: ${res.status} ${res.body.toString()}`);
        assert.equal(res.body.toString(), 'live');
      }
    }
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await request({ port, host: 'noretry.test', path: `/n/${i}` })).status);
    assert.ok(statuses.includes(502), `Retry 0 never showed the refused member: ${statuses.join(',')}`);
    assert.ok(statuses.includes(200));
    assert.deepEqual(new Set(statuses), new Set([200, 502]));
  });

  test('a killed member costs no failed request; every member down: stale served with the extension, uncached 503 fast and remembered', async (t) => {
    const a = await namedOrigin('a', 0, 'max-age=1');
    const b = await namedOrigin('b', 0, 'max-age=1');
    const port = await freePort();
    // One worker: the remembered failure (negative cache) is per worker. The refused connections exclude the members
    // in the primary (<Exclusion> 3); a quick <Recovery> (2 good probes, 0.2 s apart) re-admits one that is back.
    const flint = await startFlint(
      [
        vhostXml(
          port,
          'fo.test',
          [a.address, b.address],
          '<Options><TTL><ConnectTimeout>2</ConnectTimeout></TTL></Options><OriginOptions><Exclusion>3</Exclusion><Recovery Cycle="0.2">2</Recovery></OriginOptions>',
        ),
      ],
      1,
    );
    cleanup.push(() => flint.stop());
    cleanup.push(() => b.close());
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    cleanup.push(async () => agent.destroy());

    // Cached objects for the all-down part.
    for (let i = 0; i < 4; i++) assert.equal((await request({ port, host: 'fo.test', path: `/cached/${i}`, agent })).status, 200);

    // A loop of distinct URLs; member a is killed in the middle.
    let n = 0;
    const run = async (until: () => boolean, onServed: (name: string, at: number) => void): Promise<number> => {
      let failures = 0;
      while (!until()) {
        const res = await request({ port, host: 'fo.test', path: `/loop/${n++}`, agent });
        if (res.status !== 200) failures++;
        else onServed(res.body.toString(), performance.now());
      }
      return failures;
    };
    const before = await run(() => n >= 20, () => undefined);
    assert.equal(before, 0);
    const portA = a.port;
    const addressA = a.address;
    const killedAt = performance.now();
    await a.close();
    let firstByB = 0;
    let served = 0;
    const failures = await run(() => served >= 20, (name, at) => {
      assert.equal(name, 'b', 'a served after it was killed');
      if (firstByB === 0) firstByB = at;
      served++;
    });
    assert.equal(failures, 0, 'requests failed while a member was killed');
    const failoverMs = firstByB - killedAt;
    t.diagnostic(`failover: member killed -> first request served by another member: ${failoverMs.toFixed(1)} ms`);

    // Every member down. The cached objects are stale by now (max-age=1).
    await waitFor('the cached objects are stale', async () => ((await sleep(100), performance.now() - killedAt > 1200) ? true : undefined));
    const allDownAt = performance.now();
    await b.close();
    const stale = await request({ port, host: 'fo.test', path: '/cached/0', agent });
    const staleMs = performance.now() - allDownAt;
    t.diagnostic(`failover: all members down -> first stale answer: ${staleMs.toFixed(1)} ms`);
    assert.equal(stale.status, 200);
    assert.match(stale.body.toString(), /^[ab]$/);
    assert.match(cacheStatus(stale), /fwd=stale/);
    // Extended by ConnectTimeout (2 s): the next request is a plain hit, no origin attempt.
    const again = await request({ port, host: 'fo.test', path: '/cached/0', agent });
    assert.equal(again.status, 200);
    assert.match(cacheStatus(again), /^flint; hit/);
    assert.doesNotMatch(cacheStatus(again), /fwd=/);

    const t0 = performance.now();
    const uncached = await request({ port, host: 'fo.test', path: '/never', agent });
    const uncachedMs = performance.now() - t0;
    t.diagnostic(`all members down -> uncached 503 in ${uncachedMs.toFixed(1)} ms`);
    assert.equal(uncached.status, 503, uncached.body.toString());
    assert.equal(uncached.body.toString(), '503 Service Unavailable: no origin available\n');
    assert.ok(uncachedMs < 1000, `503 took ${uncachedMs} ms`);

    // The failure is remembered: with a member back, /never still fails fast without reaching it...
    const backAt = Date.now();
    const back = await namedOrigin('a', portA);
    cleanup.push(() => back.close());
    const remembered = await request({ port, host: 'fo.test', path: '/never', agent });
    assert.equal(remembered.status, 503);
    assert.equal(back.seen.filter((s) => s.url === '/never').length, 0, 'the origin was asked during the negative TTL');
    // ...the primary had excluded a (refused connections) and re-admits it after its recovery probes; the worker
    // then sends other URLs to it, and after ConnectTimeout /never too.
    const excluded = flint.logs.filter((l) => l.event === 'origin.down' && l.member === addressA);
    assert.equal(excluded.length, 1, 'the killed member was excluded once');
    await waitFor('a re-admitted in the worker', () =>
      flint.logs.find(
        (l) => l.event === 'origin.health_applied' && Date.parse(String(l.time)) >= backAt - 5 && !((l.down as Record<string, string[]>)['fo.test'] ?? []).includes(addressA),
      ),
    );
    assert.ok(back.seen.some((s) => s.url === '/'), 'recovery probes reached the member');
    assert.equal((await request({ port, host: 'fo.test', path: '/other', agent })).status, 200);
    const recovered = await waitFor('/never served after the negative TTL', async () => {
      const res = await request({ port, host: 'fo.test', path: '/never', agent });
      return res.status === 200 ? performance.now() - t0 : (await sleep(100), undefined);
    }, 10_000);
    assert.ok(recovered >= 1500, `the failure was remembered only ${recovered} ms`);
  });
});
