/**
 * DIMS conversions beside plain hits (issue 21): is a hit on a cached 1 KiB object slowed while 8 conversions are in
 * flight? Flint with WORKERS workers (started at this process's priority, as in production); a load child under
 * `nice -n 5` runs HIT_CONNS keep-alive connections, each sending paced 1 KiB GETs and timing every one, for
 * SECONDS; in B rounds the same child keeps 8 new-variant requests in flight (a 2000x1500 JPEG to
 * `resize/<w>x/format/avif/quality/<q>`, each new, so every one is a conversion; at most MAX_CONVERSIONS per round).
 * A and B rounds alternate (the machine is shared); each row gives the hits' p50/p99/p99.9/max, the conversions
 * finished, the CPU of the workers (with the primary) and of the converters apart, the machine's busy share and the
 * 1-minute load average at the start.
 * Bounded: ROUNDS x 2 x SECONDS plus the conversions still running at the end of a round; every process by pid.
 * Run: npm run build && node dist/bench/dims-hits.js [seconds=5] [rounds=3] [workers=2]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { FlintProcess, serverXml } from '../test/helpers/flint.js';
import { freePort } from '../test/helpers/ports.js';
import { busyPercent, machineTicks, perProcessCpu, treeTicks } from './lib/cpu.js';

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 3);
const WORKERS = Number(process.argv[4] ?? 2);
const HOST = 'bench.test';
const HIT_CONNS = 2;
/** Each hit connection sends one request every HIT_INTERVAL_MS: 1,000 hits/s in all, a load the machine carries. */
const HIT_INTERVAL_MS = 2;
const IN_FLIGHT = 8;
/** Conversions started per B round at most (bounds the round whatever the machine's speed). */
const MAX_CONVERSIONS = 200;
const SMALL = Buffer.alloc(1024, 120);

/**
 * The load child: argv port, host, seconds, conversions in flight, first conversion index, most conversions, hit
 * connections, ms between hits per connection. Hits go over raw keep-alive sockets (the least client work per
 * request), paced; conversions over one fresh connection each, conversion i being `resize/<600 + i % 40>x/format/avif/
 * quality/<40 + i / 40>` (each a new variant of like cost). Prints one JSON line.
 */
const LOAD_JS = `
const net = require('node:net');
const http = require('node:http');
const [port, host, seconds, inFlight, firstIndex, maxConv, conns, interval] = process.argv.slice(1);
const end = Date.now() + Number(seconds) * 1000;
const times = [];
const hitLoop = () => new Promise((resolve, reject) => {
  const s = net.connect(Number(port), '127.0.0.1');
  s.setNoDelay(true);
  const req = Buffer.from('GET /small HTTP/1.1\\r\\nHost: ' + host + '\\r\\n\\r\\n');
  let buf = Buffer.alloc(0), t0 = 0, due = performance.now();
  const fire = () => { t0 = performance.now(); s.write(req); };
  // Paced: one request every interval ms (sent at once when the previous answer came late).
  const send = () => {
    if (Date.now() >= end) { s.end(); resolve(); return; }
    due += Number(interval);
    const wait = due - performance.now();
    if (wait > 0.5) setTimeout(fire, wait); else { due = performance.now(); fire(); }
  };
  s.on('connect', send);
  s.on('data', (d) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    const he = buf.indexOf('\\r\\n\\r\\n');
    if (he < 0) return;
    const m = /content-length: *(\\d+)/i.exec(buf.subarray(0, he).toString('latin1'));
    const len = m === null ? 0 : Number(m[1]);
    if (buf.length < he + 4 + len) return;
    if (len !== 1024 || !buf.subarray(0, 12).toString().includes(' 200')) { reject(new Error('bad hit: ' + buf.subarray(0, he).toString())); return; }
    times.push(performance.now() - t0);
    buf = buf.subarray(he + 4 + len);
    send();
  });
  s.on('error', reject);
});
let index = Number(firstIndex), started = 0, converted = 0, other = 0;
const convLane = async () => {
  while (Date.now() < end && started < Number(maxConv)) {
    started++;
    const i = index++;
    await new Promise((resolve) => {
      http.get({ host: '127.0.0.1', port: Number(port), path: '/img/heavy.jpg/dims/resize/' + (600 + (i % 40)) + 'x/format/avif/quality/' + (40 + Math.floor(i / 40)), headers: { host }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => { if (res.statusCode === 200 && res.headers['content-type'] === 'image/avif') converted++; else other++; resolve(); });
      }).on('error', () => { other++; resolve(); });
    });
  }
};
const lanes = Array.from({ length: Number(inFlight) }, convLane);
Promise.all(Array.from({ length: Number(conns) }, hitLoop)).then(async () => {
  await Promise.all(lanes);
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(times.length * q))] || 0;
  process.stdout.write(JSON.stringify({ hits: times.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: times[times.length - 1] || 0, started, converted, other, nextIndex: index }) + '\\n');
}, (e) => { console.error(e.message); process.exit(1); });
`;

interface LoadResult {
  readonly hits: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly started: number;
  readonly converted: number;
  readonly other: number;
  readonly nextIndex: number;
}

interface Round extends LoadResult {
  readonly label: string;
  /** CPU seconds of the primary and workers. */
  readonly flintS: number;
  /** CPU seconds of the converter processes. */
  readonly converterS: number;
  readonly busy: number;
  readonly load1: string;
}

/** Runs the load child under nice 5 and returns its report. */
async function runLoad(port: number, inFlight: number, firstIndex: number): Promise<LoadResult> {
  const args = [port, HOST, SECONDS, inFlight, firstIndex, MAX_CONVERSIONS, HIT_CONNS, HIT_INTERVAL_MS].map(String);
  const child = spawn('nice', ['-n', '5', process.execPath, '-e', LOAD_JS, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`load child exited ${code}`);
  return JSON.parse(out.trim()) as LoadResult;
}

/** One GET on the vhost: status and body. */
function get(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path, headers: { host: HOST }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

async function main(): Promise<void> {
  const heavy = await sharp({ create: { width: 2000, height: 1500, channels: 3, background: { r: 90, g: 140, b: 200 } } })
    .composite([{ input: await sharp({ create: { width: 800, height: 600, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer(), top: 300, left: 500 }])
    .jpeg({ quality: 85 })
    .toBuffer();
  const origin = createServer((req, res) => {
    const img = req.url === '/img/heavy.jpg';
    const body = img ? heavy : SMALL;
    res.writeHead(200, { 'content-length': String(body.length), 'cache-control': 'max-age=3600', 'content-type': img ? 'image/jpeg' : 'text/plain', etag: img ? '"h1"' : '"s1"' });
    res.end(body);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originPort = (origin.address() as AddressInfo).port;
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: WORKERS, accessLog: false }),
    vhosts: `<Vhosts><Vhost Name="${HOST}"><Listen>127.0.0.1:${port}</Listen><Origin><Address>127.0.0.1:${originPort}</Address></Origin>
      <Options><Dims Status="Active"/></Options></Vhost></Vhosts>`,
  }));
  try {
    // Fill both objects, and start every worker's converter (its first conversion) outside the rounds.
    const warm = await runLoad(port, IN_FLIGHT, 0);
    let index = warm.nextIndex;
    const check = await get(port, '/img/heavy.jpg/dims/resize/500x/format/avif');
    const checkBody = check.body;
    if (check.status !== 200) throw new Error(`a conversion answered ${check.status}: ${checkBody.toString().slice(0, 200)}`);
    const meta = await sharp(checkBody).metadata();
    if (meta.format !== 'heif' || meta.width !== 500) throw new Error(`a conversion decodes as ${meta.format} ${meta.width} px`);
    console.log(`warm-up: ${warm.converted} conversions, ${warm.other} other; a conversion decodes as AVIF ${meta.width}x${meta.height}`);
    const rounds: Round[] = [];
    const measure = async (label: string, inFlight: number): Promise<void> => {
      const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
      const pid = flint.child.pid as number;
      const ticks0 = treeTicks(pid);
      const m0 = machineTicks();
      const r = await runLoad(port, inFlight, index);
      index = r.nextIndex;
      const busy = busyPercent(m0, machineTicks());
      // Converters apart from the rest (primary + workers): the workers' share is what a conversion costs the hits.
      let converterS = 0;
      let flintS = 0;
      for (const p of perProcessCpu(ticks0, treeTicks(pid))) {
        if (p.command.includes('converter-process')) converterS += p.cpuS;
        else flintS += p.cpuS;
      }
      rounds.push({ ...r, label, flintS, converterS, busy, load1 });
    };
    for (let i = 0; i < ROUNDS; i++) {
      await measure(`A${i + 1} hits alone`, 0);
      await measure(`B${i + 1} hits + ${IN_FLIGHT} conversions`, IN_FLIGHT);
    }
    console.log(`${WORKERS} workers, ${HIT_CONNS} hit connections at ${1000 / HIT_INTERVAL_MS} hits/s each, ${SECONDS} s rounds, load child at nice 5`);
    console.log('| round | load avg 1m | hits | p50 ms | p99 ms | p99.9 ms | max ms | conversions | workers CPU s | converters CPU s | machine busy % |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rounds) {
      const conv = r.started === 0 ? '-' : `${r.converted}${r.other > 0 ? ` (+${r.other} not 200)` : ''}`;
      console.log(`| ${r.label} | ${r.load1} | ${r.hits} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.p999.toFixed(2)} | ${r.max.toFixed(1)} | ${conv} | ${r.flintS.toFixed(2)} | ${r.converterS.toFixed(2)} | ${r.busy.toFixed(0)} |`);
    }
    const mean = (p: string, f: (r: Round) => number): string => {
      const rs = rounds.filter((r) => r.label.startsWith(p));
      return (rs.reduce((n, r) => n + f(r), 0) / rs.length).toFixed(2);
    };
    console.log(`mean p99: A ${mean('A', (r) => r.p99)} ms, B ${mean('B', (r) => r.p99)} ms; mean p50: A ${mean('A', (r) => r.p50)} ms, B ${mean('B', (r) => r.p50)} ms`);
  } finally {
    await flint.stop();
    origin.close();
  }
}

await main();
