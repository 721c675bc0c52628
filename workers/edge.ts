/**
 * @module workers/edge
 * Worker process entry: wiring only. Waits for its config from the primary, opens the listeners, reports counters
 * about once a second, applies reloads, origin health verdicts (`origin-health`) and cache-control notices (drops
 * purged objects from the hot tier), reopens its log files on `logs-reopen` (and SIGUSR1), and on `shutdown` stops
 * accepting, drains in-flight transactions and exits.
 * Logic lives in src/pipeline (requests) and src/http (sockets).
 */
// First: no Node default action for SIGUSR1/SIGUSR2 while the other modules load.
import '../src/logs/signal-guard.js';
import type { Config } from '../src/config/types.js';
import { sendToPrimary } from '../src/ipc/channel.js';
import type { PrimaryMessage } from '../src/ipc/messages.js';
import { isPrimaryMessage } from '../src/ipc/messages.js';
import { Listeners } from '../src/http/server.js';
import type { Logger } from '../src/log.js';
import { createProcessLogger, flushLogs, reopenLogs } from '../src/log.js';
import { Edge } from '../src/pipeline/edge.js';
import { OutcomeReporter } from '../src/origin/health-reporter.js';
import { TrialGate } from '../src/origin/trial-gate.js';
import { ControlForwarder } from '../src/pipeline/control-method.js';
import { listenKey } from '../src/policy/vhost.js';
import { TlsListeners, tlsSites } from '../src/tls/h2-server.js';
import { clientConnections } from '../src/stats/connections.js';
import { UWS_TLS_FACTS, UwsTlsListeners } from '../src/tls/uws-listener.js';

const STATS_INTERVAL_MS = 1000;
const workerIndex = Number(process.env.FLINT_WORKER_INDEX ?? '0');
const listeners = new Listeners();
/** `<Https Listen>` addresses: node:http2 secure servers (HTTP/2 and HTTP/1.x over TLS) feeding the same Edge. */
const tlsListeners = new TlsListeners();
/** `<Https Engine="uws">` addresses: uWS SSLApps (HTTP/1.1 only) feeding the same Edge as plain listeners. */
const uwsTlsListeners = new UwsTlsListeners();
let edge: Edge | null = null;
let log: Logger | null = null;
let shuttingDown = false;
/** Origin transaction outcomes (and URLs whose fill found no member) for the primary's health state, batched. */
const outcomes = new OutcomeReporter((batch, failed) => sendToPrimary({ type: 'origin-outcomes', outcomes: batch, failed }));
/** All-down trials, granted by the primary once per <Recovery Cycle> for every worker. */
const trials = new TrialGate((vhost, requestId) => sendToPrimary({ type: 'origin-trial-request', requestId, vhost }));

/** Every listen address of a config, keyed like the routers. */
function listenAddresses(config: Config): Map<string, Config['vhosts'][number]['listen'][number]> {
  const addresses = new Map<string, Config['vhosts'][number]['listen'][number]>();
  for (const vhost of config.vhosts) for (const listen of vhost.listen) addresses.set(listenKey(listen), listen);
  return addresses;
}

async function start(config: Config): Promise<void> {
  log = createProcessLogger(config.server.log.level, config.server.log.infoPath, { role: 'worker', worker: workerIndex });
  const started = new Edge(config, workerIndex, log, outcomes);
  applyConnectionLimit(config);
  // A down set that arrived before the config (or was logged before the edge existed) applies from the start.
  started.originHealth.apply(latestDown);
  started.originHealth.trials = trials;
  started.control = new ControlForwarder(sendToPrimary);
  started.rateReport = (usage) => sendToPrimary({ type: 'rate-usage', usage });
  edge = started;
  try {
    for (const [key, address] of listenAddresses(config)) {
      const retry = (attempt: number): void => log?.warn({ event: 'worker.listen_retry', address: key, attempt }, `cannot listen on ${key} yet, retrying`);
      await listeners.listen(key, address, started.handlerFor(key), retry);
    }
    for (const [key, site] of tlsSites(config)) {
      const retry = (attempt: number): void => log?.warn({ event: 'worker.listen_retry', address: key, attempt }, `cannot listen on ${key} yet, retrying`);
      if (site.engine === 'uws') await uwsTlsListeners.listen(key, site, started.handlerFor(key, UWS_TLS_FACTS), retry);
      else await tlsListeners.listen(key, site, config.server.http2, config.server.clientLimits, config.server.maxRequestHeaderBytes, (head, writer) => started.serve(key, head, writer), retry);
    }
  } catch (error) {
    sendToPrimary({ type: 'listen-failed', workerIndex, message: (error as Error).message });
    log.fatal({ event: 'worker.listen_failed', err: error }, 'cannot listen');
    exit(1);
    return;
  }
  setInterval(() => sendToPrimary({ type: 'stats', requestId: null, snapshot: started.snapshot() }), STATS_INTERVAL_MS).unref();
  sendToPrimary({ type: 'listening', workerIndex, configHash: config.hash });
  log.info({ event: 'worker.listening', addresses: [...listeners.keys()], https: [...tlsListeners.keys(), ...uwsTlsListeners.keys()] }, 'worker listening');
}

function reload(current: Edge, config: Config): void {
  const https = (c: Config): string[] => [...tlsSites(c)].map(([k, site]) => `https:${k}${site.engine === 'uws' ? ':uws' : ''}`);
  const before = [...listenAddresses(current.config).keys(), ...https(current.config)].sort().join(' ');
  const after = [...listenAddresses(config).keys(), ...https(config)].sort().join(' ');
  current.apply(config);
  applyConnectionLimit(config);
  trials.reset();
  // New handshakes get the reloaded certificates; open TLS connections keep theirs.
  const sites = tlsSites(config);
  tlsListeners.apply(sites);
  uwsTlsListeners.apply(sites).catch((error: unknown) => log?.error({ event: 'tls.reload_failed', err: error }, 'HTTPS certificates not reloaded'));
  if (before !== after && workerIndex === 0) {
    log?.warn({ event: 'config.listen_changed', before, after }, 'listen addresses changed: restart Flint to apply them');
  }
  log?.info({ event: 'config.applied', hash: config.hash }, 'config applied');
}

/** At most one log line per this long for each direction of the MaxSockets state: an edge at its limit flips often. */
const CONNECTION_LOG_GAP_MS = 10_000;
const lastConnectionLog = { refusing: -Infinity, accepting: -Infinity };

/** This worker's share of <MaxSockets> (stats/connections.ts), and a log line when it starts or stops refusing. */
function applyConnectionLimit(config: Config): void {
  const limits = config.server.clientLimits;
  clientConnections.onChange = (refusing) => {
    const kind = refusing ? 'refusing' : 'accepting';
    const now = performance.now();
    if (now - lastConnectionLog[kind] < CONNECTION_LOG_GAP_MS) return;
    lastConnectionLog[kind] = now;
    const c = clientConnections;
    const fields = { event: `connections.${kind}`, open: c.open, share: c.limit, reopenAt: c.reopenAt, refused: c.refused };
    if (refusing) log?.warn(fields, 'MaxSockets: this worker\'s share is full, new connections are closed at once');
    else log?.info(fields, 'MaxSockets: below the Reopen mark, new connections are accepted again');
  };
  clientConnections.configure(limits.maxSockets, limits.reopenPercent, config.server.workers);
}

async function shutdown(timeoutMs: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  listeners.closeAll();
  tlsListeners.closeAll();
  uwsTlsListeners.closeAll();
  const current = edge;
  if (current === null) return exit(0);
  const left = await current.drain(timeoutMs);
  if (left > 0) log?.warn({ event: 'worker.drain_timeout', inFlight: left }, 'shutdown timeout: closing in-flight transactions');
  sendToPrimary({ type: 'stats', requestId: null, snapshot: current.snapshot() });
  outcomes.flush();
  await current.close();
  exit(0);
}

function exit(code: number): void {
  flushLogs();
  process.exit(code);
}

/** Applies the primary's down set; logs once per change (tests and operators see when each worker took it). */
let appliedDown = '{}';
/** The primary's latest down set, kept for an edge created after it arrived. */
let latestDown: Readonly<Record<string, readonly string[]>> = {};
function applyOriginHealth(down: Readonly<Record<string, readonly string[]>>): void {
  latestDown = down;
  edge?.originHealth.apply(down);
  const text = JSON.stringify(down);
  if (text === appliedDown) return;
  appliedDown = text;
  log?.info({ event: 'origin.health_applied', down }, 'origin health applied');
}

function onMessage(message: PrimaryMessage): void {
  switch (message.type) {
    case 'config':
      if (edge === null) void start(message.config);
      else reload(edge, message.config);
      return;
    case 'stats-request':
      if (edge !== null) sendToPrimary({ type: 'stats', requestId: message.requestId, snapshot: edge.snapshot() });
      return;
    case 'shutdown':
      void shutdown(message.timeoutMs);
      return;
    case 'origin-health':
      applyOriginHealth(message.down);
      return;
    case 'origin-failed-urls':
      edge?.originHealth.rememberFailed(message.failed);
      return;
    case 'origin-trial':
      trials.answer(message.requestId, message.vhost, message.member, message.retryAt);
      return;
    case 'cache-control':
      edge?.applyControlNotice(message.scopes, message.tagged);
      sendToPrimary({ type: 'cache-control-done', requestId: message.requestId });
      return;
    case 'cache-control-result':
      edge?.control?.receive(message.requestId, message.status, message.body);
      return;
    case 'rate-charge':
      edge?.rates.charge(message.usage, performance.now());
      return;
    case 'logs-reopen':
      void reopenLogs().then(() => sendToPrimary({ type: 'logs-reopened', requestId: message.requestId }));
      return;
  }
}

process.on('message', (message: unknown) => {
  if (isPrimaryMessage(message)) onMessage(message);
});
sendToPrimary({ type: 'hello', workerIndex });
// Orphaned by the primary (it crashed or was SIGKILLed): stop taking traffic and go.
process.on('disconnect', () => void shutdown(edge?.config.server.shutdownTimeoutMs ?? 1000));
// Ctrl-C in a terminal reaches the whole process group; the primary coordinates the drain.
process.on('SIGINT', () => undefined);
// So does a SIGHUP some service managers send to the group: the reload is the primary's (it sends the new config);
// without a handler the default action would kill every worker at once.
process.on('SIGHUP', () => undefined);
// Without handlers SIGUSR1 opens Node's inspector (code execution for anyone on the machine) and SIGUSR2 kills the
// worker: USR1 reopens this worker's log files, USR2 is ignored.
process.on('SIGUSR1', () => void reopenLogs());
process.on('SIGUSR2', () => undefined);
process.on('uncaughtException', (error) => {
  (log ?? console).error?.({ event: 'worker.crash', err: error }, 'uncaught exception');
  exit(70);
});
