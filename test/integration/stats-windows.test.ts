/**
 * Stats windows (issue 5 item 7) with real processes and a 100 ms stats bucket (FLINT_STATS_BUCKET_MS), so a
 * "second" is 100 ms and a "minute" 6 s: /monitoring/realtime follows traffic and falls back to zero after it,
 * /monitoring/average counts exactly the requests of its window and decays, the vhost filter separates vhosts,
 * XML is well-formed and mirrors the JSON, /stats carries the windows, and bad query parameters get 400/404.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { startCacheFlint, waitFor } from '../helpers/cache.js';
import type { FlintProcess } from '../helpers/flint.js';
import { sleep } from '../helpers/flint.js';
import { request } from '../helpers/http.js';
import { TestOrigin } from '../helpers/origin.js';

type Named = Record<'requests' | 'responses2xx' | 'clientOutBytes', number> & Record<string, number>;
interface Figures {
  counts: Named;
  perSecond: Named;
  cacheResults: Record<string, number>;
  ttfbMs: number;
  totalMs: number;
  requestHitRatio: number;
  byteHitRatio: number;
}
interface WindowDoc {
  kind: string;
  minutes?: number;
  bucketMs: number;
  seconds: number;
  host: Figures & {
    system: { memory: { totalBytes: number } };
    workers: Array<{ pid: number; rssBytes: number }>;
    originSessions: { open: number; active: number };
  };
  vhosts: Array<Figures & { name: string }>;
}

const BUCKET_MS = 100;

describe('stats windows (100 ms buckets)', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const get = async (path: string): Promise<{ status: number; type: string; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${flint.managerPort}${path}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  const doc = async (path: string): Promise<WindowDoc> => {
    const res = await get(path);
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    return JSON.parse(res.text) as WindowDoc;
  };
  const vhostOf = (d: WindowDoc, name: string): Figures & { name: string } => {
    const v = d.vhosts.find((x) => x.name === name);
    assert.ok(v !== undefined, `vhost ${name} in ${JSON.stringify(d.vhosts.map((x) => x.name))}`);
    return v;
  };

  before(async () => {
    process.env.FLINT_STATS_BUCKET_MS = String(BUCKET_MS);
    origin = await TestOrigin.start((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'text/plain' });
      res.end(`body of ${req.url ?? ''}`.padEnd(1000, '.'));
    });
    ({ flint, port } = await startCacheFlint([{ name: 'a.test', origin }, { name: 'b.test', origin }], { workers: 2 }));
    delete process.env.FLINT_STATS_BUCKET_MS;
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('realtime follows traffic on one vhost only and falls back to zero after it', async () => {
    const idle = await doc('/monitoring/realtime?type=json');
    assert.equal(idle.kind, 'realtime');
    assert.equal(idle.bucketMs, BUCKET_MS);
    assert.equal(idle.host.perSecond.requests, 0);
    let stop = false;
    let sent = 0;
    const traffic = (async () => {
      while (!stop) {
        await request({ port, host: 'a.test', path: `/rt/${sent % 20}` });
        sent++;
      }
    })();
    try {
      const busy = await waitFor('realtime requests on a.test', async () => {
        const d = await doc('/monitoring/realtime?type=json&vhost=a.test');
        return (d.vhosts[0]?.perSecond.requests ?? 0) > 0 ? d : undefined;
      });
      assert.deepEqual(busy.vhosts.map((v) => v.name), ['a.test'], 'the vhost filter shows only a.test');
      assert.ok(busy.seconds > 0 && busy.seconds < 1, `a realtime window is one bucket, got ${busy.seconds} s`);
      assert.ok(busy.host.perSecond.requests > 0);
      const other = await doc('/monitoring/realtime?vhost=b.test');
      assert.equal(vhostOf(other, 'b.test').perSecond.requests, 0, 'b.test had no traffic');
      const rt = vhostOf(busy, 'a.test');
      assert.ok(rt.perSecond.clientOutBytes >= rt.perSecond.responses2xx * 1000 * 0.5, 'bytes move with responses');
    } finally {
      stop = true;
      await traffic;
    }
    assert.ok(sent > 0);
    await waitFor('realtime back to zero', async () => {
      const d = await doc('/monitoring/realtime?type=json');
      return d.host.perSecond.requests === 0 && vhostOf(d, 'a.test').perSecond.requests === 0 ? d : undefined;
    }, 5000);
  });

  test('the 1-minute average counts exactly the requests of its window, decays after it, the 5-minute one keeps them', async () => {
    const N = 40;
    for (let i = 0; i < N; i++) assert.equal((await request({ port, host: 'b.test', path: `/avg/${i % 10}` })).status, 200);
    const counted = await waitFor(`${N} requests in the 1-minute average of b.test`, async () => {
      const d = await doc('/monitoring/average?type=json&min=1&vhost=b.test');
      return vhostOf(d, 'b.test').counts.requests === N ? d : undefined;
    }, 5000);
    const b = vhostOf(counted, 'b.test');
    assert.equal(counted.kind, 'average');
    assert.equal(counted.minutes, 1);
    assert.equal(b.counts.responses2xx, N);
    assert.equal(b.cacheResults.TCP_MISS, 10, '10 distinct URLs were fetched once');
    assert.equal(b.cacheResults.TCP_HIT, N - 10);
    assert.equal(b.requestHitRatio, 0.75);
    assert.ok(b.ttfbMs > 0 && b.totalMs >= b.ttfbMs, `ttfb ${b.ttfbMs} total ${b.totalMs}`);
    assert.ok(Math.abs(b.perSecond.requests - N / counted.seconds) < 0.01, 'perSecond = counts / seconds');
    // a "minute" is 60 buckets = 6 s: the 1-minute window lets go of the burst, the 5-minute one (30 s) keeps it
    await waitFor('1-minute average of b.test back to zero', async () => {
      const d = await doc('/monitoring/average?min=1&vhost=b.test');
      return vhostOf(d, 'b.test').counts.requests === 0 ? d : undefined;
    }, 20_000, 200);
    const five = await doc('/monitoring/average?min=5&vhost=b.test,a.test');
    assert.equal(vhostOf(five, 'b.test').counts.requests, N);
    assert.deepEqual(five.vhosts.map((v) => v.name), ['b.test', 'a.test'], 'several vhosts, in the order asked');
  });

  test('any n from 1 to 60 minutes is served and covers at least n minutes once Flint is that old', async () => {
    for (const min of [1, 2, 7, 60]) {
      const d = await doc(`/monitoring/average?type=json&min=${min}`);
      assert.equal(d.minutes, min);
      const uptime = ((await flint.stats()) as unknown as { uptimeSec: number }).uptimeSec;
      // younger than n minutes: the window is everything since start
      if (uptime * 1000 < min * 60 * BUCKET_MS) assert.ok(d.seconds <= uptime + 1);
      else assert.ok(d.seconds >= (min * 60 * BUCKET_MS) / 1000 - 0.2, `min=${min}: ${d.seconds} s`);
    }
  });

  test('XML is well-formed and mirrors the JSON', async () => {
    // the 5-minute window of b.test is stable now (its burst ended seconds ago and is 30 s inside the window)
    const path = '/monitoring/average?min=5&vhost=b.test';
    const xml = await get(`${path}&type=xml`);
    assert.equal(xml.status, 200);
    assert.match(xml.type, /^application\/xml/);
    assert.equal(XMLValidator.validate(xml.text), true);
    const json = await doc(`${path}&type=json`);
    const parsed = (new XMLParser({ isArray: (name) => name === 'vhosts' || name === 'workers' }).parse(xml.text) as { Stats: WindowDoc }).Stats;
    const keys = (value: unknown, prefix = ''): string[] =>
      typeof value !== 'object' || value === null
        ? [prefix]
        : Object.entries(value).flatMap(([k, v]) => keys(v, Array.isArray(value) ? prefix : `${prefix}/${k}`));
    assert.deepEqual([...new Set(keys(parsed))].sort(), [...new Set(keys(json))].sort(), 'same element paths as the JSON keys');
    assert.deepEqual(vhostOf(parsed, 'b.test').counts, vhostOf(json, 'b.test').counts);
    assert.deepEqual(vhostOf(parsed, 'b.test').cacheResults, vhostOf(json, 'b.test').cacheResults);
    const rt = await get('/monitoring/realtime?type=xml');
    assert.equal(XMLValidator.validate(rt.text), true);
    assert.match(rt.text, /<kind>realtime<\/kind>/);
  });

  test('/stats carries realtime, 1- and 5-minute windows, totals, host and per-worker figures', async () => {
    const stats = (await flint.stats()) as unknown as {
      totals: { requests: number };
      realtime: WindowDoc;
      average1: WindowDoc;
      average5: WindowDoc;
      workers: Array<{ pid: number; cpuSeconds: number; rssBytes: number }>;
    };
    assert.equal(stats.realtime.kind, 'realtime');
    assert.equal(stats.average1.minutes, 1);
    assert.equal(stats.average5.minutes, 5);
    assert.ok(stats.totals.requests >= 40);
    assert.ok(stats.realtime.host.system.memory.totalBytes > 0);
    // a miss leaves a keep-alive origin connection open (the test origin closes idle ones after 5 s)
    assert.equal((await request({ port, host: 'a.test', path: '/fresh-miss' })).status, 200);
    const open = ((await flint.stats()) as unknown as { realtime: WindowDoc }).realtime.host.originSessions;
    assert.ok(open.open >= 1 && open.active <= open.open, JSON.stringify(open));
    assert.equal(stats.workers.length, 2);
    for (const w of stats.workers) assert.ok(w.cpuSeconds > 0 && w.rssBytes > 1024 * 1024, JSON.stringify(w));
    assert.equal(stats.average5.host.workers.length, 2);
    assert.ok(stats.average5.host.workers.every((w) => w.rssBytes > 0));
  });

  test('workers report their garbage collections: /stats totals, GC % in the windows, /metrics counters', async () => {
    // ~1,000 misses allocate tens of MB across the two workers: every worker collects garbage.
    const paths = Array.from({ length: 1000 }, (_, i) => `/gc-${i}`);
    for (let i = 0; i < paths.length; i += 20) {
      const batch = await Promise.all(paths.slice(i, i + 20).map((path) => request({ port, host: 'a.test', path })));
      for (const res of batch) assert.equal(res.status, 200);
    }
    type GcWorker = { index: number; pid: number; cpuSeconds: number; gcSeconds: number; gcs: number; majorGcs: number };
    const stats = await waitFor('GC figures from both workers', async () => {
      const s = (await flint.stats()) as unknown as { workers: GcWorker[] };
      return s.workers.length === 2 && s.workers.every((w) => w.gcs > 0) ? s : undefined;
    });
    for (const w of stats.workers) {
      assert.ok(w.gcSeconds > 0 && w.gcSeconds < w.cpuSeconds, `GC pauses are part of the CPU time: ${JSON.stringify(w)}`);
      assert.ok(w.majorGcs >= 0 && w.majorGcs <= w.gcs, JSON.stringify(w));
    }
    // A few scavenges of a millisecond in a 6 s window round to 0.0%: the window only has to carry the share.
    const window = (await doc('/monitoring/average?min=1')).host.workers as unknown as Array<{ pid: number; cpuPercent: number; gcPercent: number }>;
    assert.equal(window.length, 2);
    for (const w of window) assert.ok(typeof w.gcPercent === 'number' && w.gcPercent >= 0 && w.gcPercent <= w.cpuPercent + 0.1, JSON.stringify(w));
    const metrics = await (await fetch(`http://127.0.0.1:${flint.managerPort}/metrics`)).text();
    for (const { index } of stats.workers) {
      const line = new RegExp(`^flint_worker_gc_seconds_total\\{worker="${index}"\\} ([0-9.e+-]+)$`, 'm').exec(metrics);
      assert.ok(line !== null && Number(line[1]) > 0, `flint_worker_gc_seconds_total for worker ${index}`);
    }
    assert.match(metrics, /^flint_worker_major_gcs_total\{worker="0"\} \d+$/m);
  });

  test('bad query parameters get 400, unknown vhosts 404', async () => {
    for (const path of [
      '/monitoring/realtime?type=yaml',
      '/monitoring/realtime?min=5',
      '/monitoring/realtime?type=json&type=xml',
      '/monitoring/average?min=0',
      '/monitoring/average?min=61',
      '/monitoring/average?min=1.5',
      '/monitoring/average?min=abc',
      '/monitoring/average?min=5&foo=1',
      '/monitoring/average?vhost=a.test,,b.test',
      '/metrics?x=1',
    ]) {
      const res = await get(path);
      assert.equal(res.status, 400, `${path}: ${res.status} ${res.text}`);
      assert.match((JSON.parse(res.text) as { error: string }).error, /\w/);
    }
    const unknown = await get('/monitoring/average?min=1&vhost=a.test,nope.test');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /nope\.test/);
    const escaped = await get('/monitoring/realtime?type=xml&vhost=%3Cb%26d%3E');
    assert.equal(escaped.status, 404);
    assert.equal(XMLValidator.validate(escaped.text), true, 'markup in a vhost name is escaped');
    assert.match(escaped.text, /&lt;b&amp;d&gt;/);
    await sleep(0);
  });
});
