/**
 * @module test/helpers/flint
 * Starts the real Flint primary (which forks real workers) from dist/, on a temp conf dir with free loopback
 * ports and a temp cache dir, captures its JSON process log, and stops it by pid. Tests write the XML they need
 * through `serverXml`/`vhostXml` or by hand.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface ServerXmlOptions {
  readonly managerPort: number;
  readonly workers?: number;
  readonly dir: string;
  /** Extra XML inside <Cache>. */
  readonly cacheExtra?: string;
  /** Extra XML inside <Server> after <Cache>. */
  readonly serverExtra?: string;
  readonly allow?: readonly string[];
  readonly accessLog?: boolean;
}

export function serverXml(o: ServerXmlOptions): string {
  const allow = (o.allow ?? ['127.0.0.1']).map((a) => `<Allow>${a}</Allow>`).join('');
  return `<Server>
  <Host><Manager Port="${o.managerPort}">${allow}</Manager></Host>
  <Cache>
    <Workers>${o.workers ?? 1}</Workers>
    <CpuAffinity>OFF</CpuAffinity>
    <ShutdownTimeout>10</ShutdownTimeout>
    <Storage><Disk>${join(o.dir, 'cache')}</Disk></Storage>
    ${o.cacheExtra ?? ''}
  </Cache>
  <VHostDefault><Log><Access>${o.accessLog === false ? 'OFF' : join(o.dir, 'access.log')}</Access></Log></VHostDefault>
  ${o.serverExtra ?? ''}
</Server>
`;
}

export interface VhostXmlOptions {
  readonly name: string;
  readonly port: number;
  readonly origin: string;
  readonly aliases?: readonly string[];
  /** Extra XML inside the <Vhost>. */
  readonly extra?: string;
}

export function vhostXml(vhosts: readonly VhostXmlOptions[], defaultVhost?: string): string {
  const body = vhosts
    .map(
      (v) => `  <Vhost Name="${v.name}">
    ${(v.aliases ?? []).map((a) => `<Alias>${a}</Alias>`).join('')}
    <Listen>127.0.0.1:${v.port}</Listen>
    <Origin><Address>${v.origin}</Address></Origin>
    ${v.extra ?? ''}
  </Vhost>`,
    )
    .join('\n');
  return `<Vhosts>\n${body}\n${defaultVhost === undefined ? '' : `  <Default>${defaultVhost}</Default>\n`}</Vhosts>\n`;
}

export interface LogLine {
  readonly level?: number;
  readonly event?: string;
  readonly msg?: string;
  readonly [key: string]: unknown;
}

export class FlintProcess {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly confDir: string;
  readonly managerPort: number;
  readonly logs: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  #listeners: Array<() => void> = [];

  private constructor(dir: string, managerPort: number, nodeArgs: readonly string[] = []) {
    this.dir = dir;
    this.confDir = join(dir, 'conf');
    this.managerPort = managerPort;
    // Node options go to the primary; cluster passes them on to every worker it forks.
    this.child = spawn(process.execPath, [...nodeArgs, MAIN, 'start', '--conf', this.confDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ msg: line });
        }
        for (const listener of this.#listeners) listener();
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    // If the test process dies (runner timeout), take this Flint down with it rather than orphan it.
    const killOnExit = (): void => {
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    this.child.once('exit', () => process.off('exit', killOnExit));
  }

  /**
   * Writes the conf files into a new temp dir and starts Flint (with `nodeArgs` for node, e.g. a V8 trace flag);
   * resolves when /health says all workers listen.
   */
  static async start(build: (ctx: { dir: string; managerPort: number }) => { server: string; vhosts: string }, nodeArgs: readonly string[] = []): Promise<FlintProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'flint-test-'));
    const managerPort = await freePort();
    const { server, vhosts } = build({ dir, managerPort });
    mkdirSync(join(dir, 'conf'), { recursive: true });
    writeFileSync(join(dir, 'conf', 'server.xml'), server);
    writeFileSync(join(dir, 'conf', 'vhosts.xml'), vhosts);
    const flint = new FlintProcess(dir, managerPort, nodeArgs);
    await flint.waitHealthy();
    return flint;
  }

  /** Starts another Flint on the same directory (conf and cache) as `previous`, which must have exited. */
  static async restart(previous: FlintProcess): Promise<FlintProcess> {
    const flint = new FlintProcess(previous.dir, previous.managerPort);
    await flint.waitHealthy();
    return flint;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Polls /health until 200 (or throws after `timeoutMs`, with the process output). */
  async waitHealthy(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`flint exited with ${this.child.exitCode}: ${this.stderr}\n${this.logText()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.managerPort}/health`);
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`flint not healthy after ${timeoutMs} ms: ${this.stderr}\n${this.logText()}`);
  }

  /**
   * Calls a management endpoint and parses JSON: POST for the state-changing ones (/command/*, /conf/reload,
   * /conf/restore), as Flint requires without a token; GET for the rest.
   */
  async admin<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }> {
    let res: Response;
    try {
      const method = /^\/(?:command\/|conf\/reload|conf\/restore)/.test(path) ? 'POST' : 'GET';
      res = await fetch(`http://127.0.0.1:${this.managerPort}${path}`, { method });
    } catch (error) {
      // Say whether Flint is still running and what it logged last, so a failure in CI can be read.
      const cause = (error as { cause?: { message?: string; code?: string } }).cause;
      // A primary that just died may not have been reaped yet: give it a moment before saying it runs.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const state = this.child.exitCode === null && this.child.signalCode === null ? 'still running' : `exited with ${this.child.exitCode ?? this.child.signalCode}`;
      throw new Error(`${path} failed (${cause?.code ?? ''} ${cause?.message ?? String(error)}); flint ${state}; last log:\n${this.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}\n${this.stderr}`);
    }
    return { status: res.status, body: (await res.json()) as T };
  }

  async stats(): Promise<StatsBody> {
    return (await this.admin<StatsBody>('/stats')).body;
  }

  /** Resolves with the first log line matching `predicate` (already logged or future). */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const found = this.logs.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners = this.#listeners.filter((l) => l !== check);
        reject(new Error(`log line not seen within ${timeoutMs} ms; log:\n${this.logText()}`));
      }, timeoutMs);
      const check = (): void => {
        const line = this.logs.find(predicate);
        if (line === undefined) return;
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== check);
        resolve(line);
      };
      this.#listeners.push(check);
    });
  }

  logText(): string {
    return this.logs.map((l) => JSON.stringify(l)).join('\n');
  }

  writeConf(file: 'server.xml' | 'vhosts.xml', text: string): void {
    writeFileSync(join(this.confDir, file), text);
  }

  accessLog(): Array<Record<string, unknown>> {
    const path = join(this.dir, 'access.log');
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM and wait for exit (SIGKILL after `timeoutMs`); removes the temp dir unless `keepDir`. Returns the exit code. */
  async stop(timeoutMs = 20_000, keepDir = false): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
    return this.child.exitCode;
  }
}

export interface StatsBody {
  totals: Record<string, number> & { cacheResults: Record<string, number> };
  vhosts: Record<string, Record<string, number>>;
  workers: Array<{ index: number; pid: number | null; ready: boolean; restarts: number; requests: number; fills: number }>;
  cache: {
    requestHitRatio: number;
    byteHitRatio: number;
    hot: { hits: number; misses: number; bytes: number; objects: number };
    blockMemory: { hits: number; misses: number; hitRatio: number; bytes: number; blocks: number };
    fillsInProgress: number;
    disks: Array<{ path: string; objects: number; usedBytes: number; limitBytes: number; fillsInProgress: number; admissionSeen: number; fillRecords: number; evictedObjects: number; evictedBytes: number }>;
  };
  activeConnections: number | null;
  configHash: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
