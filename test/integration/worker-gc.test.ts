/**
 * `<Cache><ParallelGc>`: workers run V8 with --single-threaded-gc unless it is ON (primary/supervisor.ts
 * workerExecArgv). Read from each real worker's /proc/<pid>/cmdline, also after a worker is killed and restarted;
 * the primary's own options stay as it was started.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { startCacheFlint, startRoutedOrigin } from '../helpers/cache.js';
import type { FlintProcess } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';

const FLAG = '--single-threaded-gc';

function argvOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
}

async function workerPids(flint: FlintProcess, count: number, exclude: ReadonlySet<number> = new Set()): Promise<number[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const workers = (await flint.stats()).workers;
    const pids = workers.filter((w) => w.ready && w.pid !== null && !exclude.has(w.pid)).map((w) => w.pid as number);
    if (pids.length === count) return pids;
    if (Date.now() > deadline) throw new Error(`workers not ready: ${JSON.stringify(workers)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('worker garbage collection (<ParallelGc>)', () => {
  const started: FlintProcess[] = [];
  let origin: TestOrigin | undefined;

  after(async () => {
    for (const flint of started) await flint.stop();
    await origin?.close();
  });

  test('by default every worker, also a restarted one, runs with --single-threaded-gc; the primary does not', async () => {
    origin ??= await startRoutedOrigin({});
    const { flint } = await startCacheFlint([{ name: 'gc.test', origin }], { workers: 2 });
    started.push(flint);
    const pids = await workerPids(flint, 2);
    for (const pid of pids) assert.ok(argvOf(pid).includes(FLAG), `worker ${pid}: ${argvOf(pid).join(' ')}`);
    assert.ok(!argvOf(flint.pid).includes(FLAG), 'the primary keeps its own options');
    process.kill(pids[0] as number, 'SIGKILL');
    const [restarted] = await workerPids(flint, 1, new Set(pids));
    assert.ok(argvOf(restarted as number).includes(FLAG), `restarted worker: ${argvOf(restarted as number).join(' ')}`);
  });

  test('<ParallelGc>ON</ParallelGc> keeps V8 default (helper threads): no flag', async () => {
    origin ??= await startRoutedOrigin({});
    const { flint } = await startCacheFlint([{ name: 'gc.test', origin }], { cacheExtra: '<ParallelGc>ON</ParallelGc>' });
    started.push(flint);
    const [pid] = await workerPids(flint, 1);
    assert.ok(!argvOf(pid as number).includes(FLAG), argvOf(pid as number).join(' '));
  });
});
