/**
 * @module cli/fleet
 * `flint fleet purge|expire|hardpurge URL... [--group G] [--wait 5s]` (or `--tag TAG... [--vhost NAME]` for the
 * objects carrying a tag, issue 24), `flint fleet push [--group G] [--version N]
 * [--wait 5s]`, `flint fleet status [--group G]` and `flint fleet stats [--group G] [--wait 5s]`, all with
 * `[--conf DIR]`: they call /fleet/* on the management port of the Flint configured in DIR, which talks to NATS.
 * `push` first validates DIR as `flint check-config` does and sends its vhosts.xml and rule files (server.xml stays
 * each node's own). Prints per node what happened; exit 0 when every member applied, 1 otherwise (a node missing
 * or refusing, NATS unreachable, a bad argument). Runs in the CLI process only.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { listRuleFiles, loadConfig } from '../config/load.js';
import { parseFleetName } from '../config/cluster.js';
import { ConfigError } from '../errors.js';
import { CliError, callManager, errorText } from './manager-client.js';

const USAGE = `usage:
  flint fleet purge|expire|hardpurge URL... [--group G] [--wait 5s] [--conf DIR]
  flint fleet purge|expire|hardpurge --tag TAG... [--vhost NAME] [--group G] [--wait 5s] [--conf DIR]
  flint fleet push [--group G] [--version N] [--wait 5s] [--conf DIR]   push DIR's vhosts.xml and svc/ (or version N again)
  flint fleet status [--group G] [--conf DIR]
  flint fleet stats [--group G] [--wait 5s] [--conf DIR]`;

interface FleetArgs {
  readonly command: string;
  readonly confDir: string;
  readonly group: string | null;
  readonly wait: string | null;
  readonly version: string | null;
  /** --tag: the operands are tags, not URLs. */
  readonly tag: boolean;
  readonly vhost: string | null;
  readonly operands: readonly string[];
}

function parse(argv: readonly string[], defaultConf: string): FleetArgs {
  const [command = '', ...rest] = argv;
  let confDir = defaultConf;
  let group: string | null = null;
  let wait: string | null = null;
  let version: string | null = null;
  let tag = false;
  let vhost: string | null = null;
  const operands: string[] = [];
  const purging = ['purge', 'expire', 'hardpurge'].includes(command);
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const value = (): string => {
      const next = rest[++i];
      if (next === undefined) throw new CliError(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === '--conf') confDir = value();
    else if (arg === '--group') group = value();
    else if (arg === '--wait') wait = value();
    else if (arg === '--version' && command === 'push') version = value();
    else if (arg === '--tag' && purging) tag = true;
    else if (arg === '--vhost' && purging) vhost = value();
    else if (!arg.startsWith('-') && purging) operands.push(arg);
    else throw new CliError(`unknown argument: ${arg}\n${USAGE}`);
  }
  if (group !== null && !parseFleetName(group).ok) throw new CliError(`--group ${JSON.stringify(group)} is not a fleet name (1-64 letters, digits, - or _)`);
  if (wait !== null && !/^\d{1,3}(\.\d{1,3})?s?$/.test(wait)) throw new CliError(`--wait ${JSON.stringify(wait)} is not a number of seconds (e.g. 5 or 5s)`);
  if (version !== null && !/^[1-9]\d{0,15}$/.test(version)) throw new CliError(`--version ${JSON.stringify(version)} is not a version number`);
  if (vhost !== null && !tag) throw new CliError(`--vhost goes with --tag (a URL names its host)\n${USAGE}`);
  return { command, confDir: resolve(confDir), group, wait, version, tag, vhost, operands };
}

function query(args: FleetArgs, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (args.group !== null) params.set('group', args.group);
  if (args.wait !== null) params.set('wait', args.wait);
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return params.toString();
}

/** Parses a /fleet answer; throws CliError with the server's message for anything but 200. */
async function call<T>(args: FleetArgs, path: string, body?: string): Promise<T> {
  const reply = await callManager(args.confDir, path, body === undefined && !path.startsWith('/fleet/command/') ? {} : { method: 'POST', ...(body === undefined ? {} : { body }) });
  if (reply.status !== 200) throw new CliError(`${path.split('?')[0] ?? path} failed (${reply.status}): ${errorText(reply.text)}`);
  try {
    return JSON.parse(reply.text) as T;
  } catch {
    throw new CliError(`unexpected answer: ${reply.text.slice(0, 200)}`);
  }
}

interface PurgeAnswer {
  readonly Time: number;
  readonly applied: ReadonlyArray<{ node: string; status: number; Count: number; Size: number; Denied?: string[]; Errors?: string[] }>;
  readonly missing: readonly string[];
}

async function purge(args: FleetArgs): Promise<number> {
  if (args.operands.length === 0) {
    throw new CliError(args.tag ? `usage: flint fleet ${args.command} --tag TAG... [--vhost NAME]` : `usage: flint fleet ${args.command} URL... (host/path, or a glob like example.com/img/*.jpg)`);
  }
  const form = args.tag
    ? query(args, { tag: args.operands.join(' '), ...(args.vhost === null ? {} : { vhost: args.vhost }) })
    : `${query(args)}${args.group !== null || args.wait !== null ? '&' : ''}url=${args.operands.map((u) => u.replace(/%/g, '%25').replace(/&/g, '%26')).join('|')}`;
  const answer = await call<PurgeAnswer>(args, `/fleet/command/${args.command}`, form);
  console.log(`${args.command}: applied by ${answer.applied.length} node(s), last acknowledgement after ${answer.Time} ms`);
  let problems = 0;
  for (const node of answer.applied) {
    console.log(`  ${node.node}: ${node.Count} object(s), ${node.Size} bytes`);
    for (const denied of node.Denied ?? []) console.error(`    denied: ${denied}`);
    for (const error of node.Errors ?? []) console.error(`    error: ${error}`);
    problems += (node.Errors ?? []).length;
  }
  if (answer.missing.length > 0) console.error(`  not applied within the wait: ${answer.missing.join(', ')} (they apply it when they are back)`);
  return answer.missing.length === 0 && problems === 0 ? 0 : 1;
}

interface PushAnswer {
  readonly version: number;
  readonly rollbackOf: number | null;
  readonly applied: readonly string[];
  readonly refused: ReadonlyArray<{ node: string; problems: readonly string[] }>;
  readonly missing: readonly string[];
}

async function push(args: FleetArgs): Promise<number> {
  let body: string | undefined;
  if (args.version === null) {
    try {
      loadConfig(args.confDir);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new CliError(`not pushed: the configuration in ${args.confDir} is invalid:\n${error.problems.map((p) => `  ${p}`).join('\n')}`);
    }
    const rules = listRuleFiles(args.confDir, []).map((r) => ({ path: r.path, text: r.text }));
    body = JSON.stringify({ vhosts: readFileSync(join(args.confDir, 'vhosts.xml'), 'utf8'), rules });
  }
  const q = query(args, args.version === null ? {} : { version: args.version });
  const answer = await call<PushAnswer>(args, `/fleet/command/push${q === '' ? '' : `?${q}`}`, body ?? '');
  console.log(`pushed config version ${answer.version}${answer.rollbackOf === null ? '' : ` (version ${answer.rollbackOf} again)`}`);
  for (const node of answer.applied) console.log(`  ${node}: applied`);
  for (const node of answer.refused) console.error(`  ${node.node}: refused\n${node.problems.map((p) => `    ${p}`).join('\n')}`);
  if (answer.missing.length > 0) console.error(`  no report within the wait: ${answer.missing.join(', ')}`);
  return answer.refused.length === 0 && answer.missing.length === 0 ? 0 : 1;
}

interface StatusAnswer {
  readonly nodes: ReadonlyArray<{ node: string; group: string | null; configVersion: number | null; configResult: string | null; healthy: boolean; silent?: boolean; requestsPerSec: number; requestHitRatio: number; lastSeen: string }>;
}

async function status(args: FleetArgs): Promise<number> {
  const q = query(args);
  const answer = await call<StatusAnswer>(args, `/fleet/status${q === '' ? '' : `?${q}`}`);
  const rows = [['NODE', 'GROUP', 'CONFIG', 'HEALTH', 'REQ/S', 'HIT', 'LAST SEEN']];
  for (const n of answer.nodes) {
    const age = Math.max(0, Math.round((Date.now() - Date.parse(n.lastSeen)) / 1000));
    rows.push([n.node, n.group ?? '-', n.configVersion === null ? '-' : `${n.configVersion} ${n.configResult ?? ''}`, n.healthy ? 'ok' : n.silent === true ? 'silent' : 'down', String(n.requestsPerSec), `${Math.round(n.requestHitRatio * 1000) / 10}%`, `${age}s ago`]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
  return 0;
}

interface StatsAnswer {
  readonly nodes: Record<string, { totals?: { requests?: number }; realtime?: { host?: { perSecond?: { requests?: number }; requestHitRatio?: number } } }>;
  readonly missing: readonly string[];
  readonly total: { nodes: number; totals: { requests?: number }; perSecond: { requests?: number }; requestHitRatio: number };
}

async function stats(args: FleetArgs): Promise<number> {
  const q = query(args);
  const answer = await call<StatsAnswer>(args, `/fleet/stats${q === '' ? '' : `?${q}`}`);
  for (const [node, s] of Object.entries(answer.nodes).sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${node}: ${s.totals?.requests ?? 0} requests, ${s.realtime?.host?.perSecond?.requests ?? 0} req/s, hit ${Math.round((s.realtime?.host?.requestHitRatio ?? 0) * 1000) / 10}% (last second)`);
  }
  console.log(`total (${answer.total.nodes} node(s)): ${answer.total.totals.requests ?? 0} requests, ${answer.total.perSecond.requests ?? 0} req/s, request hit ratio ${Math.round(answer.total.requestHitRatio * 1000) / 10}%`);
  if (answer.missing.length > 0) console.error(`no answer within the wait: ${answer.missing.join(', ')}`);
  return answer.missing.length === 0 ? 0 : 1;
}

/** `flint fleet ...`; returns the exit code. Throws CliError for the caller (runCli) to print. */
export async function fleetCommand(argv: readonly string[], defaultConf: string): Promise<number> {
  const args = parse(argv, defaultConf);
  if (['purge', 'expire', 'hardpurge'].includes(args.command)) return purge(args);
  if (args.command === 'push') return push(args);
  if (args.command === 'status') return status(args);
  if (args.command === 'stats') return stats(args);
  throw new CliError(args.command === '' ? `no fleet command given\n${USAGE}` : `unknown fleet command: ${args.command}\n${USAGE}`);
}
