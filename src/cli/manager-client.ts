/**
 * @module cli/manager-client
 * How the `flint` CLI commands talk to a running Flint: the management address, port and token come from the conf
 * directory (server.xml <Manager>), requests go over node:http, and the failures an operator meets get one clear
 * line each: not running (connection refused), access denied (403 address / 401 token or role), bad config.
 * Runs in the CLI process only.
 */
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, loadConfigFromText } from '../config/load.js';
import type { ManagerConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';

/** A management call that could not be made or was refused, with the message to print. */
export class CliError extends Error {}

export interface ManagerReply {
  readonly status: number;
  readonly text: string;
}

/** The address to connect to for a bind address (a wildcard bind is reached on loopback). */
function connectHost(bind: string): string {
  if (bind === '0.0.0.0') return '127.0.0.1';
  if (bind === '::') return '::1';
  return bind;
}

/** A vhosts.xml that always validates: used when only server.xml's <Manager> is needed. */
const STUB_VHOSTS = '<Vhosts><Vhost Name="cli.invalid"><Listen>127.0.0.1:1</Listen><Origin><Address>127.0.0.1</Address></Origin></Vhost></Vhosts>';

/**
 * <Manager> of the conf directory. A broken vhosts.xml must not stop `flint reload` from reaching the server (which
 * then reports what is wrong), so when the pair does not validate, server.xml is read on its own.
 */
function readManager(confDir: string): ManagerConfig {
  try {
    return loadConfig(confDir).server.manager;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    try {
      return loadConfigFromText(confDir, readFileSync(join(confDir, 'server.xml'), 'utf8'), STUB_VHOSTS).server.manager;
    } catch {
      throw new CliError(`cannot read the management port from ${confDir}:\n${error.problems.map((p) => `  ${p}`).join('\n')}`);
    }
  }
}

/** Calls `path` on the management port of the Flint configured in `confDir`. Throws CliError. */
export async function callManager(confDir: string, path: string, options: { method?: string; body?: string } = {}): Promise<ManagerReply> {
  const manager = readManager(confDir);
  const host = connectHost(manager.host);
  const where = `${host.includes(':') ? `[${host}]` : host}:${manager.port}`;
  const headers: Record<string, string> = {};
  if (manager.token !== null) headers.authorization = `Bearer ${manager.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const reply = await new Promise<ManagerReply>((resolve, reject) => {
    const req = request({ host, port: manager.port, path, method: options.method ?? 'GET', headers, timeout: 130_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 130 s')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') reject(new CliError(`flint is not running: nothing listens on the management port ${where} (from ${confDir}/server.xml)`));
      else reject(new CliError(`cannot reach the management port ${where}: ${error.message}`));
    });
    req.end(options.body);
  });
  if (reply.status === 403 || reply.status === 401) {
    throw new CliError(`access denied by ${where} (${reply.status}): ${errorText(reply.text)}`);
  }
  return reply;
}

/** The `error` field of a JSON error body, else the body. */
export function errorText(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON
  }
  return text.trim();
}

/** Runs a CLI command body: prints a CliError as `flint: message` and exits 1; exits with the returned code. */
export async function runCli(body: () => Promise<number>): Promise<never> {
  try {
    process.exit(await body());
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    console.error(`flint: ${error.message}`);
    process.exit(1);
  }
}
