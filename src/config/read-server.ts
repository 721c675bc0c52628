/**
 * @module config/read-server
 * Reads server.xml outside <VHostDefault>: <Host> (management API, service access, GeoIP), <Cache> (storage,
 * disks, memory), the process log, config history, <Cluster> and the DIMS limits; with the cross-file port checks.
 * Part of config validation; runs in the primary and in `flint check-config`.
 */
import { defaultNodeName } from './cluster.js';
import { hostname } from 'node:os';
import { getSetting } from './schema.js';
import type { Setting } from './schema.js';
import { openGeoIpFile } from '../policy/geoip.js';
import { isCountry } from '../policy/country-codes.js';
import type { ClusterConfig, DimsLimits, GeoIpConfig, DiskConfig, ManagerConfig, ManagerRole, ServerConfig, StorageConfig, Vhost } from './types.js';
import { childElements } from './xml-tree.js';
import { quote, INT, SIZE, SECONDS_AS_MS, WHOLE_SECONDS, BOOL, EVICTION_POLICY, LOG_LEVEL, MANAGER_ROLE, TOKEN, NATS_URLS, FLEET_NAME } from './value-types.js';
import { HOST_NAME, IP, ALLOW_DENY, IP_OR_CIDR, ADDRESS_OR_COUNTRY, PATH } from './value-types-net.js';
import type { Validator, Scope } from './validator.js';
import { readRotation } from './read-vhost-settings.js';
import { findGeoRuleProblems } from './edge-routing.js';

/** Most worker processes `<Workers>` may ask for, and the cap on the one-per-core default. */
export const MAX_WORKERS = 256;

/** server.xml outside <VHostDefault>, read in schema order so problems come out in that order. */
export function readServer(v: Validator, scope: Scope, cpuCount: number): ServerConfig {
  const manager = readManager(v, scope);
  const serviceAccess = {
    defaultAction: v.one(scope, 'Server/Host/ServiceAccess@Default', ALLOW_DENY),
    allow: v.many(scope, 'Server/Host/ServiceAccess/Allow', ADDRESS_OR_COUNTRY) ?? [],
    deny: v.many(scope, 'Server/Host/ServiceAccess/Deny', ADDRESS_OR_COUNTRY) ?? [],
    geoIp: readGeoIp(v, scope),
  };
  const countries = [...serviceAccess.allow, ...serviceAccess.deny].filter(isCountry);
  if (countries.length > 0 && !v.geoIpNamed) {
    v.report(scope.file, 'Server/Host/ServiceAccess', `${countries.map((c) => quote(c)).join(', ')}: country entries need a GeoIP database (<ServiceAccess GeoIP="/path/GeoLite2-Country.mmdb">)`);
  }
  const log = {
    level: v.one(scope, 'Server/Host/Log@Level', LOG_LEVEL),
    infoPath: v.optional(scope, 'Server/Host/Log/Info', PATH),
    infoRotation: readRotation(v, scope, 'Server/Host/Log/Info', 'Host/Log/Info', undefined),
  };
  const maxRequestHeaderBytes = v.one(scope, 'Server/Host/MaxRequestHeaderSize', SIZE);
  const http2 = {
    maxConcurrentStreams: v.one(scope, 'Server/Host/Http2/MaxConcurrentStreams', INT),
    initialWindowSize: v.one(scope, 'Server/Host/Http2/InitialWindowSize', SIZE),
    idleTimeoutMs: v.one(scope, 'Server/Host/Http2/IdleTimeout', SECONDS_AS_MS),
  };
  const clientLimits = {
    maxSockets: v.one(scope, 'Server/Host/MaxSockets', INT),
    reopenPercent: v.one(scope, 'Server/Host/MaxSockets@Reopen', INT),
    headerTimeoutMs: v.one(scope, 'Server/Host/RequestHeaderTimeout', SECONDS_AS_MS),
  };
  const workers = v.one(scope, 'Server/Cache/Workers', INT);
  const cpuAffinity = v.one(scope, 'Server/Cache/CpuAffinity', BOOL);
  const parallelGc = v.one(scope, 'Server/Cache/ParallelGc', BOOL);
  const shutdownTimeoutMs = v.one(scope, 'Server/Cache/ShutdownTimeout', SECONDS_AS_MS);
  const storage = readStorage(v, scope);
  const memory = {
    contentMemoryPercent: v.one(scope, 'Server/Cache/ContentMemoryRatio', INT),
    hotObjectMaxBytes: v.one(scope, 'Server/Cache/HotObjectMaxSize', SIZE),
  };
  return {
    manager,
    serviceAccess,
    workers: workers === 0 ? Math.min(MAX_WORKERS, cpuCount) : workers,
    cpuAffinity,
    parallelGc,
    shutdownTimeoutMs,
    maxRequestHeaderBytes,
    http2,
    clientLimits,
    storage,
    memory,
    log,
    configHistory: {
      keep: v.one(scope, 'Server/Cache/ConfigHistory', INT),
      dir: v.optional(scope, 'Server/Cache/ConfigHistory@Dir', PATH),
    },
    cluster: readCluster(v, scope),
    dims: readDimsLimits(v, scope),
  };
}

/** `<Cache><Dims Concurrency Queue Timeout>` (issue 21). */
function readDimsLimits(v: Validator, scope: Scope): DimsLimits {
  return {
    concurrency: v.one(scope, 'Server/Cache/Dims@Concurrency', INT),
    queueLimit: v.one(scope, 'Server/Cache/Dims@Queue', INT),
    timeoutMs: v.one(scope, 'Server/Cache/Dims@Timeout', SECONDS_AS_MS),
  };
}

/** <Cluster>: null unless <Nats> is ON (the other elements are still checked, so a typo is reported either way). */
function readCluster(v: Validator, scope: Scope): ClusterConfig | null {
  const on = v.one(scope, 'Server/Cluster/Nats', BOOL);
  // <Url> elements add servers to Nats@Url; alone, they replace its default (a local server).
  const elements = (v.many(scope, 'Server/Cluster/Url', NATS_URLS) ?? []).flat();
  const attribute = v.one(scope, 'Server/Cluster/Nats@Url', NATS_URLS, elements.length > 0 ? [] : undefined);
  const cluster: ClusterConfig = {
    urls: [...new Set([...attribute, ...elements])],
    nodeName: v.optional(scope, 'Server/Cluster/NodeName', FLEET_NAME) ?? defaultNodeName(hostname()),
    group: v.optional(scope, 'Server/Cluster/Group', FLEET_NAME),
    purgeRetentionSec: v.one(scope, 'Server/Cluster/PurgeRetention', WHOLE_SECONDS),
    waitMs: v.one(scope, 'Server/Cluster/Wait', SECONDS_AS_MS),
  };
  return on ? cluster : null;
}

/** `<ServiceAccess GeoIP>`: the database is opened now, so a missing or corrupt file is a config error. */
function readGeoIp(v: Validator, scope: Scope): GeoIpConfig | null {
  const file = v.optional(scope, 'Server/Host/ServiceAccess@GeoIP', PATH);
  if (file === null) return null;
  v.geoIpNamed = true;
  const opened = openGeoIpFile(file);
  if (opened.ok) return { file, sha1: opened.sha1 };
  v.report(scope.file, 'Server/Host/ServiceAccess@GeoIP', opened.error);
  return null;
}

/** Every `$GEO` rule needs the database (config/edge-routing.ts); a database named but unusable is reported already. */
export function checkGeoRules(v: Validator, geoIp: GeoIpConfig | null, vhosts: readonly Vhost[]): void {
  if (geoIp === null && !v.geoIpNamed) v.problems.push(...findGeoRuleProblems(vhosts));
}

/** <Storage> and <BlockSize>; eviction runs from above HighWater down to LowWater, so LowWater < HighWater. */
function readStorage(v: Validator, scope: Scope): StorageConfig {
  const blockSizeBytes = v.one(scope, 'Server/Cache/BlockSize', SIZE);
  const disks = readDisks(v, scope, blockSizeBytes);
  const inlineMaxBytes = v.one(scope, 'Server/Cache/Storage/InlineMaxSize', SIZE);
  const problemsBefore = v.problems.length;
  const highWaterPercent = v.one(scope, 'Server/Cache/Storage/HighWater', INT);
  const lowWaterPercent = v.one(scope, 'Server/Cache/Storage/LowWater', INT);
  // Compare only values that parsed: a rejected one has fallen back to its default and is reported already.
  if (v.problems.length === problemsBefore && lowWaterPercent >= highWaterPercent) {
    const low = getSetting('Server/Cache/Storage/LowWater');
    const high = getSetting('Server/Cache/Storage/HighWater');
    const shown = (setting: Setting, value: number): string =>
      v.locate(scope, setting).length === 0 ? `${value} (the default)` : String(value);
    v.report(
      scope.file,
      v.missingWhere(scope, low),
      `${shown(low, lowWaterPercent)} must be below ${v.missingWhere(scope, high)}, which is ${shown(high, highWaterPercent)}`,
    );
  }
  const evictionPolicy = v.one(scope, 'Server/Cache/Storage/Eviction@Policy', EVICTION_POLICY);
  return { disks, blockSizeBytes, inlineMaxBytes, evictionPolicy, highWaterPercent, lowWaterPercent };
}

function readManager(v: Validator, scope: Scope): ManagerConfig {
  return {
    port: v.one(scope, 'Server/Host/Manager@Port', INT),
    host: v.one(scope, 'Server/Host/Manager@Listen', IP),
    allow: v.many(scope, 'Server/Host/Manager/Allow', IP_OR_CIDR) ?? v.defaultsOf('Server/Host/Manager/Allow', IP_OR_CIDR),
    token: v.optional(scope, 'Server/Host/Manager@Token', TOKEN),
    serverNames: v.many(scope, 'Server/Host/Manager/ServerName', HOST_NAME) ?? [],
    allowRoles: readAllowRoles(v, scope),
    httpMethod: v.one(scope, 'Server/Host/Manager@HttpMethod', BOOL),
  };
}

/** The role of each <Allow> (same order as `allow`): its own Role, else <Manager Role>. */
function readAllowRoles(v: Validator, scope: Scope): ManagerRole[] {
  const fallback = v.one(scope, 'Server/Host/Manager@Role', MANAGER_ROLE);
  const allowElements = childElements(childElements(childElements(scope.element, 'Host')[0], 'Manager')[0], 'Allow');
  if (allowElements.length === 0) return v.defaultsOf('Server/Host/Manager/Allow', IP_OR_CIDR).map(() => fallback);
  const roles: ManagerRole[] = [];
  for (const element of allowElements) {
    const allowScope: Scope = { file: scope.file, element, where: element.where, prefix: 'Server/Host/Manager/Allow' };
    // Only entries whose address parsed are in `allow`; keep the two lists aligned.
    if (!IP_OR_CIDR.parse(element.text, getSetting('Server/Host/Manager/Allow'), v.installDir).ok) continue;
    roles.push(v.optional(allowScope, 'Server/Host/Manager/Allow@Role', MANAGER_ROLE) ?? fallback);
  }
  return roles;
}

/** The <Disk> elements; a quota must hold at least one block (a smaller one would be read as no limit at all). */
function readDisks(v: Validator, scope: Scope, blockSizeBytes: number): DiskConfig[] {
  const diskElements = childElements(childElements(childElements(scope.element, 'Cache')[0], 'Storage')[0], 'Disk');
  if (diskElements.length === 0) {
    const quota = v.one(scope, 'Server/Cache/Storage/Disk@Quota', SIZE);
    return v.defaultsOf('Server/Cache/Storage/Disk', PATH).map((diskPath) => ({ path: diskPath, quotaBytes: quota }));
  }
  const disks: DiskConfig[] = [];
  for (const element of diskElements) {
    const diskScope: Scope = { file: scope.file, element, where: element.where, prefix: 'Server/Cache/Storage/Disk' };
    const diskPath = v.one(diskScope, 'Server/Cache/Storage/Disk', PATH);
    const quotaBytes = v.one(diskScope, 'Server/Cache/Storage/Disk@Quota', SIZE);
    if (quotaBytes > 0 && quotaBytes < blockSizeBytes) {
      v.report(scope.file, `${element.where}@Quota`, `${quotaBytes} bytes is less than one block (BlockSize ${blockSizeBytes}): use 0 for no quota, or at least ${blockSizeBytes}`);
    }
    if (element.text !== '' && disks.some((d) => d.path === diskPath)) {
      v.report(scope.file, element.where, `${quote(element.text)} is listed twice (${diskPath})`);
    }
    disks.push({ path: diskPath, quotaBytes });
  }
  return disks;
}

/** The management port must not collide with a vhost's listen address (the bind would fail at start). */
export function checkManagerPort(v: Validator, manager: ManagerConfig, vhosts: readonly Vhost[]): void {
  const wildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';
  for (const vhost of vhosts) {
    const clash = vhost.listen.find((l) => l.port === manager.port && (l.host === manager.host || wildcard(l.host) || wildcard(manager.host)));
    if (clash !== undefined) {
      v.report('server.xml', 'Server/Host/Manager@Port', `port ${manager.port} is also a <Listen> port of vhost ${vhost.name} (${clash.host}:${clash.port})`);
      return;
    }
  }
}
