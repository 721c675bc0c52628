#!/usr/bin/env node
/**
 * @module main
 * The `flint` command. `flint start [--conf DIR] [--demo-origin]` runs the primary (which forks the workers);
 * `flint check-config [--conf DIR | DIR]` validates a config like `nginx -t` (exit 0 valid, 1 invalid); `reload`,
 * `purge|expire|hardpurge|expireafter` and `fileinfo` call a running Flint's management port (src/cli/).
 * `flint stats [--vhost NAME] [--watch]` shows live traffic from the management port (src/cli/stats.ts).
 * `flint fleet ...` runs fleet commands through the management port (src/cli/fleet.ts).
 * `flint sign-url URL --expires SECONDS` prints a signed link for a vhost's <SignedUrl> (src/cli/sign-url.ts).
 * Refuses to start when the uWS native binary cannot load. Wiring only.
 */
// First: no Node default action for SIGUSR1/SIGUSR2 while the other modules load.
import './logs/signal-guard.js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config/load.js';
import { policySummary } from './config/policy-summary.js';
import type { Config } from './config/types.js';
import type { FlintError } from './errors.js';
import { ConfigError } from './errors.js';
import { loadNativeUws } from './http/uws.js';
import { createProcessLogger } from './log.js';
import { Primary } from './primary/primary.js';
import { runCli } from './cli/manager-client.js';
import { reloadCommand } from './cli/reload.js';
import { purgeCommand } from './cli/purge.js';
import { fileinfoCommand } from './cli/fileinfo.js';
import { statsCommand } from './cli/stats.js';
import { signUrlCommand } from './cli/sign-url.js';
import { fleetCommand } from './cli/fleet.js';

const DEFAULT_CONF = fileURLToPath(new URL('../../conf', import.meta.url));
const DEMO_ORIGIN = fileURLToPath(new URL('../demo/origin.js', import.meta.url));

const USAGE = `usage:
  flint start [--conf DIR] [--demo-origin]   run Flint (default conf: ${DEFAULT_CONF})
  flint check-config [--conf DIR | DIR]      validate server.xml + vhosts.xml, exit 0 if valid, 1 if not
  flint reload [--conf DIR]                  reload the running Flint's config (like SIGHUP)
  flint purge|expire|hardpurge URL...        cache control; URL = host/path or a glob (host/img/*.jpg)
  flint purge|expire|hardpurge --tag TAG... [--vhost NAME]
                                             cache control of every object carrying a tag (Surrogate-Key, Cache-Tag)
  flint expireafter SECONDS URL...           set the expiry of URL to now + SECONDS
  flint fileinfo URL [--json]                what the cache holds for URL, per variant
  flint stats [--vhost NAME] [--watch]       live traffic table
  flint fleet purge|expire|hardpurge|push|status|stats ...
                                             fleet-wide commands through NATS (see flint fleet)
  flint sign-url URL --expires SECONDS [--client-ip IP] [--conf DIR]
                                             print URL signed for its vhost's <SignedUrl> (no running Flint needed)
  (the management port is read from --conf, default ${DEFAULT_CONF})`;

/** Commands that take positional arguments (URLs, seconds) and talk to a running Flint. */
const CONTROL_COMMANDS = new Set(['purge', 'expire', 'hardpurge', 'expireafter', 'fileinfo']);

interface Args {
  readonly command: string;
  readonly confDir: string;
  readonly demoOrigin: boolean;
  /** URLs and other operands of the control commands. */
  readonly operands: readonly string[];
}

function parseArgs(argv: readonly string[]): Args {
  const [command = '', ...rest] = argv;
  let confDir = DEFAULT_CONF;
  let demoOrigin = false;
  const operands: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--conf') {
      const value = rest[++i];
      if (value === undefined) fail('--conf needs a directory');
      confDir = value;
    } else if (arg === '--demo-origin') demoOrigin = true;
    else if (!arg.startsWith('-') && command === 'check-config') confDir = arg;
    else if (CONTROL_COMMANDS.has(command) && (!arg.startsWith('-') || arg === '--json' || arg === '--tag' || arg === '--vhost')) operands.push(arg);
    else fail(`unknown argument: ${arg}`);
  }
  return { command, confDir: resolve(confDir), demoOrigin, operands };
}

function fail(message: string): never {
  console.error(`flint: ${message}\n${USAGE}`);
  process.exit(2);
}

function loadOrExit(confDir: string): Config {
  try {
    return loadConfig(confDir);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`flint: invalid configuration in ${confDir}:\n${error.problems.map((p) => `  ${p}`).join('\n')}`);
      process.exit(1);
    }
    throw error;
  }
}

function checkConfig(confDir: string): never {
  const config = loadOrExit(confDir);
  console.log(`flint: configuration in ${confDir} is valid (${config.vhosts.length} vhost(s), hash ${config.hash.slice(0, 12)})`);
  for (const line of policySummary(config)) console.log(`  ${line}`);
  process.exit(0);
}

async function start(args: Args): Promise<void> {
  try {
    loadNativeUws();
  } catch (error) {
    console.error(`flint: ${(error as FlintError).message}`);
    process.exit(1);
  }
  const config = loadOrExit(args.confDir);
  const log = createProcessLogger(config.server.log.level, config.server.log.infoPath, { role: 'primary' });
  let demo: ChildProcess | null = null;
  if (args.demoOrigin) {
    demo = spawn(process.execPath, [DEMO_ORIGIN], { stdio: 'inherit' });
    process.on('exit', () => demo?.kill());
  }
  const primary = new Primary(config, log);
  // SIGUSR1 would otherwise open Node's inspector on 127.0.0.1:9229 (anyone on the machine could run code as
  // Flint), and SIGUSR2's default action kills the process: USR1 reopens the log files (as nginx), USR2 is ignored.
  process.on('SIGUSR1', () => void primary.reopenLogs('SIGUSR1'));
  process.on('SIGUSR2', () => log.warn({ event: 'signal.ignored', signal: 'SIGUSR2' }, 'SIGUSR2 ignored'));
  process.on('SIGHUP', () => {
    primary.reload();
    void primary.reopenLogs('SIGHUP');
  });
  process.on('SIGTERM', () => void primary.stop('SIGTERM'));
  process.on('SIGINT', () => void primary.stop('SIGINT'));
  try {
    await primary.start();
  } catch (error) {
    log.fatal({ event: 'flint.start_failed', err: error }, `flint could not start: ${(error as Error).message}`);
    console.error(`flint: could not start: ${(error as Error).message}`);
    await primary.stop('startup-failure', 1);
  }
}

if (process.argv[2] === 'stats') process.exit(await statsCommand(process.argv.slice(3), DEFAULT_CONF));
if (process.argv[2] === 'fleet') await runCli(() => fleetCommand(process.argv.slice(3), DEFAULT_CONF));
if (process.argv[2] === 'sign-url') process.exit(signUrlCommand(process.argv.slice(3), DEFAULT_CONF));
const args = parseArgs(process.argv.slice(2));
if (args.command === 'check-config') checkConfig(args.confDir);
else if (args.command === 'start') await start(args);
else if (args.command === 'reload') await runCli(() => reloadCommand(args.confDir));
else if (args.command === 'fileinfo') await runCli(() => fileinfoCommand(args.confDir, args.operands));
else if (CONTROL_COMMANDS.has(args.command)) await runCli(() => purgeCommand(args.confDir, args.command as 'purge', args.operands));
else fail(args.command === '' ? 'no command given' : `unknown command: ${args.command}`);
