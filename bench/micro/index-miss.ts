/**
 * @module bench/micro/index-miss
 * The index's share of a plain 1 KiB miss, in-process: for each of N distinct objects, the fill lease
 * (acquireLeaseBatched) and the commit of an inline record (commit), `BATCH` of each per event-loop turn as the
 * worker's per-turn write batch shares them (the `miss` bench at 50 connections), plus the three lookups a miss makes
 * first (Vary names, object, fill record). Reports CPU microseconds per miss (process.cpuUsage, so other processes
 * on a busy machine inflate it less than wall time would). Run: `node dist/bench/micro/index-miss.js [misses] [batch]`.
 * Bounded: a fixed number of misses, in a temp dir removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheIndex } from '../../src/cache/index.js';
import { keyHash } from '../../src/cache/key.js';
import { fillRecord, objectRecord } from './index-miss-records.js';

const MISSES = Number(process.argv[2] ?? 40_000);
const BATCH = Number(process.argv[3] ?? 17);
async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flint-index-miss-'));
  const index = new CacheIndex(dir);
  const alive = (): boolean => true;
  try {
    let n = 0;
    const run = async (count: number): Promise<void> => {
      for (let done = 0; done < count; done += BATCH) {
        const turn: Array<Promise<unknown>> = [];
        for (let i = 0; i < BATCH; i++) {
          const primary = `bench.local\u0001/c/1k/m/${n++}`;
          const key = `${primary}\0`;
          const hash = keyHash(key);
          const primaryHash = keyHash(primary);
          const now = Date.now();
          index.getVary(primaryHash);
          index.getObject(hash);
          index.getFill(hash);
          turn.push(index.acquireLeaseBatched(hash, fillRecord(key, now), now, alive).then(() => index.commit(hash, primaryHash, [], objectRecord(key, now), { hash, id: `${process.pid}-${key}` }, now)));
        }
        await Promise.all(turn);
      }
    };
    await run(Math.min(5_000, MISSES));
    const before = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await run(MISSES);
    const cpu = process.cpuUsage(before);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const perMiss = (cpu.user + cpu.system) / MISSES;
    console.log(`${MISSES} misses, ${BATCH} per turn: ${perMiss.toFixed(1)} µs CPU per miss (user ${(cpu.user / MISSES).toFixed(1)}, system ${(cpu.system / MISSES).toFixed(1)}), wall ${(wallMs * 1000 / MISSES).toFixed(1)} µs`);
  } finally {
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
