/**
 * @module primary/primary
 * The primary process: owns the supervisor, the management server, config reload (SIGHUP) and graceful stop
 * (SIGTERM/SIGINT: stop accepting, drain in-flight responses up to <ShutdownTimeout>, exit 0). Never serves cached
 * traffic. Runs only in the primary.
 */
import type { Config } from '../config/types.js';
import { AdminServer } from '../admin/server.js';
import type { AdminViews } from '../admin/routes.js';
import { sendToWorker } from '../ipc/channel.js';
import type { Logger } from '../log.js';
import { flushLogs } from '../log.js';
import { countEstablished } from '../stats/connections.js';
import { reloadConfig } from './reload.js';
import { StatsCollector } from './stats-collector.js';
import { Evictor } from './evictor.js';
import { Monitoring } from './monitoring.js';
import { Supervisor } from './supervisor.js';
import type { Slot } from './supervisor.js';

export class Primary {
  readonly #log: Logger;
  readonly #stats = new StatsCollector();
  readonly #supervisor: Supervisor;
  readonly #admin: AdminServer;
  readonly #evictor: Evictor;
  readonly #monitoring: Monitoring;
  #config: Config;
  #stopping = false;
  #startupFailure: ((message: string) => void) | null = null;

  constructor(config: Config, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.#supervisor = new Supervisor(config, log, {
      onMessage: (slot, message) => {
        if (message.type === 'stats') this.#stats.receive(message.requestId, message.snapshot);
        else if (message.type === 'listen-failed') this.#startupFailure?.(`worker ${slot.index}: ${message.message}`);
      },
      onExit: (slot) => {
        this.#stats.retire(slot.index);
        this.#evictor.readerCheck();
      },
    });
    this.#admin = new AdminServer(config.server.manager, this.#views, log);
    this.#evictor = new Evictor(config, log);
    this.#monitoring = new Monitoring({
      collector: this.#stats,
      slots: () => this.#supervisor.slots,
      vhostNames: () => this.#config.vhosts.map((v) => v.name),
      disks: () => this.#evictor.stats(),
      evictions: () => this.#evictor.evictions(),
      refresh: () => this.#refreshStats(),
      clientSessions: () => countEstablished(new Set(this.#config.vhosts.flatMap((v) => v.listen.map((l) => l.port)))),
    });
  }

  /** Asks every live worker for a fresh counters snapshot (for exact totals). */
  #refreshStats(): Promise<void> {
    return this.#stats.refresh(this.#supervisor.slots, (slot: Slot, requestId: number) => {
      if (slot.worker !== null) sendToWorker(slot.worker, { type: 'stats-request', requestId });
    });
  }

  readonly #views: AdminViews = {
    health: () => {
      const slots = this.#supervisor.slots;
      const ready = slots.filter((s) => s.ready).length;
      return { ok: !this.#stopping && ready === slots.length && slots.length > 0, workers: slots.length, ready };
    },
    stats: async () => {
      const slots = this.#supervisor.slots;
      await this.#stats.refresh(slots, (slot: Slot, requestId: number) => {
        if (slot.worker !== null) sendToWorker(slot.worker, { type: 'stats-request', requestId });
      });
      const ports = new Set(this.#config.vhosts.flatMap((v) => v.listen.map((l) => l.port)));
      const document = this.#stats.document(slots, this.#config.hash);
      return {
        ...document,
        cache: { ...document.cache, disks: this.#evictor.stats() },
        activeConnections: await countEstablished(ports),
        ...(await this.#monitoring.statsWindows()),
      };
    },
    monitoring: {
      realtime: (vhosts) => this.#monitoring.realtime(vhosts),
      average: (minutes, vhosts) => this.#monitoring.average(minutes, vhosts),
      metrics: async () => ({ contentType: this.#monitoring.metricsContentType, text: await this.#monitoring.metrics() }),
    },
    reload: () => this.reload(),
  };

  /** Starts the management port and the workers; resolves when every worker listens. */
  async start(): Promise<void> {
    await this.#admin.listen(this.#config.server.manager);
    const ready = new Promise<void>((resolve, reject) => {
      this.#startupFailure = (message) => reject(new Error(message));
      const poll = setInterval(() => {
        if (this.#views.health().ok) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    this.#supervisor.start();
    this.#evictor.start();
    this.#monitoring.start();
    await ready;
    this.#startupFailure = null;
    const workers = this.#supervisor.slots.map((s) => s.worker?.process.pid);
    this.#log.info({ event: 'flint.ready', workers, manager: `${this.#config.server.manager.host}:${this.#config.server.manager.port}` }, 'flint ready');
  }

  /** Re-reads the config; applies it if valid, else keeps the running one. */
  reload(): { ok: boolean; problems?: readonly string[]; needsRestart?: readonly string[] } {
    const result = reloadConfig(this.#config.confDir, this.#config);
    if (!result.ok) {
      this.#log.error({ event: 'config.reload_failed', problems: result.problems }, `config reload failed, keeping the running config: ${result.problems.join('; ')}`);
      return { ok: false, problems: result.problems };
    }
    this.#config = result.config;
    this.#supervisor.config = result.config;
    this.#evictor.config = result.config;
    this.#supervisor.broadcast({ type: 'config', config: result.config });
    this.#admin.update(result.config.server.manager);
    if (result.needsRestart.length > 0) {
      this.#log.warn({ event: 'config.needs_restart', settings: result.needsRestart }, 'some changed settings take effect only after a restart');
    }
    this.#log.info({ event: 'config.reloaded', hash: result.config.hash, changed: result.changed }, 'config reloaded');
    return { ok: true, needsRestart: result.needsRestart };
  }

  /** Graceful stop: drain workers, close the management port, exit with `exitCode` (0 for a signal). */
  async stop(signal: string, exitCode = 0): Promise<never> {
    if (this.#stopping) {
      this.#log.warn({ event: 'flint.stop_forced', signal }, 'second stop signal: exiting now');
      flushLogs();
      process.exit(1);
    }
    this.#stopping = true;
    const timeoutMs = this.#config.server.shutdownTimeoutMs;
    this.#log.info({ event: 'flint.stopping', signal, timeoutMs }, 'stopping: draining in-flight responses');
    this.#monitoring.stop();
    await this.#supervisor.stop(timeoutMs);
    await this.#admin.close();
    await this.#evictor.close();
    this.#log.info({ event: 'flint.stopped' }, 'stopped');
    flushLogs();
    process.exit(exitCode);
  }
}
