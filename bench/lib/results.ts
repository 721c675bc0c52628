/**
 * @module bench/lib/results
 * The shape of a bench result and its two renderings: bench/results/<YYYY-MM-DD>-<shortcommit>.json (everything,
 * including exact configs and wrk output) and a .md twin with one table row per run. A second run on the same
 * day and commit never overwrites the first: it gets a -2, -3... suffix. Runs in the bench process.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessCpu } from './cpu.js';
import type { MachineInfo } from './environment.js';
import type { WrkReport } from './wrk.js';

/** Outcome of one target in one scenario. */
export const RUN_STATUSES = ['ok', 'skipped', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Figures of one measured run. CPU figures are seconds of user+system time over the wrk run only. */
export interface RunMetrics {
  readonly requests: number;
  readonly durationS: number;
  readonly requestsPerSec: number;
  /** MiB/s of response bytes (headers + bodies) as wrk counted them. */
  readonly mibPerSec: number;
  readonly latencyMs: WrkReport['latencyMs'];
  readonly errors: WrkReport['errors'];
  /** The server's process tree (master/primary + workers), not the origin and not wrk. */
  readonly serverCpuS: number;
  /** serverCpuS per 1,000 completed requests (numerically: CPU milliseconds per request). */
  readonly serverCpuSPer1kReq: number;
  /** serverCpuS split by process (master/primary first, then workers), to see where the CPU went. */
  readonly serverCpuByProcess: readonly ProcessCpu[];
  /** The origin's process tree over the same interval (for `origin` itself this equals serverCpuS). */
  readonly originCpuS: number;
  readonly originCpuSPer1kReq: number;
  /** wrk's own CPU, to show how much of the machine the load generator took. */
  readonly wrkCpuS: number;
  /** Share of all cores busy during the run (100 = all saturated). */
  readonly machineBusyPct: number;
  /**
   * Busy CPU seconds of the machine not explained by server, origin or wrk: other people's processes on a shared
   * box, the bench itself, the kernel. A run where this is more than a few tenths of a second is noisy.
   */
  readonly otherCpuS: number;
  /**
   * The part of otherCpuS that was the hypervisor running other guests while this VM wanted the CPU (/proc/stat
   * steal): a run with much of it was slowed from outside, whatever its figures say. Absent in older files.
   */
  readonly stealS?: number;
  /** serverCpuS per GiB of response bytes wrk read (large-object scenarios). */
  readonly serverCpuSPerGiB?: number;
  /** Requests the origin counted for the scenario's path(s) during the measured run (0 = all hits). */
  readonly originRequests?: number;
  /** Body bytes the origin sent for the scenario's path(s) during the measured run. */
  readonly originBytes?: number;
}

/** One target in one scenario. */
export interface RunRecord {
  readonly scenario: string;
  readonly target: string;
  /** Server worker processes (nginx worker_processes, Flint <Workers>); 1 for the single-threaded uWS origin. */
  readonly workers: number;
  /** 1-based round when a target is measured several times (--repeat). */
  readonly round: number;
  readonly status: RunStatus;
  /** Why it was skipped or failed; empty when ok. */
  readonly note: string;
  readonly url?: string;
  /** Load generator command line, e.g. ['wrk', '-t1', ...]. */
  readonly loadCommand?: readonly string[];
  readonly metrics?: RunMetrics;
  /** Status and headers of the verification GET made before the load. */
  readonly sample?: { readonly status: number; readonly headers: Readonly<Record<string, unknown>> };
  /** Exact config files of the target, by file name. */
  readonly configs?: Readonly<Record<string, string>>;
  /** wrk's stdout, verbatim. */
  readonly rawOutput?: string;
  /**
   * Which table the row belongs to: 'wrk' (default: the RunMetrics columns) or 'figures' (scenarios not driven
   * by wrk, such as cold-100 and range-256m, whose own columns are `figures`).
   */
  readonly table?: 'wrk' | 'figures';
  /** The figures of a 'figures' row, by column name, in column order. */
  readonly figures?: Readonly<Record<string, number | string>>;
  /** Anything else worth keeping in the JSON (per-request timings, Flint's /stats), not rendered. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** A whole bench invocation. */
export interface ResultFile {
  readonly schema: 1;
  readonly date: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly machine: MachineInfo;
  readonly versions: Readonly<Record<string, string | null>>;
  readonly settings: Readonly<Record<string, unknown>>;
  /** Exact origin config (program, argv) per scenario. */
  readonly origins: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Skip lines for whole peers or tools. */
  readonly skipped: readonly string[];
  readonly runs: readonly RunRecord[];
}

/** Write <dir>/<date>-<commit>[-n].json and .md; returns both paths. */
export function writeResults(dir: string, r: ResultFile): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const base = `${r.date}-${r.commit}`;
  let stem = join(dir, base);
  for (let n = 2; existsSync(`${stem}.json`) || existsSync(`${stem}.md`); n++) stem = join(dir, `${base}-${n}`);
  const json = `${stem}.json`;
  const md = `${stem}.md`;
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(md, renderMarkdown(r));
  return { json, md };
}

/** The markdown table header; one row per run follows. */
const TABLE_HEAD =
  '| scenario | target | workers | run | req/s | MiB/s | p50 ms | p99 ms | max ms | errors | server CPU s/1k req | server CPU s/GiB | origin req | origin CPU s/1k req | machine busy % | other CPU s | steal s |\n' +
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n';

/** One console line for a finished run. */
export function summaryLine(r: RunRecord): string {
  const m = r.metrics;
  let figures = '';
  if (m !== undefined) {
    const perGiB = m.serverCpuSPerGiB === undefined ? '' : `, ${m.mibPerSec.toFixed(0)} MiB/s, server CPU ${m.serverCpuSPerGiB.toFixed(3)} s/GiB`;
    const origin = m.originRequests === undefined ? '' : `, origin requests ${m.originRequests}`;
    figures = ` ${m.requestsPerSec.toFixed(0)} req/s, p99 ${m.latencyMs.p99.toFixed(2)} ms, server CPU ${m.serverCpuSPer1kReq.toFixed(4)} s/1k req${perGiB}${origin}, other CPU ${m.otherCpuS.toFixed(2)} s (steal ${(m.stealS ?? 0).toFixed(2)} s)`;
  } else if (r.figures !== undefined) {
    figures = ` ${Object.entries(r.figures)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? fmtFigure(v) : v}`)
      .join(', ')}`;
  }
  const note = r.note === '' ? '' : ` (${r.note.split('\n')[0] ?? ''})`;
  return `${r.target} #${r.round}: ${r.status}${figures}${note}`;
}

/** One table row (also printed to the console as each run finishes). */
export function renderRow(run: RunRecord): string {
  const m = run.metrics;
  if (run.status !== 'ok' || m === undefined) {
    const why = run.note.replace(/\|/g, '/').split('\n')[0] ?? '';
    return `| ${run.scenario} | ${run.target} | ${run.workers} | ${run.round} | ${run.status}: ${why} |||||||||||||\n`;
  }
  const cells = [
    run.scenario,
    run.target,
    String(run.workers),
    String(run.round),
    fmt(m.requestsPerSec, 0),
    fmt(m.mibPerSec, 1),
    fmt(m.latencyMs.p50, 2),
    fmt(m.latencyMs.p99, 2),
    fmt(m.latencyMs.max, 1),
    String(m.errors.total),
    fmt(m.serverCpuSPer1kReq, 4),
    m.serverCpuSPerGiB === undefined ? '' : fmt(m.serverCpuSPerGiB, 3),
    m.originRequests === undefined ? '' : String(m.originRequests),
    fmt(m.originCpuSPer1kReq, 4),
    fmt(m.machineBusyPct, 0),
    fmt(m.otherCpuS, 2),
    m.stealS === undefined ? '' : fmt(m.stealS, 2),
  ];
  return `| ${cells.join(' | ')} |\n`;
}

/** The whole .md file: context, table, skip lines, then each target's exact config. */
export function renderMarkdown(r: ResultFile): string {
  const v = Object.entries(r.versions)
    .map(([k, val]) => `${k} ${val ?? 'not installed'}`)
    .join(', ');
  let out = `# Bench ${r.date} at ${r.commit}${r.dirty ? ' (uncommitted changes)' : ''}\n\n`;
  out += `Machine: ${r.machine.cores} cores, ${r.machine.cpuModel}, ${r.machine.memGiB} GiB, Linux ${r.machine.kernel}, load ${r.machine.loadavg1.toFixed(2)} before the run.\n\n`;
  out += `Versions: ${v}.\n\n`;
  out += `Settings: ${Object.entries(r.settings)
    .map(([k, val]) => `${k}=${typeof val === 'string' ? val : JSON.stringify(val)}`)
    .join(', ')}.\n\n`;
  out += renderTables(r.runs);
  if (r.skipped.length > 0) out += `\n${r.skipped.map((s) => `- ${s}`).join('\n')}\n`;
  // Scenarios usually share one origin config that differs only in its port: print each distinct one once, with
  // every scenario's command line.
  const originGroups = new Map<string, { argvs: string[]; scenarios: string[]; configs: Readonly<Record<string, string>> }>();
  for (const [scenario, configs] of Object.entries(r.origins)) {
    const { argv, ...rest } = configs;
    const key = JSON.stringify(rest);
    const line = `${scenario}: ${argv ?? ''}`;
    const group = originGroups.get(key);
    if (group === undefined) originGroups.set(key, { argvs: [line], scenarios: [scenario], configs: rest });
    else {
      group.argvs.push(line);
      group.scenarios.push(scenario);
    }
  }
  for (const g of originGroups.values()) out += renderConfigs(`${g.scenarios.join(', ')} / origin server`, { argv: g.argvs.join('\n'), ...g.configs });
  const seen = new Set<string>();
  for (const run of r.runs) {
    const key = `${run.scenario} / ${run.target}`;
    if (run.configs === undefined || seen.has(key)) continue;
    seen.add(key);
    out += renderConfigs(`${key}: ${run.loadCommand?.join(' ') ?? ''}`, run.configs);
  }
  return out;
}

/**
 * Every table of a set of runs: the wrk table (rows without `table: 'figures'`), then one table per scenario
 * of 'figures' rows, whose columns are the union of their figure names in first-seen order.
 */
export function renderTables(runs: readonly RunRecord[]): string {
  const wrkRuns = runs.filter((r) => r.table !== 'figures');
  let out = wrkRuns.length > 0 ? TABLE_HEAD + wrkRuns.map(renderRow).join('') : '';
  const byScenario = new Map<string, RunRecord[]>();
  for (const r of runs) {
    if (r.table !== 'figures') continue;
    const list = byScenario.get(r.scenario);
    if (list === undefined) byScenario.set(r.scenario, [r]);
    else list.push(r);
  }
  for (const list of byScenario.values()) {
    const columns: string[] = [];
    for (const r of list) for (const k of Object.keys(r.figures ?? {})) if (!columns.includes(k)) columns.push(k);
    out += `${out === '' ? '' : '\n'}| scenario | target | workers | run | status | ${columns.join(' | ')} |\n`;
    out += `|---|---|---:|---:|---|${columns.map(() => '---:|').join('')}\n`;
    for (const r of list) {
      const status = r.status === 'ok' && r.note === '' ? 'ok' : `${r.status}: ${(r.note.split('\n')[0] ?? '').replace(/\|/g, '/')}`;
      const cells = columns.map((c) => {
        const v = r.figures?.[c];
        return v === undefined ? '' : typeof v === 'number' ? fmtFigure(v) : v.replace(/\|/g, '/');
      });
      out += `| ${r.scenario} | ${r.target} | ${r.workers} | ${r.round} | ${status} | ${cells.join(' | ')} |\n`;
    }
  }
  return out;
}

/** A figure with sensible digits: integers as they are, else 3 significant decimals at most. */
function fmtFigure(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  return n.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3);
}

function renderConfigs(title: string, configs: Readonly<Record<string, string>>): string {
  let out = `\n<details><summary>${title}</summary>\n\n`;
  for (const [name, text] of Object.entries(configs)) out += `${name}:\n\`\`\`\n${text.trimEnd()}\n\`\`\`\n`;
  return `${out}</details>\n`;
}

function fmt(n: number, digits: number): string {
  return n.toFixed(digits);
}
