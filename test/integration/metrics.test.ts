/**
 * Prometheus /metrics (issue 5 item 8) against real processes with 2 workers: the text passes a strict
 * exposition-format check (families typed before their samples, label syntax, histogram buckets cumulative with
 * +Inf = _count), its counters equal /stats after a known number of requests, latency histograms count every
 * response, origin errors show up per vhost, and a SIGKILLed worker does not make any counter go backwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCacheFlint, waitFor } from '../helpers/cache.js';
import type { FlintProcess, StatsBody } from '../helpers/flint.js';
import { request } from '../helpers/http.js';
import { TestOrigin } from '../helpers/origin.js';

interface Series {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"/;

/** Parses Prometheus text format 0.0.4, throwing on anything malformed. */
function parseExposition(text: string): { types: Map<string, string>; series: Series[] } {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const types = new Map<string, string>();
  const series: Series[] = [];
  const seen = new Set<string>();
  for (const [n, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${n + 1}: ${line}`;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      assert.ok(m !== null, where);
      assert.match(m[2] as string, NAME, where);
      if (m[1] === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] as string), where);
        assert.ok(!types.has(m[2] as string), `TYPE given twice: ${where}`);
        types.set(m[2] as string, m[3] as string);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `malformed sample: ${where}`);
    const name = m[1] as string;
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest !== '') {
      const l = LABEL.exec(rest);
      assert.ok(l !== null, `malformed labels: ${where}`);
      assert.ok(!((l[1] as string) in labels), `duplicate label: ${where}`);
      labels[l[1] as string] = l[2] as string;
      rest = rest.slice(l[0].length);
      if (rest.startsWith(',')) rest = rest.slice(1);
      else assert.equal(rest, '', `junk after labels: ${where}`);
    }
    const raw = m[3] as string;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    assert.ok(raw === 'NaN' || !Number.isNaN(value), `bad value: ${where}`);
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    const type = types.get(family);
    assert.ok(type !== undefined, `sample before its TYPE: ${where}`);
    if (family !== name) assert.ok(type === 'histogram' || type === 'summary', `suffix on a ${type}: ${where}`);
    if (type === 'histogram' && name.endsWith('_bucket')) assert.ok('le' in labels, `bucket without le: ${where}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!seen.has(key), `duplicate series: ${where}`);
    seen.add(key);
    series.push({ name, labels, value });
  }
  // histograms: cumulative buckets, +Inf equals _count
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, Series[]>();
    for (const s of series.filter((x) => x.name === `${family}_bucket`)) {
      const { le: _le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, buckets] of groups) {
      const sorted = [...buckets].sort((a, b) => Number(a.labels.le === '+Inf' ? Infinity : a.labels.le) - Number(b.labels.le === '+Inf' ? Infinity : b.labels.le));
      for (let i = 1; i < sorted.length; i++) assert.ok((sorted[i] as Series).value >= (sorted[i - 1] as Series).value, `${family}${key} buckets not cumulative`);
      const inf = sorted[sorted.length - 1] as Series;
      assert.equal(inf.labels.le, '+Inf', `${family}${key} lacks +Inf`);
      const count = series.find((s) => s.name === `${family}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
      assert.equal(count?.value, inf.value, `${family}${key}: +Inf bucket = _count`);
    }
  }
  return { types, series };
}

function value(series: readonly Series[], name: string, labels: Record<string, string>): number {
  const found = series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(found.length, 1, `one series ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return (found[0] as Series).value;
}

describe('/metrics', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  const scrape = async (): Promise<{ types: Map<string, string>; series: Series[] }> => {
    const res = await fetch(`http://127.0.0.1:${flint.managerPort}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };
  /** /stats once `n` transactions have finished (counters land when a transaction ends). */
  const statsAfter = (n: number): Promise<StatsBody> =>
    waitFor(`${n} finished transactions`, async () => {
      const s = await flint.stats();
      const t = s.totals;
      const finished = (t.responses1xx ?? 0) + (t.responses2xx ?? 0) + (t.responses3xx ?? 0) + (t.responses4xx ?? 0) + (t.responses5xx ?? 0);
      return finished >= n ? s : undefined;
    });

  before(async () => {
    origin = await TestOrigin.start((req, res) => {
      if (req.url?.startsWith('/missing')) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no');
        return;
      }
      res.writeHead(200, { 'cache-control': 'max-age=600', 'content-type': 'text/plain' });
      res.end('x'.repeat(2048));
    });
    const down = { address: '127.0.0.1:1' } as TestOrigin; // nothing listens on port 1: connect refused
    ({ flint, port } = await startCacheFlint(
      [
        { name: 'a.test', origin },
        { name: 'b.test', origin },
        { name: 'down.test', origin: down },
      ],
      { workers: 2 },
    ));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('parses strictly and its counters equal /stats after a known number of requests', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await request({ port, host: 'a.test', path: `/m/${i % 10}` })).status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await request({ port, host: 'b.test', path: `/missing/${i}` })).status, 404);
    for (let i = 0; i < 2; i++) assert.ok((await request({ port, host: 'down.test', path: `/d/${i}` })).status >= 500);
    const stats = await statsAfter(37);
    const { types, series } = await scrape();
    const a = stats.vhosts['a.test'] as unknown as Record<string, number> & { cacheResults: Record<string, number> };
    assert.equal(a.requests, 30);
    assert.equal(value(series, 'flint_requests_total', { vhost: 'a.test' }), 30);
    assert.equal(value(series, 'flint_requests_total', { vhost: 'b.test' }), 5);
    assert.equal(value(series, 'flint_responses_total', { vhost: 'b.test', class: '4xx' }), 5);
    assert.equal(value(series, 'flint_responses_total', { vhost: 'a.test', class: '2xx' }), 30);
    assert.equal(value(series, 'flint_cache_results_total', { vhost: 'a.test', result: 'TCP_HIT' }), a.cacheResults.TCP_HIT);
    assert.equal(value(series, 'flint_cache_results_total', { vhost: 'a.test', result: 'TCP_MISS' }), 10);
    assert.equal(value(series, 'flint_client_out_bytes_total', { vhost: 'a.test' }), a.clientOutBytes);
    assert.equal(value(series, 'flint_origin_in_bytes_total', { vhost: 'a.test' }), a.originInBytes);
    // Origin answers by class: 10 misses of a.test (200), every 404 of b.test (uncacheable by default: each went to the origin).
    assert.equal(value(series, 'flint_origin_responses_total', { vhost: 'a.test', class: '2xx' }), 10);
    assert.equal(a.originResponses2xx, 10);
    assert.equal(value(series, 'flint_origin_responses_total', { vhost: 'b.test', class: '4xx' }), 5);
    assert.equal(value(series, 'flint_origin_responses_total', { vhost: 'down.test', class: '5xx' }), 0, 'a refused connection is an error, not an origin 5xx');
    assert.equal(value(series, 'flint_origin_errors_total', { vhost: 'down.test' }), (stats.vhosts['down.test'] as Record<string, number>).originErrors);
    assert.ok(value(series, 'flint_origin_errors_total', { vhost: 'down.test' }) >= 2);
    assert.equal(value(series, 'flint_origin_errors_total', { vhost: 'a.test' }), 0);
    // every counter family is named *_total
    for (const [family, type] of types) if (type === 'counter' && family.startsWith('flint_')) assert.match(family, /_total$/);
    // latency histograms count every response, in seconds
    assert.equal(types.get('flint_ttfb_seconds'), 'histogram');
    assert.equal(value(series, 'flint_ttfb_seconds_count', { vhost: 'a.test' }), 30);
    assert.equal(value(series, 'flint_response_seconds_count', { vhost: 'a.test' }), 30);
    const sum = value(series, 'flint_response_seconds_sum', { vhost: 'a.test' });
    assert.ok(Math.abs(sum - (a.totalMsSum as number) / 1000) < 1e-6, `sum ${sum} vs ${a.totalMsSum} ms`);
    // process, host, worker and cache figures
    assert.equal(series.filter((s) => s.name === 'flint_worker_up' && s.value === 1).length, 2);
    assert.ok(series.filter((s) => s.name === 'flint_worker_resident_memory_bytes').every((s) => s.value > 1024 * 1024));
    assert.ok(value(series, 'flint_host_cpu_seconds_total', { mode: 'user' }) > 0);
    assert.ok(value(series, 'flint_cache_objects', {}) >= 10);
    assert.ok(series.some((s) => s.name === 'flint_primary_process_resident_memory_bytes'));
    // keep-alive origin connections stay open after the misses (ReuseTimeout 60 s by default)
    assert.ok(value(series, 'flint_origin_connections', { state: 'open' }) >= 1);
    assert.equal(value(series, 'flint_origin_connections', { state: 'active' }), 0, 'no origin request in flight');
  });

  test('a SIGKILLed worker does not make counters go backwards', async () => {
    const before = await statsAfter(37);
    const { series: beforeSeries } = await scrape();
    const total = value(beforeSeries, 'flint_requests_total', { vhost: 'a.test' });
    const victim = before.workers[0]?.pid as number;
    process.kill(victim, 'SIGKILL');
    const replaced = await waitFor('worker 0 replaced', async () => {
      const s = await flint.stats();
      const w = s.workers[0];
      return w !== undefined && w.ready && w.pid !== victim && w.pid !== null ? s : undefined;
    }, 20_000, 100);
    assert.equal((replaced.vhosts['a.test'] as Record<string, number>).requests, total);
    const { series } = await scrape();
    assert.equal(value(series, 'flint_requests_total', { vhost: 'a.test' }), total);
    for (const s of beforeSeries.filter((x) => x.name.startsWith('flint_') && x.name.endsWith('_total') && !x.name.startsWith('flint_worker_'))) {
      const now = series.find((x) => x.name === s.name && JSON.stringify(x.labels) === JSON.stringify(s.labels));
      assert.ok(now !== undefined && now.value >= s.value, `${s.name}${JSON.stringify(s.labels)} went from ${s.value} to ${now?.value}`);
    }
    assert.ok(value(series, 'flint_ttfb_seconds_count', { vhost: 'a.test' }) >= 30);
    for (let i = 0; i < 4; i++) await request({ port, host: 'a.test', path: `/m/${i}` });
    await statsAfter(41);
    assert.equal(value((await scrape()).series, 'flint_requests_total', { vhost: 'a.test' }), total + 4);
  });
});
