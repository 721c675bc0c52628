/**
 * MP4 builders on a 1-hour file (issue 22, "trimming latency for a 1-hour file"): times parseMovie (the moov read
 * from disk and expanded), the sample tables' memory, relocatePlan, and trimPlan/trimMovie for a 60 s clip in the
 * middle, two joined clips and the whole file. Pure functions, no HTTP: the pipeline's end-to-end numbers add the
 * block-cache reads and delivery on top. The first call of each is reported apart (a cold worker: JIT not warm).
 * Run: npm run build && node --expose-gc dist/bench/media-mp4.js [file.mp4]
 * Without a file it makes /tmp/flint-bench-hour.mp4 once (64x64, 25 fps, GOP 2 s, H.264 + AAC, ~1 min of ffmpeg).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseMovie } from '../src/media/mp4/parse.js';
import { relocatePlan } from '../src/media/mp4/relocate.js';
import { trimMovie, trimPlan } from '../src/media/mp4/trim.js';
import type { Clip, RangeReader } from '../src/media/types.js';

const RUNS = 25;
const DEFAULT_FILE = '/tmp/flint-bench-hour.mp4';

function makeHourFile(path: string): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440',
    '-t', '3600', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-c:a', 'aac', '-b:a', '32k', path], { stdio: 'inherit' });
}

interface Timing<T> {
  readonly value: T;
  /** Wall and CPU (user + system) milliseconds of the first call and the median call. */
  readonly first: [number, number];
  readonly median: [number, number];
}

/** Runs f RUNS times. CPU time is reported next to wall time: on a shared machine the wall time is mostly waiting. */
async function timed<T>(f: () => T | Promise<T>): Promise<Timing<T>> {
  const runs: Array<[number, number]> = [];
  let value: T | undefined;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    value = await f();
    const cpu = process.cpuUsage(c);
    runs.push([performance.now() - t, (cpu.user + cpu.system) / 1000]);
  }
  const first = runs[0] as [number, number];
  runs.sort((a, b) => a[1] - b[1]);
  return { value: value as T, first, median: runs[RUNS >> 1] as [number, number] };
}

const fmt = (t: Timing<unknown>): string =>
  `first ${t.first[0].toFixed(1)} ms wall / ${t.first[1].toFixed(1)} ms CPU, median ${t.median[0].toFixed(1)} ms wall / ${t.median[1].toFixed(1)} ms CPU`;

async function main(): Promise<void> {
  const path = process.argv[2] ?? DEFAULT_FILE;
  if (!process.argv[2] && !existsSync(path)) makeHourFile(path);
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  const read: RangeReader = async (offset, length) => {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const movie = await parseMovie(read, size);
  gc?.();
  const after = process.memoryUsage();
  const parsed = await timed(() => parseMovie(read, size));
  let tableBytes = 0;
  for (const t of movie.tracks) {
    const s = t.samples;
    tableBytes += s.offset.byteLength + s.size.byteLength + s.dts.byteLength + s.ctsOffset.byteLength + s.duration.byteLength + s.sync.byteLength;
  }
  console.log(`file ${path}: ${(size / 1e6).toFixed(1)} MB, ${movie.durationSec.toFixed(1)} s, moov ${(movie.moov.length / 1e6).toFixed(2)} MB, samples ${movie.tracks.map((t) => t.samples.count).join(' + ')}`);
  console.log(`parseMovie: ${fmt(parsed)} (first = the first of ${RUNS} after one warm-up parse)`);
  console.log(`memory of one parse: sample tables ${(tableBytes / 1e6).toFixed(1)} MB, ` +
    `heap +${((after.heapUsed - before.heapUsed) / 1e6).toFixed(1)} MB, array buffers +${((after.arrayBuffers - before.arrayBuffers) / 1e6).toFixed(1)} MB (moov + tables), rss ${(after.rss / 1e6).toFixed(0)} MB`);
  const rel = await timed(() => relocatePlan(movie));
  console.log(`relocatePlan: ${fmt(rel)}${rel.value ? '' : ' (already faststart: no plan)'}`);
  const cases: Array<[string, Clip[]]> = [
    ['60 s in the middle', [{ startSec: 1800, endSec: 1860 }]],
    ['10-70,560-620', [{ startSec: 10, endSec: 70 }, { startSec: 560, endSec: 620 }]],
    ['whole file', [{ startSec: 0, endSec: Infinity }]],
  ];
  for (const [name, clips] of cases) {
    const plan = await timed(() => trimPlan(movie, clips, { allTracks: false }));
    const tm = await timed(() => trimMovie(movie, clips, { allTracks: false }));
    console.log(`trimPlan ${name}: ${fmt(plan)} (${((plan.value?.size ?? 0) / 1e6).toFixed(1)} MB, ${plan.value?.parts.length ?? 0} parts)`);
    console.log(`trimMovie ${name}: ${fmt(tm)}`);
  }
  closeSync(fd);
}

await main();
