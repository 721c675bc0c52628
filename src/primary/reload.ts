/**
 * @module primary/reload
 * SIGHUP / `/conf/reload`: re-read and validate the config; on success the caller broadcasts it to the workers,
 * on failure the running config stays and the error (naming file and element) is logged. Also names the settings
 * that changed but only take effect after a restart. Runs only in the primary.
 */
import type { Config } from '../config/types.js';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';

export type ReloadResult =
  | { readonly ok: true; readonly config: Config; readonly changed: boolean; readonly needsRestart: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Loads `confDir` and compares it with `current`. Never throws for a bad config. */
export function reloadConfig(confDir: string, current: Config): ReloadResult {
  let config: Config;
  try {
    config = loadConfig(confDir);
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, problems: error.problems };
    return { ok: false, problems: [(error as Error).message] };
  }
  return { ok: true, config, changed: config.hash !== current.hash, needsRestart: restartOnlyChanges(current, config) };
}

/** Settings read only at start-up that differ between `a` and `b`, as `server.xml: <path>` strings. */
export function restartOnlyChanges(a: Config, b: Config): string[] {
  const changes: string[] = [];
  const same = (x: unknown, y: unknown): boolean => JSON.stringify(x) === JSON.stringify(y);
  if (a.server.workers !== b.server.workers) changes.push('server.xml: Server/Cache/Workers');
  if (a.server.cpuAffinity !== b.server.cpuAffinity) changes.push('server.xml: Server/Cache/CpuAffinity');
  if (a.server.parallelGc !== b.server.parallelGc) changes.push('server.xml: Server/Cache/ParallelGc');
  if (!same(a.server.storage, b.server.storage)) changes.push('server.xml: Server/Cache/Storage');
  if (a.server.manager.port !== b.server.manager.port || a.server.manager.host !== b.server.manager.host) {
    changes.push('server.xml: Server/Host/Manager@Port');
  }
  // The Info file's rolling (Type Unit Retention Compression) applies at reload; its path and level do not.
  if (a.server.log.level !== b.server.log.level || a.server.log.infoPath !== b.server.log.infoPath) changes.push('server.xml: Server/Host/Log');
  if (a.server.maxRequestHeaderBytes !== b.server.maxRequestHeaderBytes) changes.push('server.xml: Server/Host/MaxRequestHeaderSize');
  const listens = (c: Config): string =>
    [...new Set(c.vhosts.flatMap((v) => v.listen.map((l) => `${l.host}:${l.port}`)))].sort().join(' ');
  if (listens(a) !== listens(b)) changes.push('vhosts.xml: Vhosts/Vhost/Listen');
  const httpsListens = (c: Config): string => [...new Set(c.vhosts.flatMap((v) => (v.https === null ? [] : [`${v.https.listen.host}:${v.https.listen.port} ${v.https.engine}`])))].sort().join(' ');
  if (httpsListens(a) !== httpsListens(b)) changes.push('vhosts.xml: Vhosts/Vhost/Https@Listen, @Engine');
  if (!same(a.server.http2, b.server.http2)) changes.push('server.xml: Server/Host/Http2');
  if (a.server.clientLimits.headerTimeoutMs !== b.server.clientLimits.headerTimeoutMs) changes.push('server.xml: Server/Host/RequestHeaderTimeout');
  if (!same(a.server.cluster, b.server.cluster)) changes.push('server.xml: Server/Cluster');
  return changes;
}
