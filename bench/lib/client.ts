/**
 * @module bench/lib/client
 * Run bench/clients/http-client.js (the load client of cold-100 and range-256m) as a tracked child, bounded by a
 * kill timer, with CPU samples of the server tree, the origin tree, the client and the machine taken just before
 * it starts and just after it exits. Runs in the bench process.
 */
import { join } from 'node:path';
import { CLK_TCK, busyPercent, machineTicks, perProcessCpu, reapedChildrenCpuSeconds, treeCpuSeconds, treeTicks } from './cpu.js';
import { REPO_ROOT } from './environment.js';
import { commandLine, spawnTracked, stopTracked } from './processes.js';
import type { ClientReport } from '../clients/http-client.js';
import type { ProcessCpu } from './cpu.js';

/** The compiled client. */
const CLIENT_JS = join(REPO_ROOT, 'dist/bench/clients/http-client.js');

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
}

/** Run the client with `args` (mode first); killed 15 s after `deadlineMs` if it has not exited by itself. */
export async function runClient(
  args: readonly string[],
  deadlineMs: number,
  serverPid: number,
  originPid: number,
): Promise<{ report: ClientReport; cpu: ClientCpu; command: string }> {
  const argv = [CLIENT_JS, ...args, '--deadline-ms', String(deadlineMs)];
  const tree0 = treeTicks(serverPid);
  const origin0 = treeCpuSeconds(originPid);
  const client0 = reapedChildrenCpuSeconds();
  const mach0 = machineTicks();
  const t = await spawnTracked('http-client', process.execPath, argv, { captureStdout: true });
  const limit = setTimeout(() => void stopTracked(t, 2_000), deadlineMs + 15_000);
  const code = await t.exited;
  clearTimeout(limit);
  const tree1 = treeTicks(serverPid);
  const origin1 = treeCpuSeconds(originPid);
  const client1 = reapedChildrenCpuSeconds();
  const mach1 = machineTicks();
  if (code !== 0) throw new Error(`http-client ${typeof code === 'string' ? `was killed by ${code}` : `exited with ${code}`}: ${t.output().trim().slice(-2000)}`);
  const report = JSON.parse(t.stdout()) as ClientReport;
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
  };
  return { report, cpu, command: commandLine(process.execPath, argv) };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
