/**
 * Media bench (issue 22), bounded: a real Flint (1 worker) and a loopback origin (test/helpers/media.ts).
 * 1. HLS segment requests from cache against plain hits on a stored object of the same size (what serving the
 *    segment as a cached derived variant would cost): wrk, alternating A/B rounds, Flint CPU per request from /proc.
 *    nginx-vod-module is not packaged by Debian (`apt-cache search vod`), so plain hits are the peer.
 * 2. Latency of trimming and of HLS on a 1-hour file (made once in /tmp by ffmpeg, tiny resolution): the first
 *    request (its moov parsed from cached blocks) and later ones (index kept in worker memory).
 * Run: npm run build && nice -n 5 node dist/bench/media.js [seconds per round] [rounds]
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { FlintProcess, serverXml, vhostXml } from '../test/helpers/flint.js';
import { request } from '../test/helpers/http.js';
import { MediaOrigin, makeMedia } from '../test/helpers/media.js';
import { freePort } from '../test/helpers/ports.js';
import { treeCpuSeconds } from './lib/cpu.js';

const run = promisify(execFile);
const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 3);
const HOUR_FILE = '/tmp/flint-media-bench/hour.mp4';
const HOST = 'bench.test';
const MEDIA = `<Media>
  <MP4Trimming>ON</MP4Trimming>
  <MP4HLS Status="Active" Keyword="mp4hls"><Duration>6</Duration></MP4HLS>
</Media>`;

async function wrk(port: number, path: string): Promise<{ requests: number; perSec: number; p50Ms: number }> {
  const { stdout } = await run('wrk', ['-t', '1', '-c', '8', '-d', `${SECONDS}s`, '--latency', '-H', `Host: ${HOST}`, `http://127.0.0.1:${port}${path}`], { timeout: (SECONDS + 30) * 1000 });
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const perSec = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0);
  const p50 = /50%\s+([\d.]+)(us|ms|s)/.exec(stdout);
  const p50Ms = p50 === null ? 0 : Number(p50[1]) * (p50[2] === 'us' ? 0.001 : p50[2] === 's' ? 1000 : 1);
  return { requests, perSec, p50Ms };
}

async function timed(port: number, path: string): Promise<{ ms: number; bytes: number; status: number }> {
  const start = performance.now();
  const res = await request({ port, host: HOST, path });
  return { ms: performance.now() - start, bytes: res.body.length, status: res.status };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function main(): Promise<void> {
  const video = await makeMedia('mp4-moov-end', 60);
  const origin = await MediaOrigin.start();
  origin.add('/v.mp4', video, 'video/mp4');
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 1, accessLog: false }),
    vhosts: vhostXml([{ name: HOST, port, origin: origin.address, extra: MEDIA }]),
  }));
  const pid = flint.child.pid as number;
  try {
    const segment = await request({ port, host: HOST, path: '/v.mp4/mp4hls/3.ts' });
    if (segment.status !== 200) throw new Error(`segment: ${segment.status}`);
    origin.add('/plain.bin', Buffer.alloc(segment.body.length, 1), 'application/octet-stream');
    await request({ port, host: HOST, path: '/plain.bin' });
    console.log(`segment 3: ${segment.body.length} bytes; load average before: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const rows: Record<string, { cpuUsPerReq: number[]; perSec: number[]; p50Ms: number[] }> = { segment: { cpuUsPerReq: [], perSec: [], p50Ms: [] }, plain: { cpuUsPerReq: [], perSec: [], p50Ms: [] } };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, path] of [['segment', '/v.mp4/mp4hls/3.ts'], ['plain', '/plain.bin']] as const) {
        const before = treeCpuSeconds(pid);
        const result = await wrk(port, path);
        const cpu = treeCpuSeconds(pid) - before;
        const row = rows[name] as (typeof rows)['segment'];
        row.cpuUsPerReq.push((cpu / Math.max(1, result.requests)) * 1e6);
        row.perSec.push(result.perSec);
        row.p50Ms.push(result.p50Ms);
      }
    }
    for (const [name, row] of Object.entries(rows)) {
      console.log(`${name}: req/s ${row.perSec.map((v) => v.toFixed(0)).join(' ')} (median ${median(row.perSec).toFixed(0)}); Flint CPU µs/req ${row.cpuUsPerReq.map((v) => v.toFixed(0)).join(' ')} (median ${median(row.cpuUsPerReq).toFixed(0)}); p50 ms ${median(row.p50Ms).toFixed(2)}`);
    }
    if (!existsSync(HOUR_FILE)) {
      console.log(`no ${HOUR_FILE}: make it with ffmpeg (see bench/README.md) to time the 1-hour file`);
      return;
    }
    const hour = readFileSync(HOUR_FILE);
    origin.add('/hour.mp4', hour, 'video/mp4');
    // Cached whole first (Upfront is OFF on this vhost: the plain GET parses nothing).
    const whole = await timed(port, '/hour.mp4');
    console.log(`1-hour file: ${hour.length} bytes, cached in ${whole.ms.toFixed(0)} ms`);
    const first = await timed(port, '/hour.mp4?start=1800&end=1860');
    const later: number[] = [];
    for (let i = 0; i < 9; i++) later.push((await timed(port, `/hour.mp4?start=${1800 + i * 10}&end=${1860 + i * 10}`)).ms);
    console.log(`trim 60 s out of 1 h: first ${first.ms.toFixed(1)} ms (moov parsed; ${first.bytes} bytes, ${first.status}), later median ${median(later).toFixed(1)} ms`);
    const playlist = await timed(port, '/hour.mp4/mp4hls/index.m3u8');
    const segments: number[] = [];
    for (let i = 0; i < 9; i++) segments.push((await timed(port, `/hour.mp4/mp4hls/${100 + i * 37}.ts`)).ms);
    console.log(`1-hour HLS: playlist ${playlist.ms.toFixed(1)} ms (${playlist.bytes} bytes), segment median ${median(segments).toFixed(1)} ms`);
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await flint.stop();
    await origin.close();
  }
}

await main();
