/**
 * @module bench/scenarios/zipf
 * Scenario `zipf`: a cache that cannot hold everything. autocannon (bench/clients/zipf-client.js, its own process)
 * requests `/z/<id>` over 100k objects with Zipf popularity (s 0.9) and a SURGE-like size mix (lib/zipf.ts: 100 B
 * to 4 MiB, mean 47.6 KiB, 4,651 MiB in all), from a seeded PRNG, so every product sees the same sequence. Every
 * product's cache capacity is 10% of the working set's bytes (465 MiB): Flint `<Disk Quota>`, nginx
 * `proxy_cache_path max_size`, Varnish `-s malloc`. So every product must evict, and what is compared is how much
 * it keeps serving from cache and at what CPU cost.
 *
 * Per target: a warm-up phase (seed 1, 2 x --duration, at least 10 s) fills the cache, then the measured phase
 * (seed 2, --duration) runs with CPU samples. Hit ratios come from the origin's counts for `/z/*` (settled after
 * the phase), the same way for every product: request hit ratio = 1 - origin requests / client responses, byte
 * hit ratio = 1 - origin body bytes / client body bytes. The client also counts hits by cache header, as a cross-check.
 * Every response is checked (status 200, size, bytes); a target with a wrong response fails. A response the server
 * cut short by closing the connection is counted apart (`cut responses`, with a note), see clients/zipf-client.ts.
 *
 * A cap is not what a cache holds, so the bytes each one holds are sampled during the measured phase (`stored MiB
 * mean` / `max`, RunningTarget.storedBytes): nginx's cache manager enforces max_size only when it wakes, at most
 * every 10 s, and holds up to twice its cap in between; Flint evicts from HighWater to LowWater, checked every 100 ms.
 */
import { ZIPF_CLIENT_JS, runClient } from '../lib/client.js';
import { originTraffic, settledOriginTraffic, trafficDelta } from '../lib/origin-counts.js';
import { ZIPF_COUNT_PATH, ZIPF_EXPONENT, ZIPF_OBJECTS, zipfSizes } from '../lib/zipf.js';
import { flintTarget, nginxCacheTarget, runCacheScenario, varnishTarget } from './cache-common.js';
import type { ZipfReport } from '../clients/zipf-client.js';
import type { ClientCpu } from '../lib/client.js';
import type { RunRecord } from '../lib/results.js';
import type { BenchOptions, Scenario } from '../lib/scenario.js';
import type { RunningTarget } from '../targets/target.js';
import type { CacheTarget } from './cache-common.js';

const NAME = 'zipf';
const WARMUP_SEED = 1;
const MEASURE_SEED = 2;

/** Cache capacity of every product: 10% of the working set's bytes, in whole MiB. */
export const ZIPF_CAPACITY_MIB = Math.round(zipfSizes().totalBytes / 10 / 1024 ** 2);

/**
 * The standard targets, each with the same capacity, plus Flint 1w variants: two for where it keeps bodies,
 * `flint-1w-b64k` with smaller blocks (`<BlockSize>64K</BlockSize>`) and `flint-1w-i16k` with bodies up to 16 KiB
 * inline in the index record (`<InlineMaxSize>16K</InlineMaxSize>`, the default before 2026-12-01; now 1K), and
 * `flint-1w-w95`, which evicts from 95% to 90% of its quota (the default is 97% to 95%), and `flint-1w-a2`, which
 * stores an object only on its second request (`<Admission>2</Admission>`). One per eviction policy besides the
 * default s3fifo (`flint-1w-lru`, `-sieve`, `-wtinylfu`), and `flint-1w-before`: LRU from 90% to 70%, as before
 * 2026-12-07 (bench/README.md, "Eviction policies").
 */
const TARGETS: readonly CacheTarget[] = [
  nginxCacheTarget('nginx-cache', 1, { lock: true, slice: false, maxSize: `${ZIPF_CAPACITY_MIB}m` }),
  flintTarget(1, { quota: `${ZIPF_CAPACITY_MIB}M` }),
  nginxCacheTarget('nginx-cache-2w', 2, { lock: true, slice: false, maxSize: `${ZIPF_CAPACITY_MIB}m` }),
  flintTarget(2, { quota: `${ZIPF_CAPACITY_MIB}M` }),
  varnishTarget('varnish', ZIPF_CAPACITY_MIB),
  flintTarget(1, { quota: `${ZIPF_CAPACITY_MIB}M`, blockSize: '64K' }, 'flint-1w-b64k'),
  flintTarget(1, { quota: `${ZIPF_CAPACITY_MIB}M`, inlineMax: '16K' }, 'flint-1w-i16k'),
  flintTarget(1, { quota: `${ZIPF_CAPACITY_MIB}M`, water: { high: 95, low: 90 } }, 'flint-1w-w95'),
  flintTarget(1, { quota: `${ZIPF_CAPACITY_MIB}M` }, 'flint-1w-a2', '<Options><Admission>2</Admission></Options>'),
  flintTarget(1, { quota: `${ZIPF_CAPACITY_MIB}M`, policy: 'lru' }, 'flint-1w-lru'),
  flintTarget(1, { quota: `${ZIPF_CAPACITY_MIB}M`, policy: 'sieve' }, 'flint-1w-sieve'),
  flintTarget(1, { quota: `${ZIPF_CAPACITY_MIB}M`, policy: 'wtinylfu' }, 'flint-1w-wtinylfu'),
  flintTarget(1, { quota: `${ZIPF_CAPACITY_MIB}M`, policy: 'lru', water: { high: 90, low: 70 } }, 'flint-1w-before'),
];

/** How often the bytes a cache holds are sampled during a phase. */
const STORED_SAMPLE_MS = 2_000;

/** Mean and peak of the bytes a target's cache held over the samples taken, in MiB. */
interface StoredMiB {
  readonly mean: number;
  readonly max: number;
}

/**
 * One phase of load: the client's report, CPU, the origin's traffic for `/z/*` once settled, and the bytes the cache
 * held, sampled every STORED_SAMPLE_MS while the client ran and once after (the `du` or `varnishstat` this spawns is
 * counted in the client's CPU: ~10 ms per sample).
 */
async function phase(o: BenchOptions, target: RunningTarget, origin: RunningTarget, seed: number, durationS: number) {
  const before = await originTraffic(origin.baseUrl, ZIPF_COUNT_PATH);
  const args = ['--url', target.baseUrl, '--seed', String(seed), '--duration', String(durationS), '--connections', String(o.connections)];
  const samples: number[] = [];
  const sample = async (): Promise<void> => {
    try {
      if (target.storedBytes !== undefined) samples.push(await target.storedBytes());
    } catch {
      // a sample that fails (the target is busy) is left out of the mean and max
    }
  };
  const timer = setInterval(() => void sample(), STORED_SAMPLE_MS);
  let run;
  try {
    run = await runClient<ZipfReport>(args, durationS * 1000, target.pid, origin.pid, ZIPF_CLIENT_JS);
  } finally {
    clearInterval(timer);
  }
  await sample();
  const traffic = trafficDelta(before, await settledOriginTraffic(origin.baseUrl, ZIPF_COUNT_PATH));
  return { ...run, traffic, stored: storedMiB(samples) };
}

function storedMiB(samples: readonly number[]): StoredMiB | null {
  const valid = samples.filter((b) => Number.isFinite(b));
  if (valid.length === 0) return null;
  const mib = (b: number): number => Math.round(b / 1024 ** 2);
  return { mean: mib(valid.reduce((a, b) => a + b, 0) / valid.length), max: mib(Math.max(...valid)) };
}

function ratio(part: number, whole: number): number {
  return whole > 0 ? Math.round((1 - part / whole) * 1000) / 1000 : 0;
}

export const zipf: Scenario = {
  name: NAME,
  summary: `Zipf (s ${ZIPF_EXPONENT}) GETs over ${ZIPF_OBJECTS / 1000}k objects of web-like sizes, cache capacity 10% of the bytes (${ZIPF_CAPACITY_MIB} MiB) everywhere (autocannon): hit ratios, CPU per request`,
  async run(o, log) {
    const warmS = Math.max(10, 2 * o.durationS);
    return runCacheScenario(
      NAME,
      TARGETS,
      o,
      log,
      async (target, origin) => {
        const warm = await phase(o, target, origin, WARMUP_SEED, warmS);
        log(`  ${target.name}: warm-up ${warm.report.responses} responses in ${warmS} s, origin ${(warm.traffic.bytes / 1024 ** 2).toFixed(0)} MiB, request hit ratio ${ratio(warm.traffic.requests, warm.report.responses)}`);
        const rows: RunRecord[] = [];
        for (let round = 1; round <= o.repeat; round++) {
          const { report: r, cpu, command, traffic, stored } = await phase(o, target, origin, MEASURE_SEED + round - 1, o.durationS);
          const notes: string[] = [];
          if (r.wrong > 0) notes.push(`${r.wrong} wrong responses: ${r.problems.join('; ')}`);
          if (r.cut > 0) notes.push(`${r.cut} responses cut short by the server closing the connection, e.g. ${r.cutSamples[0] ?? ''}`);
          if (r.errors > 0 || r.timeouts > 0) notes.push(`${r.errors} errors, ${r.timeouts} timeouts`);
          rows.push({
            scenario: NAME,
            target: target.name,
            workers: target.workers,
            round,
            status: r.wrong === 0 && r.responses > 0 ? 'ok' : 'failed',
            note: notes.join('; '),
            url: `${target.baseUrl}/z/<id>`,
            loadCommand: [command],
            configs: target.configs,
            table: 'figures',
            figures: zipfFigures(r, cpu, traffic, warm.traffic.bytes, stored),
            extra: { report: r, cpu, originTraffic: traffic, stored, warmup: { report: warm.report, cpu: warm.cpu, originTraffic: warm.traffic, stored: warm.stored, durationS: warmS }, capacityMiB: ZIPF_CAPACITY_MIB },
          });
        }
        return rows;
      },
      'figures',
    );
  },
};

/** The table columns of one measured phase. */
function zipfFigures(r: ZipfReport, cpu: ClientCpu, traffic: { requests: number; bytes: number }, warmOriginBytes: number, stored: StoredMiB | null): Record<string, number | string> {
  return {
    'req/s': r.requestsPerSec,
    'MiB/s': Math.round((r.bodyBytes / 1024 ** 2 / Math.max(r.durationS, 0.001)) * 10) / 10,
    'p50 ms': r.latencyMs.p50,
    'p99 ms': r.latencyMs.p99,
    'request hit ratio': ratio(traffic.requests, r.responses).toFixed(3),
    'byte hit ratio': ratio(traffic.bytes, r.bodyBytes).toFixed(3),
    'header hit ratio': (r.responses > 0 ? r.headerHits / r.responses : 0).toFixed(3),
    'cut responses': r.cut,
    'origin req': traffic.requests,
    'origin MiB': Math.round(traffic.bytes / 1024 ** 2),
    'client MiB': Math.round(r.bodyBytes / 1024 ** 2),
    'server CPU s/1k req': r.responses > 0 ? ((cpu.serverCpuS * 1000) / r.responses).toFixed(4) : '',
    'server CPU s': cpu.serverCpuS,
    'client CPU s': cpu.clientCpuS,
    'other CPU s': cpu.otherCpuS,
    'steal s': cpu.stealS,
    'warm-up origin MiB': Math.round(warmOriginBytes / 1024 ** 2),
    'stored MiB mean': stored?.mean ?? '',
    'stored MiB max': stored?.max ?? '',
  };
}
