/**
 * @module bench/lib/client
 * Run a load client as a tracked child (bench/clients/http-client.js for cold-100 and range-256m, zipf-client.js
 * for zipf), bounded by a kill timer, with CPU samples of the server tree, the origin tree, the client and the machine taken just before
 * it starts and just after it exits. Runs in the bench process.
 */
import { join } from 'node:path';
import { CLK_TCK, busyPercent, machineTicks, perProcessCpu, reapedChildrenCpuSeconds, stealSeconds, treeCpuSeconds, treeTicks } from './cpu.js';
import { REPO_ROOT } from './environment.js';
import { commandLine, spawnTracked, stopTracked } from './processes.js';
import type { ClientReport } from '../clients/http-client.js';
import type { ProcessCpu } from './cpu.js';

/** The compiled clients: http-client (cold-100, range-256m) and zipf-client (zipf, autocannon). */
export const CLIENT_JS = join(REPO_ROOT, 'dist/bench/clients/http-client.js');
export const ZIPF_CLIENT_JS = join(REPO_ROOT, 'dist/bench/clients/zipf-client.js');

/** CPU over one client run (seconds of user+system time). */
export interface ClientCpu {
  readonly serverCpuS: number;
  readonly serverCpuByProcess: readonly ProcessCpu[];
  readonly originCpuS: number;
  /** The client process (reaped child of the bench, like wrk). */
  readonly clientCpuS: number;
  readonly machineBusyPct: number;
  /** Busy CPU of the machine not explained by server, origin or client (see bench/README.md "Noise"). */
  readonly otherCpuS: number;
  /** The part of otherCpuS the hypervisor took (/proc/stat steal). */
  readonly stealS: number;
}

/**
 * Run a client (`script`, default http-client with `--deadline-ms` appended) with `args`; killed 15 s after
 * `deadlineMs` if it has not exited by itself. Its stdout is one JSON report of type R.
 */
export async function runClient<R = ClientReport>(
  args: readonly string[],
  deadlineMs: number,
  serverPid: number,
  originPid: number,
  script: string = CLIENT_JS,
): Promise<{ report: R; cpu: ClientCpu; command: string }> {
  const argv = script === CLIENT_JS ? [script, ...args, '--deadline-ms', String(deadlineMs)] : [script, ...args];
  const tree0 = treeTicks(serverPid);
  const origin0 = treeCpuSeconds(originPid);
  const client0 = reapedChildrenCpuSeconds();
  const mach0 = machineTicks();
  const t = await spawnTracked(script === CLIENT_JS ? 'http-client' : 'zipf-client', process.execPath, argv, { captureStdout: true });
  const limit = setTimeout(() => void stopTracked(t, 2_000), deadlineMs + 15_000);
  const code = await t.exited;
  clearTimeout(limit);
  const tree1 = treeTicks(serverPid);
  const origin1 = treeCpuSeconds(originPid);
  const client1 = reapedChildrenCpuSeconds();
  const mach1 = machineTicks();
  if (code !== 0) throw new Error(`http-client ${typeof code === 'string' ? `was killed by ${code}` : `exited with ${code}`}: ${t.output().trim().slice(-2000)}`);
  const report = JSON.parse(t.stdout()) as R;
  let server0 = 0;
  for (const v of tree0.values()) server0 += v;
  let server1 = 0;
  for (const v of tree1.values()) server1 += v;
  const serverCpuS = round((server1 - server0) / CLK_TCK);
  const originCpuS = round(origin1 - origin0);
  const clientCpuS = round(client1 - client0);
  const busyS = (mach1.busy - mach0.busy) / CLK_TCK;
  const cpu: ClientCpu = {
    serverCpuS,
    serverCpuByProcess: perProcessCpu(tree0, tree1).map((p) => ({ ...p, cpuS: round(p.cpuS) })),
    originCpuS,
    clientCpuS,
    machineBusyPct: Math.round(busyPercent(mach0, mach1) * 10) / 10,
    otherCpuS: round(busyS - serverCpuS - originCpuS - clientCpuS),
    stealS: stealSeconds(mach0, mach1),
  };
  return { report, cpu, command: commandLine(process.execPath, argv) };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
