/**
 * Bandwidth throttling cost (issue 22): does a worker pacing PACED throttled downloads slow its plain hits? One Flint
 * worker; PACED clients (a child process, one connection each) download /slow/big.bin paced at RATE_KBPS (no boost),
 * while wrk measures cached 1 KiB hits on the same vhost. Alternating rounds without and with the paced clients
 * (the machine is shared, so A/B alternate and CPU per hit is the figure to compare); then a round of the paced
 * clients alone gives the pacing cost itself (Flint CPU per second). Reports hits/s, Flint CPU per hit (µs) and the
 * machine's busy %. Bounded: ROUNDS x 2 x SECONDS + SECONDS, every process stopped by pid.
 * Run: npm run build && nice -n 5 node dist/bench/throttle-hits.js [paced=500] [seconds=8] [rounds=3]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlintProcess, serverXml } from '../test/helpers/flint.js';
import { freePort } from '../test/helpers/ports.js';
import { busyPercent, machineTicks, treeCpuSeconds } from './lib/cpu.js';
import { runWrk } from './lib/wrk.js';

const PACED = Number(process.argv[2] ?? 500);
const SECONDS = Number(process.argv[3] ?? 8);
const ROUNDS = Number(process.argv[4] ?? 3);
const RATE_KBPS = 128;
const HOST = 'bench.test';
const BIG = Buffer.alloc(64 * 1024 * 1024, 7);
const SMALL = Buffer.alloc(1024, 1);

/** The paced clients: one connection each, reading what comes; killed by pid after the round. */
const CLIENTS_JS = `
const http = require('node:http');
const [port, n] = process.argv.slice(1).map(Number);
let bytes = 0, open = 0;
for (let i = 0; i < n; i++) {
  const req = http.get({ host: '127.0.0.1', port, path: '/slow/big.bin', headers: { host: '${HOST}' }, agent: false }, (res) => {
    open++;
    res.on('data', (c) => (bytes += c.length));
  });
  req.on('error', () => {});
}
setInterval(() => process.stdout.write(JSON.stringify({ open, bytes }) + '\\n'), 1000);
`;

interface Round {
  readonly label: string;
  readonly hitsPerSec: number;
  readonly cpuUsPerHit: number;
  readonly busy: number;
}

async function main(): Promise<void> {
  const origin = createServer((req, res) => {
    const body = req.url?.startsWith('/slow/') ? BIG : SMALL;
    res.writeHead(200, { 'content-length': String(body.length), 'cache-control': 'max-age=3600', 'content-type': 'application/octet-stream' });
    res.end(body);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originPort = (origin.address() as AddressInfo).port;
  const port = await freePort();
  const flint = await FlintProcess.start(({ dir, managerPort }) => ({
    server: serverXml({ managerPort, dir, workers: 1 }),
    vhosts: `<Vhosts><Vhost Name="${HOST}"><Listen>127.0.0.1:${port}</Listen><Origin><Address>127.0.0.1:${originPort}</Address></Origin>
      <Options><BandwidthThrottling><Throttling>ON</Throttling></BandwidthThrottling>
      <MatchingList Target="throttling"><![CDATA[
        $URL[/slow/*], ${RATE_KBPS}, 100, 0
      ]]></MatchingList></Options></Vhost></Vhosts>`,
  }));
  let clients: ChildProcess | null = null;
  try {
    const url = `http://127.0.0.1:${port}/hit/1k`;
    // Fill the 1 KiB object (the first paced client fills the big one).
    await runWrk({ url, threads: 1, connections: 10, durationS: 1, headers: { host: HOST } });
    const startClients = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['-e', CLIENTS_JS, String(port), String(PACED)], { stdio: ['ignore', 'pipe', 'inherit'] });
      // Wait until every client has its response head (the first one fills the 64 MiB object).
      await new Promise<void>((resolve) => {
        child.stdout?.setEncoding('utf8').on('data', (line: string) => {
          const last = line.trim().split('\n').pop() ?? '';
          if ((JSON.parse(last) as { open: number }).open >= PACED) resolve();
        });
      });
      return child;
    };
    const stopClients = async (child: ChildProcess): Promise<void> => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await exited;
    };
    const measure = async (label: string, withWrk: boolean): Promise<Round> => {
      const pid = flint.child.pid as number;
      const cpu0 = treeCpuSeconds(pid);
      const m0 = machineTicks();
      const t0 = performance.now();
      let requests = 0;
      if (withWrk) requests = (await runWrk({ url, threads: 1, connections: 50, durationS: SECONDS, headers: { host: HOST } })).report.requests;
      else await new Promise((r) => setTimeout(r, SECONDS * 1000));
      const seconds = (performance.now() - t0) / 1000;
      const cpu = treeCpuSeconds(pid) - cpu0;
      return {
        label,
        hitsPerSec: requests / seconds,
        cpuUsPerHit: requests === 0 ? (cpu / seconds) * 1e6 : (cpu / requests) * 1e6,
        busy: busyPercent(m0, machineTicks()),
      };
    };
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      rounds.push(await measure(`A${i + 1} hits alone`, true));
      clients = await startClients();
      rounds.push(await measure(`B${i + 1} hits + ${PACED} paced`, true));
      await stopClients(clients);
      clients = null;
    }
    clients = await startClients();
    const pacingOnly = await measure(`${PACED} paced alone (CPU µs per second)`, false);
    await stopClients(clients);
    clients = null;
    const stats = (await flint.stats()).vhosts[HOST] as unknown as Record<string, number>;
    console.log(`| round | hits/s | Flint CPU µs/hit | machine busy % |`);
    console.log(`| --- | --- | --- | --- |`);
    for (const r of [...rounds, pacingOnly]) console.log(`| ${r.label} | ${r.hitsPerSec.toFixed(0)} | ${r.cpuUsPerHit.toFixed(1)} | ${r.busy.toFixed(0)} |`);
    const mean = (p: string): number => {
      const rs = rounds.filter((r) => r.label.startsWith(p));
      return rs.reduce((n, r) => n + r.cpuUsPerHit, 0) / rs.length;
    };
    const hits = (p: string): number => {
      const rs = rounds.filter((r) => r.label.startsWith(p));
      return rs.reduce((n, r) => n + r.hitsPerSec, 0) / rs.length;
    };
    console.log(`mean: A ${hits('A').toFixed(0)} hits/s ${mean('A').toFixed(1)} µs/hit; B ${hits('B').toFixed(0)} hits/s ${mean('B').toFixed(1)} µs/hit`);
    console.log(`pacing alone: ${(pacingOnly.cpuUsPerHit / 1e6 * 100).toFixed(1)}% of a core for ${PACED} clients at ${RATE_KBPS} kbps; throttledResponses ${stats.throttledResponses}, throttledBytes ${stats.throttledBytes}`);
  } finally {
    if (clients?.pid !== undefined) process.kill(clients.pid, 'SIGKILL');
    await flint.stop();
    origin.close();
  }
}

await main();
