/**
 * @module bench/lib/cpu
 * CPU time of a process tree from /proc (Linux only): utime+stime of a root pid and all its descendants, plus
 * the cutime+cstime of their reaped children, so a worker that exits during a run is still counted by its parent.
 * Also the machine-wide busy share from /proc/stat. Runs in the bench process; pure reads, no side effects.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc times (`getconf CLK_TCK`; 100 on every Linux we run on). */
export const CLK_TCK = readClockTicks();

/** One /proc/<pid>/stat line, reduced to what the bench needs. */
export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly ticks: number;
}

/**
 * Parse /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself contain spaces or ')',
 * so split after the last ')'. Fields are 1-based as in proc(5): 4 ppid, 14 utime, 15 stime, 16 cutime, 17 cstime.
 */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number.parseInt(text, 10);
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const field = (n: number): number => Number(rest[n - 3]);
  const ticks = field(14) + field(15) + field(16) + field(17);
  if (!Number.isFinite(pid) || !Number.isFinite(ticks)) return null;
  return { pid, ppid: field(4), ticks };
}

/** Every process on the machine, by pid (a process that vanishes mid-scan is skipped). */
function scanProcs(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const st = parseProcStat(text);
    if (st !== null) out.set(st.pid, st);
  }
  return out;
}

/**
 * The pids of all live descendants of `root` (not including root). /proc/<pid>/task/<tid>/children needs
 * CONFIG_PROC_CHILDREN, which this machine's kernel lacks, so we build the tree from every process's ppid.
 */
export function descendantsOf(root: number, procs: Map<number, ProcStat> = scanProcs()): number[] {
  const children = new Map<number, number[]>();
  for (const st of procs.values()) {
    const list = children.get(st.ppid);
    if (list === undefined) children.set(st.ppid, [st.pid]);
    else list.push(st.pid);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU ticks so far of each live process in the tree of `root` (root included; empty if root is gone). */
export function treeTicks(root: number): Map<number, number> {
  const procs = scanProcs();
  const out = new Map<number, number>();
  const rootStat = procs.get(root);
  if (rootStat === undefined) return out;
  out.set(root, rootStat.ticks);
  for (const pid of descendantsOf(root, procs)) out.set(pid, procs.get(pid)?.ticks ?? 0);
  return out;
}

/** CPU seconds used so far by `root` and its descendants (0 if root is gone). */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const t of treeTicks(root).values()) ticks += t;
  return ticks / CLK_TCK;
}

/** CPU seconds of one process of a tree between two samples. */
export interface ProcessCpu {
  readonly pid: number;
  /** Short command line, e.g. 'node dist/workers/edge.js' or 'nginx: worker process'. */
  readonly command: string;
  readonly cpuS: number;
}

/**
 * Per-process CPU between two treeTicks samples, for processes alive at the end; a process that exited in between
 * shows up in its parent's figure (cutime). Sorted by pid, so the root (oldest) comes first.
 */
export function perProcessCpu(before: Map<number, number>, after: Map<number, number>): ProcessCpu[] {
  return [...after.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([pid, ticks]) => ({ pid, command: shortCommand(pid), cpuS: (ticks - (before.get(pid) ?? 0)) / CLK_TCK }));
}

function shortCommand(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    // nginx rewrites its argv into one title string: 'nginx: master process /usr/sbin/nginx -p ...'.
    if (argv.length === 1 && (argv[0] ?? '').includes(' ')) return (argv[0] ?? '').split(' ').slice(0, 3).join(' ');
    const exe = (argv[0] ?? '').split('/').pop() ?? '';
    const rest = argv.slice(1, 3).map((a) => a.replace(/^.*\/(dist\/)/, '$1'));
    return [exe, ...rest].join(' ');
  } catch {
    return '?';
  }
}

/** Aggregate jiffies of the first line of /proc/stat: busy (steal included), total, and steal. */
export interface MachineTicks {
  readonly busy: number;
  readonly total: number;
  /** Time the hypervisor ran something else while this VM wanted the CPU. */
  readonly steal: number;
}

/** Machine-wide CPU counters (all cores). */
export function machineTicks(): MachineTicks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest* are already in user/nice.
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total, steal: v[7] ?? 0 };
}

/** CPU seconds the hypervisor took from this VM between two samples (all cores). */
export function stealSeconds(before: MachineTicks, after: MachineTicks): number {
  return Math.round(((after.steal - before.steal) / CLK_TCK) * 1000) / 1000;
}

/** Percent of all cores busy between two samples (100 = every core saturated). */
export function busyPercent(before: MachineTicks, after: MachineTicks): number {
  const total = after.total - before.total;
  return total > 0 ? (100 * (after.busy - before.busy)) / total : 0;
}

function readClockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/**
 * CPU seconds of this process's children that have exited and been reaped (cutime+cstime of /proc/self/stat).
 * The bench's only short-lived child during a measured run is wrk, so the delta over a run is wrk's CPU.
 */
export function reapedChildrenCpuSeconds(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  return (Number(rest[16 - 3]) + Number(rest[17 - 3])) / CLK_TCK;
}
