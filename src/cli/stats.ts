/**
 * @module cli/stats
 * `flint stats [--vhost NAME] [--watch] [--conf DIR]`: reads /stats from the management port named in the config
 * (with its token, if any) and prints a table: per vhost and for the host, the last second (requests/s, hit ratio,
 * bytes/s, TTFB and completion time, responses per status class) and the 1-minute average of the host.
 * `--watch` redraws every second until Ctrl-C. Exits 1 with a plain message when Flint is not running, access is
 * denied or the vhost is unknown.
 */
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';

interface Figures {
  readonly perSecond: Record<string, number>;
  readonly ttfbMs: number;
  readonly totalMs: number;
  readonly requestHitRatio: number;
  readonly byteHitRatio: number;
}

interface Window {
  readonly seconds: number;
  readonly host: Figures & { readonly activeRequests: number; readonly clientSessions?: number };
  readonly vhosts: ReadonlyArray<Figures & { readonly name: string }>;
}

interface StatsReply {
  readonly time: string;
  readonly uptimeSec: number;
  readonly configHash: string;
  readonly totals: { readonly requests: number };
  readonly vhosts: Record<string, { readonly requests: number }>;
  readonly workers: ReadonlyArray<{ readonly ready: boolean }>;
  readonly realtime: Window;
  readonly average1: Window;
}

export class CliError extends Error {}

interface Options {
  readonly vhost: string | null;
  readonly watch: boolean;
  readonly confDir: string;
}

function parse(argv: readonly string[], defaultConf: string): Options {
  let vhost: string | null = null;
  let watch = false;
  let confDir = defaultConf;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--watch' || arg === '-w') watch = true;
    else if (arg === '--vhost' || arg === '--conf') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('-')) throw new CliError(`${arg} needs a value`);
      if (arg === '--vhost') vhost = value;
      else confDir = value;
    } else throw new CliError(`unknown argument for stats: ${arg}`);
  }
  return { vhost, watch, confDir };
}

/** Base URL and headers of the management API from the config in `confDir`. */
function manager(confDir: string): { url: string; headers: Record<string, string> } {
  let config;
  try {
    config = loadConfig(confDir);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`cannot read the configuration in ${confDir}:\n  ${error.problems.join('\n  ')}`);
    throw error;
  }
  const m = config.server.manager;
  const host = m.host === '0.0.0.0' || m.host === '' ? '127.0.0.1' : m.host === '::' ? '::1' : m.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${m.port}`,
    headers: m.token === null ? {} : { authorization: `Bearer ${m.token}` },
  };
}

async function fetchStats(base: { url: string; headers: Record<string, string> }): Promise<StatsReply> {
  let res: Response;
  try {
    res = await fetch(`${base.url}/stats`, { headers: base.headers, signal: AbortSignal.timeout(5000) });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    if (code === 'ECONNREFUSED') throw new CliError(`Flint is not running: nothing listens on the management port ${base.url} (connection refused)`);
    throw new CliError(`cannot reach the management port ${base.url}: ${code}`);
  }
  const text = await res.text();
  if (res.status === 401 || res.status === 403) {
    let reason = text.trim();
    try {
      reason = (JSON.parse(text) as { error?: string }).error ?? reason;
    } catch {
      // keep the raw text
    }
    throw new CliError(`access denied by the management port ${base.url} (HTTP ${res.status}): ${reason}`);
  }
  if (res.status !== 200) throw new CliError(`the management port ${base.url} answered HTTP ${res.status}: ${text.trim()}`);
  return JSON.parse(text) as StatsReply;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

const COLUMNS = ['', 'req/s', 'hit%', 'byte-hit%', 'out/s', 'origin-in/s', 'ttfb ms', 'total ms', '2xx/s', '3xx/s', '4xx/s', '5xx/s', 'requests'];

function row(label: string, f: Figures, total: number | string): string[] {
  const p = f.perSecond;
  const rate = (n: number | undefined): string => (n ?? 0).toFixed((n ?? 0) >= 100 ? 0 : 1);
  return [
    label,
    rate(p.requests),
    (f.requestHitRatio * 100).toFixed(1),
    (f.byteHitRatio * 100).toFixed(1),
    `${bytes(p.clientOutBytes ?? 0)}`,
    `${bytes(p.originInBytes ?? 0)}`,
    f.ttfbMs.toFixed(1),
    f.totalMs.toFixed(1),
    rate(p.responses2xx),
    rate(p.responses3xx),
    rate(p.responses4xx),
    rate(p.responses5xx),
    String(total),
  ];
}

function table(rows: readonly string[][]): string {
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ')).join('\n');
}

/** The text of one screen. */
export function render(stats: StatsReply, vhost: string | null): string {
  const rt = stats.realtime;
  const shown = vhost === null ? rt.vhosts : rt.vhosts.filter((v) => v.name === vhost);
  const rows = [COLUMNS.slice()];
  if (vhost === null) rows.push(row('host (last second)', rt.host, stats.totals.requests), row('host (1-min average)', stats.average1.host, ''));
  for (const v of shown) rows.push(row(v.name, v, stats.vhosts[v.name]?.requests ?? 0));
  const ready = stats.workers.filter((w) => w.ready).length;
  const sessions = rt.host.clientSessions === undefined ? '' : `  client connections ${rt.host.clientSessions}`;
  return [
    `Flint  ${stats.time}  up ${stats.uptimeSec} s  workers ${ready}/${stats.workers.length}  config ${stats.configHash.slice(0, 12)}`,
    `in flight ${rt.host.activeRequests}${sessions}  (rates over the last ${rt.seconds} s; requests = total since start)`,
    '',
    table(rows),
    '',
  ].join('\n');
}

/** Runs the command; resolves with the exit code (with --watch, only on error: Ctrl-C ends the process). */
export async function statsCommand(argv: readonly string[], defaultConf: string): Promise<number> {
  try {
    const options = parse(argv, defaultConf);
    const base = manager(options.confDir);
    const show = async (): Promise<string> => {
      const stats = await fetchStats(base);
      if (options.vhost !== null && !stats.realtime.vhosts.some((v) => v.name === options.vhost)) {
        throw new CliError(`unknown vhost: ${options.vhost} (known: ${stats.realtime.vhosts.map((v) => v.name).join(', ') || 'none'})`);
      }
      return render(stats, options.vhost);
    };
    if (!options.watch) {
      process.stdout.write(await show());
      return 0;
    }
    process.once('SIGINT', () => process.exit(0));
    for (;;) {
      const screen = await show();
      process.stdout.write(`\x1b[H\x1b[2J${screen}(refreshing every second, Ctrl-C to stop)\n`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    console.error(`flint: ${error.message}`);
    return 1;
  }
}
