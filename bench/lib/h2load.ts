/**
 * @module bench/lib/h2load
 * Run h2load (Debian's nghttp2-client) for a bounded count of requests over HTTP/2 with TLS, always bounded by a
 * kill timer, and turn its report into the same figures as a wrk run. Count mode (`-n`), not duration mode (`-D`):
 * at the end of a `-D` run h2load sends GOAWAY and stops reading, and node:http2's graceful session close then waits
 * for streams that cannot flush until its idle timeout (seen on every node:http2 server under load, the bare floors
 * included), so the run never ends. The count is REQUESTS_PER_SECOND x the duration: the slowest server measured
 * (Flint over node:http2, ~20k req/s on one core) finishes well inside the duration, faster ones sooner; CPU per
 * request does not depend on how long the run took. h2load prints no latency percentiles (only min, max,
 * mean and sd of "time for request"), so every run also writes h2load's per-request log (`--log-file`: start time,
 * status, microseconds to the end of the response) into a temp dir, and p50/p75/p90/p99 come from it. The log costs
 * h2load some CPU, never the server's. Runs in the bench process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTimeMs, runLoadClient } from './wrk.js';
import { makeTempDir, removeTempDir } from '../targets/target.js';
import type { LoadClient } from './measure.js';
import type { BenchOptions } from './scenario.js';
import type { WrkReport } from './wrk.js';

/** How to load one URL. */
export interface H2loadOptions {
  readonly url: string;
  readonly threads: number;
  /** h2load -c: client connections. */
  readonly connections: number;
  /** h2load -m: concurrent streams per connection. */
  readonly streams: number;
  readonly durationS: number;
  /** Where the per-request log goes (a file in a temp dir); omitted from the recorded command when undefined. */
  readonly logFile?: string;
}

/** Requests per second of the configured duration a run sends (see the header). */
const REQUESTS_PER_SECOND = 10_000;

/** The exact argv passed to h2load (recorded with each result; the log file path is a temp dir's). */
export function h2loadArgs(o: H2loadOptions): string[] {
  const log = o.logFile === undefined ? [] : [`--log-file=${o.logFile}`];
  return [`-t${o.threads}`, `-c${o.connections}`, `-m${o.streams}`, `-n${Math.max(1, Math.round(o.durationS * REQUESTS_PER_SECOND))}`, ...log, o.url];
}

/** h2load on `url` as a measureTarget load client: --connections connections x `streams` streams, --threads threads. */
export function h2loadClient(url: string, o: BenchOptions, bin: string, streams: number): LoadClient {
  const base = { url, threads: o.threads, connections: o.connections, streams };
  return {
    command: [bin, ...h2loadArgs({ ...base, durationS: o.durationS, logFile: 'TMP/requests.log' })],
    run: (durationS) => runH2load({ ...base, durationS }, bin),
  };
}

/** What h2load said beyond the wrk-shaped figures. */
export type H2loadExtra = {
  /** ALPN protocol of the connections ('h2' when HTTP/2 was really used). */
  readonly alpn: string;
  readonly tlsProtocol: string;
  readonly cipher: string;
};

/** Run h2load to completion; killed if it outlives its duration by 15 s. Throws with its output on failure. */
export async function runH2load(o: H2loadOptions, bin: string): Promise<{ report: WrkReport; raw: string; extra: H2loadExtra }> {
  const dir = makeTempDir('h2load');
  try {
    const logFile = join(dir, 'requests.log');
    const raw = await runLoadClient('h2load', bin, h2loadArgs({ ...o, logFile }), o.durationS);
    return parseH2load(raw, readFileSync(logFile, 'utf8'));
  } finally {
    removeTempDir(dir);
  }
}

/** Parse h2load 1.52's stdout and its per-request log. Throws naming the line that is missing. */
export function parseH2load(out: string, log: string): { report: WrkReport; raw: string; extra: H2loadExtra } {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(out);
    if (m === null) throw new Error(`h2load output has no ${what} line:\n${out}`);
    return m;
  };
  const finished = need(/^finished in (\S+), ([\d.]+) req\/s/m, 'finished-in');
  const req = need(/^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m, 'requests');
  const codes = need(/^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m, 'status codes');
  const traffic = need(/^traffic: \S+ \((\d+)\) total/m, 'traffic');
  const time = need(/^time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/m, 'time for request');
  const alpn = /^Application protocol: (\S+)/m.exec(out)?.[1] ?? 'none';
  const tlsProtocol = /^TLS Protocol: (\S+)/m.exec(out)?.[1] ?? 'unknown';
  const cipher = /^Cipher: (\S+)/m.exec(out)?.[1] ?? 'unknown';
  const durationS = parseTimeMs(finished[1] as string) / 1000;
  const done = Number(req[3]);
  const bytes = Number(traffic[1]);
  const pct = percentiles(log);
  const failed = Number(req[5]);
  const errored = Number(req[6]);
  const timeout = Number(req[7]);
  const non2xx = Number(codes[2]) + Number(codes[3]) + Number(codes[4]);
  return {
    raw: out,
    extra: { alpn, tlsProtocol, cipher },
    report: {
      requests: done,
      durationS,
      bytesRead: bytes,
      requestsPerSec: Number(finished[2]),
      bytesPerSec: durationS > 0 ? bytes / durationS : 0,
      latencyMs: { avg: parseTimeMs(time[3] as string), stdev: parseTimeMs(time[4] as string), max: parseTimeMs(time[2] as string), ...pct },
      // h2load's failed and errored requests count as read errors (a stream or connection that broke).
      errors: { connect: 0, read: failed + errored, write: 0, timeout, non2xx3xx: non2xx, total: failed + errored + timeout + non2xx },
    },
  };
}

/** p50..p99 in ms from h2load's log (third column: microseconds until the end of the response), failed streams left out; 0 when empty. */
function percentiles(log: string): { p50: number; p75: number; p90: number; p99: number } {
  const lines = log.split('\n');
  const us = new Float64Array(lines.length);
  let n = 0;
  for (const line of lines) {
    const [, status, third] = line.split('\t');
    if (third === undefined || status === '-1') continue; // -1: a failed stream, no response time
    const v = Number(third);
    if (Number.isFinite(v)) us[n++] = v;
  }
  const sorted = us.subarray(0, n).sort();
  const at = (p: number): number => (n === 0 ? 0 : Math.round((sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)] as number) / 10) / 100);
  return { p50: at(50), p75: at(75), p90: at(90), p99: at(99) };
}
