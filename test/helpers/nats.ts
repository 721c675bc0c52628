/**
 * @module test/helpers/nats
 * Starts Debian's `nats-server` with JetStream on a loopback port with a temp store, for the fleet tests; stops it
 * by pid (SIGKILL for "NATS died", SIGTERM otherwise) and restarts it on the same port and store.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { sleep } from './flint.js';

export class NatsServer {
  readonly port: number;
  readonly storeDir: string;
  #child: ChildProcess | null = null;
  output = '';

  private constructor(port: number, storeDir: string) {
    this.port = port;
    this.storeDir = storeDir;
  }

  /** A server on a free port with a new temp store; resolves when it accepts connections. */
  static async start(): Promise<NatsServer> {
    const server = new NatsServer(await freePort(), mkdtempSync(join(tmpdir(), 'flint-nats-')));
    await server.restart();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and store. */
  async restart(): Promise<void> {
    const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.stdout?.setEncoding('utf8').on('data', (c: string) => (this.output += c));
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (this.output += c));
    const killOnExit = (): void => {
      if (child.exitCode === null) child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    const deadline = Date.now() + 10_000;
    while (!/Server is ready/.test(this.output)) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}: ${this.output}`);
      if (Date.now() > deadline) throw new Error(`nats-server not ready after 10 s: ${this.output}`);
      await sleep(20);
    }
    await new Promise<void>((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
  }

  /** Stops the server (SIGKILL: NATS dies; SIGTERM: a clean stop) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.output = '';
  }

  /** Stops the server and removes its store. */
  async close(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}
