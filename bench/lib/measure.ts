/**
 * @module bench/lib/measure
 * Measure one started target: verify its response, warm it with unrecorded wrk load, then run the recorded wrk
 * load (or another load client's, such as h2load) with CPU samples of the server tree, the origin tree, wrk and
 * the whole machine taken just before and just after. Never throws: a failure becomes a 'failed' record naming the cause. Runs in the bench process.
 */
import { CLK_TCK, busyPercent, machineTicks, perProcessCpu, reapedChildrenCpuSeconds, stealSeconds, treeCpuSeconds, treeTicks } from './cpu.js';
import { httpGet } from './http-probe.js';
import { originTraffic, trafficDelta } from './origin-counts.js';
import { runWrk, wrkArgs } from './wrk.js';
import { sleep } from './processes.js';
import { checkResponse } from './verify.js';
import type { RunningTarget } from '../targets/target.js';
import type { RunMetrics, RunRecord } from './results.js';
import type { BenchOptions } from './scenario.js';
import type { Expected } from './verify.js';
import type { WrkReport } from './wrk.js';

/** One measurement request. */
export interface MeasureInput {
  readonly scenario: string;
  readonly target: RunningTarget;
  /** The origin the target proxies to (the target itself when measuring the origin directly). */
  readonly origin: RunningTarget;
  /** Request path, e.g. '/1k'. */
  readonly path: string;
  readonly expect: Expected;
  readonly opts: BenchOptions;
  readonly wrkBin: string;
  /** 1-based round (--repeat); warm-up load runs before round 1 only. */
  readonly round: number;
  /** wrk -c for this scenario instead of opts.connections (large objects use fewer). */
  readonly connections?: number;
  /** wrk --timeout in seconds, for responses that may take longer than wrk's default 2 s (64 MiB bodies). */
  readonly wrkTimeoutS?: number;
  /** Request headers of every wrk request and of the default verification GETs (e.g. If-None-Match). */
  readonly headers?: Readonly<Record<string, string>>;
  /** wrk Lua scripts for the measured run and the warm-up (e.g. distinct paths per request). */
  readonly scripts?: { readonly measure: string; readonly warmup: string };
  /** Replaces the default check (two GETs of `path` against `expect`): returns the problems and a sample. */
  readonly verify?: () => Promise<{ problems: string[]; sample: NonNullable<RunRecord['sample']> }>;
  /** Count the origin's requests and bytes for this path (and below) during the measured run (uWS origin only). */
  readonly originPath?: string;
  /** Also report server CPU seconds per GiB of response bytes. */
  readonly perGiB?: boolean;
  /** Another load client instead of wrk (h2load in hit-1k-h2); wrk's options above are then unused. */
  readonly load?: LoadClient;
  /**
   * Milliseconds to wait after the load before the last CPU reading, so work the server defers past the response
   * is counted in its run (miss-tagged: the primary's once-a-second housekeeping). Default 0.
   */
  readonly settleMs?: number;
}

/** A load client other than wrk: its command line, and one bounded run with wrk-shaped figures. */
export interface LoadClient {
  readonly command: readonly string[];
  run(durationS: number, phase: 'warmup' | 'measure'): Promise<{ report: WrkReport; raw: string; extra?: Readonly<Record<string, unknown>> }>;
}

/** Verify, warm up, measure; returns an 'ok' or 'failed' record. */
export async function measureTarget(m: MeasureInput): Promise<RunRecord> {
  const url = `${m.target.baseUrl}${m.path}`;
  const wrkOpts = { url, threads: m.opts.threads, connections: m.connections ?? m.opts.connections, durationS: m.opts.durationS, timeoutS: m.wrkTimeoutS, headers: m.headers };
  const base = {
    scenario: m.scenario,
    target: m.target.name,
    workers: m.target.workers,
    round: m.round,
    url,
    loadCommand: m.load?.command ?? [m.wrkBin, ...wrkArgs({ ...wrkOpts, script: m.scripts?.measure })],
    // The origin's own config is recorded once per scenario (ResultFile.origins), not again on its row.
    configs: m.target === m.origin ? {} : m.target.configs,
  };
  let sample: RunRecord['sample'];
  try {
    if (m.verify !== undefined) {
      const v = await m.verify();
      sample = v.sample;
      if (v.problems.length > 0) return { ...base, sample, status: 'failed', note: `verification: ${v.problems.join('; ')}` };
    } else {
      // Two GETs: the second shows what a repeated request gets (a pass must stay a pass, a hit a hit).
      for (let i = 0; i < 2; i++) {
        const r = await httpGet(url, 10_000, m.headers);
        sample = { status: r.status, headers: { ...r.headers } };
        const problems = checkResponse(r, m.expect);
        if (problems.length > 0) return { ...base, sample, status: 'failed', note: `verification: GET ${m.path} #${i + 1}: ${problems.join('; ')}` };
      }
    }
    const load: Pick<LoadClient, 'run'> = m.load ?? { run: (durationS, phase) => runWrk({ ...wrkOpts, durationS, script: phase === 'warmup' ? m.scripts?.warmup : m.scripts?.measure }, m.wrkBin) };
    if (m.opts.warmupS > 0 && m.round === 1) await load.run(m.opts.warmupS, 'warmup');
    const traffic0 = m.originPath === undefined ? null : await originTraffic(m.origin.baseUrl, m.originPath);

    const sameTree = m.origin.pid === m.target.pid;
    const tree0 = treeTicks(m.target.pid);
    const cpu0 = { server: sumTicks(tree0) / CLK_TCK, origin: treeCpuSeconds(m.origin.pid), wrk: reapedChildrenCpuSeconds() };
    const mach0 = machineTicks();
    const { report, raw, extra } = await load.run(m.opts.durationS, 'measure');
    if (m.settleMs !== undefined && m.settleMs > 0) await sleep(m.settleMs);
    // wrk has been reaped by now, so its CPU time has moved into this process's cutime/cstime.
    const tree1 = treeTicks(m.target.pid);
    const cpu1 = { server: sumTicks(tree1) / CLK_TCK, origin: treeCpuSeconds(m.origin.pid), wrk: reapedChildrenCpuSeconds() };
    const mach1 = machineTicks();
    const traffic = traffic0 === null || m.originPath === undefined ? null : trafficDelta(traffic0, await originTraffic(m.origin.baseUrl, m.originPath));

    // /proc counts in 1/CLK_TCK s; rounding drops the float noise of subtracting such sums.
    const serverCpuS = round(cpu1.server - cpu0.server, 3);
    const originCpuS = sameTree ? serverCpuS : round(cpu1.origin - cpu0.origin, 3);
    const wrkCpuS = round(cpu1.wrk - cpu0.wrk, 3);
    const busyS = (mach1.busy - mach0.busy) / CLK_TCK;
    const otherCpuS = round(busyS - serverCpuS - (sameTree ? 0 : originCpuS) - wrkCpuS, 3);
    const per1k = (s: number): number => (report.requests > 0 ? round((s * 1000) / report.requests, 6) : 0);
    const metrics: RunMetrics = {
      requests: report.requests,
      durationS: report.durationS,
      requestsPerSec: report.requestsPerSec,
      mibPerSec: round(report.bytesPerSec / 1024 ** 2, 3),
      latencyMs: report.latencyMs,
      errors: report.errors,
      serverCpuS,
      serverCpuSPer1kReq: per1k(serverCpuS),
      serverCpuByProcess: perProcessCpu(tree0, tree1).map((p) => ({ ...p, cpuS: round(p.cpuS, 3) })),
      originCpuS,
      originCpuSPer1kReq: per1k(originCpuS),
      wrkCpuS,
      machineBusyPct: round(busyPercent(mach0, mach1), 1),
      otherCpuS,
      stealS: stealSeconds(mach0, mach1),
      ...(m.perGiB === true && report.bytesRead > 0 ? { serverCpuSPerGiB: round(serverCpuS / (report.bytesRead / 1024 ** 3), 4) } : {}),
      ...(traffic === null ? {} : { originRequests: traffic.requests, originBytes: traffic.bytes }),
    };
    const note = report.errors.total > 0 ? `${report.errors.total} errors` : '';
    return { ...base, sample, status: 'ok', note, metrics, rawOutput: raw, ...(extra === undefined ? {} : { extra: { load: extra } }) };
  } catch (err) {
    return { ...base, sample, status: 'failed', note: (err as Error).message };
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function sumTicks(tree: Map<number, number>): number {
  let n = 0;
  for (const t of tree.values()) n += t;
  return n;
}
