/**
 * @module bench/micro/index-miss-floor
 * The floor of bench/micro/index-miss: the same misses (same keys, records and batches per event-loop turn) on the
 * index bench/floor-cache.ts keeps (one LMDB file, object records and fill leases keyed by the key's hash, a lookup,
 * a lease and a store per miss), so the index's own share of Flint's miss can be read against what the stack needs.
 * Run: `node dist/bench/micro/index-miss-floor.js [misses] [batch]`. Bounded; temp dir removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { keyHash } from '../../src/cache/key.js';
import { fillRecord, objectRecord } from './index-miss-records.js';

const MISSES = Number(process.argv[2] ?? 40_000);
const BATCH = Number(process.argv[3] ?? 17);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flint-index-floor-'));
  const root = open({ path: join(dir, 'floor.lmdb'), noSync: true, overlappingSync: false, noSubdir: true, maxDbs: 2 });
  const objects = root.openDB({ name: 'objects', keyEncoding: 'binary' });
  const fills = root.openDB({ name: 'fills', keyEncoding: 'binary' });
  let steps: Array<() => void> = [];
  let done: Array<() => void> = [];
  const commit = (): void => {
    const s = steps;
    const d = done;
    steps = [];
    done = [];
    root.transactionSync(() => {
      for (const step of s) step();
    });
    for (const then of d) then();
  };
  const inTurn = (step: () => void): Promise<void> =>
    new Promise((resolve) => {
      steps.push(step);
      done.push(resolve);
      if (steps.length === 1) setImmediate(commit);
    });
  try {
    let n = 0;
    const run = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i += BATCH) {
        const turn: Array<Promise<unknown>> = [];
        for (let j = 0; j < BATCH; j++) {
          const key = `bench.local\u0001/c/1k/m/${n++}\0`;
          const hash = keyHash(key);
          const now = Date.now();
          objects.get(hash);
          const lease = fillRecord(key, now);
          turn.push(
            inTurn(() => {
              const current = fills.get(hash) as { until: number } | undefined;
              if (current === undefined || current.until <= now) fills.put(hash, lease);
            }).then(() =>
              inTurn(() => {
                fills.remove(hash);
                objects.put(hash, objectRecord(key, now));
              }),
            ),
          );
        }
        await Promise.all(turn);
      }
    };
    await run(Math.min(5_000, MISSES));
    const before = process.cpuUsage();
    await run(MISSES);
    const cpu = process.cpuUsage(before);
    console.log(`floor: ${MISSES} misses, ${BATCH} per turn: ${((cpu.user + cpu.system) / MISSES).toFixed(1)} µs CPU per miss (user ${(cpu.user / MISSES).toFixed(1)}, system ${(cpu.system / MISSES).toFixed(1)})`);
  } finally {
    await root.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
