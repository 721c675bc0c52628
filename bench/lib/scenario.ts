/**
 * @module bench/lib/scenario
 * The contract between the CLI (bench/run.ts) and each scenario: the options a run was asked for, the tools
 * found on this machine, and what a scenario hands back (one record per target, plus skip lines).
 */
import type { OriginKind } from '../targets/origin.js';
import type { RunRecord } from './results.js';

/** Reverse proxies Flint is compared with. */
export const PEERS = ['nginx', 'varnish'] as const;
export type PeerName = (typeof PEERS)[number];

/** Everything a scenario needs to know about the run it is part of. */
export interface BenchOptions {
  /** Seconds of measured load per target. */
  readonly durationS: number;
  readonly connections: number;
  /** wrk threads. */
  readonly threads: number;
  /** Measured runs per target, back to back on the same started target. */
  readonly repeat: number;
  /** Measure a scenario's targets in reverse order (the even rounds of --rounds), so a drift in time cancels. */
  readonly reverse: boolean;
  /** Seconds of unrecorded load before each measured run (JIT, connection pools). */
  readonly warmupS: number;
  /** Peers asked for (each is still skipped when not installed). */
  readonly peers: ReadonlySet<PeerName>;
  /** Only these target names, or null for all. */
  readonly targets: ReadonlySet<string> | null;
  readonly originKind: OriginKind;
  /** Parent dir of the cache storage of Flint and nginx in the cache scenarios (default /dev/shm, a tmpfs). */
  readonly cacheRoot: string;
  /** Absolute paths of external tools, null when not installed. */
  readonly tools: { readonly wrk: string | null; readonly nginx: string | null; readonly varnish: string | null; readonly h2load: string | null };
}

/** What a scenario returns. */
export interface ScenarioResult {
  readonly runs: RunRecord[];
  /** Exact config (program, argv) of the origin the scenario used; null when it never started. */
  readonly originConfigs: Readonly<Record<string, string>> | null;
  /** Human-readable skip lines, e.g. "skip varnish: varnishd is not installed (apt-get install ...)". */
  readonly skipped: string[];
}

/** A named, self-contained measurement: it starts what it needs and stops all of it before returning. */
export interface Scenario {
  readonly name: string;
  /** One line for --help and the results file. */
  readonly summary: string;
  run(opts: BenchOptions, log: (line: string) => void): Promise<ScenarioResult>;
}
