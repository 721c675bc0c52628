/**
 * @module bench/lib/wrk
 * Run wrk (always with --latency, always bounded by a kill timer) and parse its text report, including the
 * latency distribution. wrk prints times with us/ms/s/m/h suffixes and bytes with 1024-based B/KB/MB/GB
 * suffixes (so its "MB" is a MiB). Runs in the bench process.
 */
import { spawnTracked, stopTracked } from './processes.js';

/** What one wrk run measured; latencies in milliseconds, bytes exact to wrk's 2 printed decimals. */
export interface WrkReport {
  readonly requests: number;
  readonly durationS: number;
  readonly bytesRead: number;
  readonly requestsPerSec: number;
  readonly bytesPerSec: number;
  readonly latencyMs: {
    readonly avg: number;
    readonly stdev: number;
    readonly max: number;
    readonly p50: number;
    readonly p75: number;
    readonly p90: number;
    readonly p99: number;
  };
  readonly errors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly timeout: number;
    readonly non2xx3xx: number;
    /** Sum of the above. */
    readonly total: number;
  };
}

/** How to load one URL. */
export interface WrkOptions {
  readonly url: string;
  readonly threads: number;
  readonly connections: number;
  readonly durationS: number;
  /** A wrk Lua script (`-s`), e.g. one that makes every request's path distinct. */
  readonly script?: string;
  /** wrk --timeout in seconds (wrk's default is 2: a response slower than that counts as a timeout error). */
  readonly timeoutS?: number;
  /** Request headers sent with every request (`-H 'Name: value'`), e.g. If-None-Match. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The exact argv passed to wrk (recorded with each result). */
export function wrkArgs(o: WrkOptions): string[] {
  const script = o.script === undefined ? [] : ['-s', o.script];
  const timeout = o.timeoutS === undefined ? [] : ['--timeout', `${o.timeoutS}s`];
  const headers = Object.entries(o.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  return [`-t${o.threads}`, `-c${o.connections}`, `-d${o.durationS}s`, '--latency', ...timeout, ...headers, ...script, o.url];
}

/**
 * Runs a load client (wrk, h2load) to completion and returns its stdout; it is killed if it outlives `durationS`
 * by 15 s. Throws with the client's output when it fails.
 */
export async function runLoadClient(label: string, bin: string, args: readonly string[], durationS: number): Promise<string> {
  const t = await spawnTracked(label, bin, [...args], { captureStdout: true });
  const limit = setTimeout(() => void stopTracked(t, 2_000), (durationS + 15) * 1000);
  const code = await t.exited;
  clearTimeout(limit);
  if (code !== 0) {
    const how = typeof code === 'string' ? `was killed by ${code}` : `exited with ${code}`;
    const out = t.output().trim();
    throw new Error(`${label} ${how}${out === '' ? '' : `: ${out}`}`);
  }
  return t.stdout();
}

/** Run wrk to completion (runLoadClient). */
export async function runWrk(o: WrkOptions, wrkBin = 'wrk'): Promise<{ report: WrkReport; raw: string }> {
  const raw = await runLoadClient('wrk', wrkBin, wrkArgs(o), o.durationS);
  return { report: parseWrk(raw), raw };
}

const TIME_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const BYTES: Readonly<Record<string, number>> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4, PB: 1024 ** 5 };

/** "445.12us" -> 0.44512 (ms). Throws on an unknown unit, so a format change never passes silently. */
export function parseTimeMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (m === null) throw new Error(`wrk: cannot parse time '${text}'`);
  return round6(Number(m[1]) * (TIME_MS[m[2] as string] as number));
}

/** "566.44KB" -> 580034.56 (bytes). */
export function parseBytes(text: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB|TB|PB)$/.exec(text.trim());
  if (m === null) throw new Error(`wrk: cannot parse bytes '${text}'`);
  return round6(Number(m[1]) * (BYTES[m[2] as string] as number));
}

/** Drop float noise from unit scaling (0.57000000000001 -> 0.57); wrk prints 2 decimals anyway. */
function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** Parse wrk 4.x stdout (run with --latency). Throws naming the line that is missing. */
export function parseWrk(out: string): WrkReport {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(out);
    if (m === null) throw new Error(`wrk output has no ${what} line:\n${out}`);
    return m;
  };
  const lat = need(/^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%\s*$/m, 'Latency stats');
  const pct = (p: number): number => parseTimeMs(need(new RegExp(`^\\s*${p}%\\s+(\\S+)\\s*$`, 'm'), `${p}% latency`)[1] as string);
  const total = need(/^\s*(\d+) requests in (\S+), (\S+) read\s*$/m, 'requests-in');
  const rps = need(/^Requests\/sec:\s+([\d.]+)\s*$/m, 'Requests/sec');
  const tps = need(/^Transfer\/sec:\s+(\S+)\s*$/m, 'Transfer/sec');
  // Both error lines are printed only when non-zero.
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const connect = Number(sock?.[1] ?? 0);
  const read = Number(sock?.[2] ?? 0);
  const write = Number(sock?.[3] ?? 0);
  const timeout = Number(sock?.[4] ?? 0);
  const bad = Number(non2xx?.[1] ?? 0);
  return {
    requests: Number(total[1]),
    durationS: parseTimeMs(total[2] as string) / 1000,
    bytesRead: parseBytes(total[3] as string),
    requestsPerSec: Number(rps[1]),
    bytesPerSec: parseBytes(tps[1] as string),
    latencyMs: {
      avg: parseTimeMs(lat[1] as string),
      stdev: parseTimeMs(lat[2] as string),
      max: parseTimeMs(lat[3] as string),
      p50: pct(50),
      p75: pct(75),
      p90: pct(90),
      p99: pct(99),
    },
    errors: { connect, read, write, timeout, non2xx3xx: bad, total: connect + read + write + timeout + bad },
  };
}
