/**
 * @module primary/primary
 * The primary process: owns the supervisor, the management server, config reload (SIGHUP) and its history, origin
 * health (primary/origin-health.ts), cache control commands (primary/cache-control.ts), stats windows and /metrics
 * (primary/monitoring.ts), the fleet (primary/fleet-member.ts, with <Cluster>), and graceful stop (SIGTERM/SIGINT: stop accepting, drain in-flight responses up to
 * <ShutdownTimeout>, exit 0), and the log files (SIGUSR1/SIGHUP reopen and rolling: logs/rotation.ts). Never serves
 * cached traffic. Runs only in the primary.
 */
import { certificateStatus, warnExpiringCertificates } from './certificate-expiry.js';
import type { Config } from '../config/types.js';
import { AdminServer } from '../admin/server.js';
import type { AdminViews } from '../admin/routes.js';
import { sendToWorker } from '../ipc/channel.js';
import type { WorkerMessage } from '../ipc/messages.js';
import type { Logger } from '../log.js';
import { flushLogs, reopenLogs } from '../log.js';
import { LogRotator } from '../logs/rotation.js';
import { warnUnverifiedOrigins } from '../origin/tls.js';
import { reloadConfig } from './reload.js';
import { StatsCollector } from './stats-collector.js';
import { Evictor } from './evictor.js';
import { OriginHealth } from './origin-health.js';
import { Monitoring } from './monitoring.js';
import { Supervisor } from './supervisor.js';
import { monitoringOriginDocument, originSummary } from './origin-report.js';
import type { Slot } from './supervisor.js';
import { CacheControl } from './cache-control.js';
import { ConfigHistory } from './config-history.js';
import { inspectUrl } from './inspector.js';
import { WorkerAcks } from './worker-acks.js';
import { roleCovers } from '../admin/access.js';
import type { ControlCommand } from '../policy/purge-target.js';
import { FleetMember } from './fleet-member.js';

export class Primary {
  readonly #log: Logger;
  readonly #stats = new StatsCollector();
  readonly #supervisor: Supervisor;
  readonly #admin: AdminServer;
  readonly #evictor: Evictor;
  readonly #health: OriginHealth;
  readonly #notices = new WorkerAcks();
  readonly #control: CacheControl;
  readonly #history: ConfigHistory;
  readonly #monitoring: Monitoring;
  /** The fleet (src/fleet/, loaded only with <Cluster><Nats>ON</Nats>). */
  readonly #fleet: FleetMember;
  /** Process, access and origin log files: rolling (Type Unit Retention Compression) and reopening on SIGUSR1/SIGHUP. */
  readonly #rotator: LogRotator;
  readonly #logReopens = new WorkerAcks();
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
        else if (message.type === 'origin-outcomes') {
          this.#health.receive(message.outcomes);
          // Every worker fails these URLs fast from now on: the origin sees one request per window, not one per worker.
          if (message.failed.length > 0) this.#supervisor.broadcast({ type: 'origin-failed-urls', failed: message.failed });
        } else if (message.type === 'origin-trial-request' && slot.worker !== null) {
          sendToWorker(slot.worker, { type: 'origin-trial', requestId: message.requestId, vhost: message.vhost, ...this.#health.grantTrial(message.vhost) });
        }
        // A (re)started worker gets the down set right after its config (the supervisor sent that on 'hello').
        else if (message.type === 'hello' && slot.worker !== null) sendToWorker(slot.worker, { type: 'origin-health', down: this.#health.downSet() });
        else if (message.type === 'cache-control-done') this.#notices.acknowledge(message.requestId);
        else if (message.type === 'cache-control-request') void this.#controlMethod(slot, message);
        else if (message.type === 'logs-reopened') this.#logReopens.acknowledge(message.requestId);
        // <RateLimit>: every other worker charges what this one admitted (pipeline/rate-limit.ts).
        else if (message.type === 'rate-usage') this.#supervisor.broadcastExcept(slot, { type: 'rate-charge', usage: message.usage });
      },
      onExit: (slot) => {
        this.#stats.retire(slot.index);
        this.#evictor.readerCheck();
      },
    });
    this.#admin = new AdminServer(config, this.#views, log);
    this.#evictor = new Evictor(config, log);
    this.#health = new OriginHealth(config, log, (down) => this.#supervisor.broadcast({ type: 'origin-health', down }));
    this.#control = new CacheControl({
      indexes: () => this.#evictor.indexes(),
      notifyWorkers: (scopes, tagged) => this.#notices.notify(this.#supervisor.slots, (requestId) => (tagged === undefined ? { type: 'cache-control', requestId, scopes } : { type: 'cache-control', requestId, scopes, tagged })),
    });
    this.#history = new ConfigHistory(config);
    this.#rotator = new LogRotator(log, async () => {
      await reopenLogs();
      await this.#logReopens.notify(this.#supervisor.slots, (requestId) => ({ type: 'logs-reopen', requestId }));
    });
    this.#monitoring = new Monitoring({
      collector: this.#stats,
      slots: () => this.#supervisor.slots,
      vhostNames: () => this.#config.vhosts.map((v) => v.name),
      disks: () => this.#evictor.stats(),
      evictions: () => this.#evictor.evictions(),
      refresh: () => this.#refreshStats(),
      clientSessions: () => this.#stats.clientConnections(),
    });
    this.#fleet = new FleetMember(
      {
        config: () => this.#config,
        history: this.#history,
        cacheControl: (command, urls) => this.#cacheControl(command, urls, 0),
        cacheControlTags: (command, tags, host) => this.#cacheControlTags(command, tags, host, 0),
        reload: () => this.reload(),
        stats: () => this.#views.stats(),
        summary: async () => {
          const host = (await this.#monitoring.realtime(null)).host;
          return { healthy: this.#views.health().ok, requestsPerSec: host.perSecond.requests ?? 0, requestHitRatio: host.requestHitRatio };
        },
      },
      log,
    );
  }

  /** Runs a management cache-control command and logs it. */
  async #cacheControl(command: ControlCommand, url: string, sec: number): Promise<{ status: number; body: unknown }> {
    const result = await this.#control.run(this.#config, command, url, sec);
    this.#log.info({ event: 'cache.control', command, url, sec, result: result.body, fills: result.fills }, `${command} done`);
    return { status: result.status, body: result.body };
  }

  /** Runs a management cache-control command on the objects carrying `tags` (in vhost `host`, or all) and logs it. */
  async #cacheControlTags(command: ControlCommand, tags: string, host: string | null, sec: number): Promise<{ status: number; body: unknown }> {
    const result = await this.#control.runTags(this.#config, command, tags, host, sec);
    this.#log.info({ event: 'cache.control', command, tags, vhost: host, sec, result: result.body, fills: result.fills }, `${command} by tag done`);
    return { status: result.status, body: result.body };
  }

  /** A PURGE/EXPIRE/HARDPURGE request a worker forwarded: allowed for Admin addresses of <Manager> when HttpMethod is ON. */
  async #controlMethod(slot: Slot, message: Extract<WorkerMessage, { type: 'cache-control-request' }>): Promise<void> {
    const manager = this.#config.server.manager;
    const access = this.#admin.access;
    const decision = access.check(message.address, message.authorization ?? undefined);
    let result: { status: number; body: unknown };
    if (!manager.httpMethod) result = { status: 405, body: { error: `${message.method} is off (<Manager HttpMethod="OFF">)` } };
    else if (decision === 'address-denied' || !roleCovers(access.roleOf(message.address) ?? 'Looker', 'Admin')) {
      result = { status: 403, body: { error: `${message.address} may not send ${message.method} (not an Admin address in <Manager><Allow>)` } };
    } else if (decision === 'token-required') {
      // 403, not the management port's 401: the service port's answer to a refused method is always 403 (issue 18).
      result = { status: 403, body: { error: `${message.method} needs the management token (Authorization: Bearer <Manager Token>)` } };
    } else {
      result = await this.#cacheControl(message.method.toLowerCase() as ControlCommand, message.url, 0);
    }
    if (slot.worker !== null) sendToWorker(slot.worker, { type: 'cache-control-result', requestId: message.requestId, status: result.status, body: result.body });
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
      await this.#refreshStats();
      const document = this.#stats.document(slots, this.#config.hash);
      const cluster = this.#config.server.cluster;
      return {
        ...document,
        cache: { ...document.cache, disks: this.#evictor.stats() },
        activeConnections: this.#stats.clientConnections(),
        connectionLimit: { maxSockets: this.#config.server.clientLimits.maxSockets, ...this.#stats.connectionLimit() },
        tls: certificateStatus(this.#config, Date.now()),
        origins: originSummary(this.#health.report(null) ?? []),
        ...(await this.#monitoring.statsWindows()),
        // Only under <Cluster>: the dashboard asks /fleet/stats when this is there (a standalone edge has no field).
        ...(cluster === null ? {} : { cluster: { node: cluster.nodeName, group: cluster.group } }),
      };
    },
    originHealth: (vhost) => {
      const reports = this.#health.report(vhost);
      return reports === null ? null : monitoringOriginDocument(reports);
    },
    monitoring: {
      realtime: (vhosts) => this.#monitoring.realtime(vhosts),
      average: (minutes, vhosts) => this.#monitoring.average(minutes, vhosts),
      metrics: async () => ({ contentType: this.#monitoring.metricsContentType, text: await this.#monitoring.metrics() }),
    },
    reload: () => this.reload(),
    cacheControl: (command, url, sec) => this.#cacheControl(command, url, sec),
    cacheControlTags: (command, tags, host, sec) => this.#cacheControlTags(command, tags, host, sec),
    fileInfo: (url) => inspectUrl(this.#config, this.#evictor.indexes(), url, Date.now()),
    confText: (file) => this.#history.runningText(file),
    confHistory: () => ({ current: this.#config.hash, history: this.#history.list() }),
    confRestore: (hashOrId) => this.#restore(hashOrId),
    // #fleet is made in the constructor, after this initializer: reach it at call time.
    fleet: {
      purge: (command, target, group, waitMs) => this.#fleet.views.purge(command, target, group, waitMs),
      push: (config, rollbackOf, group, waitMs) => this.#fleet.views.push(config, rollbackOf, group, waitMs),
      stats: (group, waitMs) => this.#fleet.views.stats(group, waitMs),
      status: (group) => this.#fleet.views.status(group),
    },
    confSnapshotFiles: (hashOrId) => this.#history.snapshotFiles(hashOrId),
  };

  /** /conf/restore: writes a snapshot's files back and reloads; puts the previous files back if that fails. */
  #restore(hashOrId: string): { status: number; body: unknown } {
    const snapshot = this.#history.find(hashOrId);
    if (snapshot === undefined) return { status: 404, body: { error: `no snapshot ${hashOrId} in /conf/history` } };
    const written = this.#history.writeBack(snapshot, this.#config.confDir);
    if (!written.ok) return { status: 409, body: { ok: false, problems: [written.error], restored: null } };
    const result = this.reload('restored');
    if (!result.ok) written.undo();
    return { status: result.ok ? 200 : 400, body: { ...result, restored: snapshot.hash } };
  }

  /** Starts the management port and the workers; resolves when every worker listens. */
  async start(): Promise<void> {
    await this.#admin.listen(this.#config.server.manager);
    this.#history.record(this.#config, 'loaded');
    // Before the workers: an edge that was away applies every fleet purge it missed before it serves (and reports ready).
    await this.#fleet.start(this.#config.server.cluster);
    const ready = new Promise<void>((resolve, reject) => {
      this.#startupFailure = (message) => reject(new Error(message));
      const poll = setInterval(() => {
        if (this.#views.health().ok) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    await this.#rotator.configure(this.#config);
    this.#rotator.start();
    warnUnverifiedOrigins(this.#config, this.#log);
    this.#health.start();
    this.#supervisor.start();
    this.#evictor.start();
    this.#monitoring.start();
    await ready;
    this.#startupFailure = null;
    const workers = this.#supervisor.slots.map((s) => s.worker?.process.pid);
    warnExpiringCertificates(this.#config, this.#log, Date.now());
    this.#log.info({ event: 'flint.ready', workers, manager: `${this.#config.server.manager.host}:${this.#config.server.manager.port}` }, 'flint ready');
  }

  /** Re-reads the config; applies it if valid, else keeps the running one. */
  reload(snapshotType: 'modified' | 'restored' = 'modified'): { ok: boolean; problems?: readonly string[]; needsRestart?: readonly string[] } {
    const result = reloadConfig(this.#config.confDir, this.#config);
    if (!result.ok) {
      this.#log.error({ event: 'config.reload_failed', problems: result.problems }, `config reload failed, keeping the running config: ${result.problems.join('; ')}`);
      return { ok: false, problems: result.problems };
    }
    this.#config = result.config;
    warnExpiringCertificates(result.config, this.#log, Date.now());
    this.#supervisor.config = result.config;
    this.#evictor.config = result.config;
    this.#health.update(result.config);
    warnUnverifiedOrigins(result.config, this.#log);
    this.#supervisor.broadcast({ type: 'config', config: result.config });
    this.#admin.update(result.config);
    this.#history.record(result.config, snapshotType);
    void this.#rotator.configure(result.config);
    if (result.needsRestart.length > 0) {
      this.#log.warn({ event: 'config.needs_restart', settings: result.needsRestart }, 'some changed settings take effect only after a restart');
    }
    this.#log.info({ event: 'config.reloaded', hash: result.config.hash, changed: result.changed }, 'config reloaded');
    return { ok: true, needsRestart: result.needsRestart };
  }

  /** SIGUSR1 (as nginx) and SIGHUP: every process moves to the log files now at the configured paths. */
  async reopenLogs(signal: string): Promise<void> {
    await this.#rotator.reopen();
    this.#log.info({ event: 'log.reopened', signal }, 'log files reopened');
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
    this.#health.close();
    await this.#fleet.close();
    this.#monitoring.stop();
    this.#rotator.stop();
    await this.#supervisor.stop(timeoutMs);
    await this.#admin.close();
    await this.#evictor.close();
    this.#log.info({ event: 'flint.stopped' }, 'stopped');
    flushLogs();
    process.exit(exitCode);
  }
}
