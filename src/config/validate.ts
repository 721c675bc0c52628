/**
 * @module config/validate
 * Raw trees of server.xml + vhosts.xml (from config/parse.ts) -> a deep-frozen `Config`, or a `ConfigError` listing
 * every problem found. Each problem names the file, the element path and what is wrong:
 * `vhosts.xml: Vhosts/Vhost[Name=foo.com]/Origin/Address: "foo:99999" is not a valid host:port`.
 * Known elements, defaults and ranges come from config/schema.ts. No I/O but `<Origin><CA>` files (config/origin-ca.ts)
 * and the `<Https>` certificate and key files (tls/certificate-check.ts), so workers get their PEM text with the
 * config; the one environment read is the CPU count default for `<Workers>0`. Runs in the primary (start, SIGHUP
 * reload) and in `flint check-config`. This module runs the steps; config/validator.ts reports problems and reads one
 * setting at a time, config/read-*.ts read each part of the Config, config/value-types*.ts parse each value type.
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from '../errors.js';
import { createHash } from 'node:crypto';
import type { Config, GeoIpConfig, Vhost } from './types.js';
import path from 'node:path';
import { childElements } from './xml-tree.js';
import { Validator } from './validator.js';
import type { Scope } from './validator.js';
import { readServer, checkGeoRules, checkManagerPort } from './read-server.js';
import { readVhostSettings, checkHttps } from './read-vhost-settings.js';
import { readUrlRewrites, readVhosts, readDefaultVhost } from './read-vhosts.js';

/** What validateConfig needs: the raw trees from parse.ts and where and what they were read from. */
export interface ConfigSources {
  /** Absolute path of the conf directory; relative paths in the config resolve against its parent. */
  readonly confDir: string;
  /** sha1 hex of server.xml text + '\0' + vhosts.xml text, then any rule files (computed by config/load.ts). */
  readonly hash: string;
  /** Raw tree of server.xml (parseXml().tree). */
  readonly server: unknown;
  /** Raw tree of vhosts.xml (parseXml().tree). */
  readonly vhosts: unknown;
  /**
   * STON's per-vhost rule files found in the conf dir: vhost name -> file name (ttl.txt, bypass.txt,
   * querystring.txt) -> contents (read by config/load.ts from `svc/<vhost>/`). Absent = none.
   */
  readonly ruleFiles?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export { MAX_WORKERS } from './read-server.js';

/**
 * Validates both files together (vhosts inherit `<Server><VHostDefault>`) and returns the deep-frozen Config.
 * `cpuCount` (>= 1) is what `<Workers>0` resolves to; default os.availableParallelism(). Throws ConfigError.
 */
export function validateConfig(sources: ConfigSources, cpuCount: number = availableParallelism()): Config {
  if (!path.isAbsolute(sources.confDir)) throw new Error(`validateConfig: confDir must be absolute, got ${sources.confDir}`);
  if (!Number.isInteger(cpuCount) || cpuCount < 1) throw new Error(`validateConfig: cpuCount must be an integer >= 1, got ${cpuCount}`);
  const confDir = path.resolve(sources.confDir);
  const v = new Validator(path.dirname(confDir), sources.ruleFiles ?? {});

  const serverRoot = v.root('server.xml', sources.server, 'Server');
  const vhostsRoot = v.root('vhosts.xml', sources.vhosts, 'Vhosts');
  if (serverRoot !== undefined) v.checkShape('server.xml', serverRoot);
  if (vhostsRoot !== undefined) v.checkShape('vhosts.xml', vhostsRoot);

  const serverScope: Scope = { file: 'server.xml', element: serverRoot, where: 'Server', prefix: 'Server' };
  const server = readServer(v, serverScope, cpuCount);
  const vhostDefault = childElements(serverRoot, 'VHostDefault')[0];
  const defaults = readVhostSettings(v, { file: 'server.xml', element: vhostDefault, where: 'Server/VHostDefault', prefix: 'Vhost' }, undefined);

  const vhostsScope: Scope = { file: 'vhosts.xml', element: vhostsRoot, where: 'Vhosts', prefix: 'Vhosts' };
  const vhosts = readVhosts(v, vhostsScope, defaults);
  const defaultVhost = readDefaultVhost(v, vhostsScope, vhosts);
  const urlRewrites = readUrlRewrites(v, vhostsScope);
  checkGeoRules(v, server.serviceAccess.geoIp, vhosts);
  checkManagerPort(v, server.manager, vhosts);
  checkHttps(v, server.manager, vhosts);

  if (v.problems.length > 0) throw new ConfigError(v.problems);
  const config: Config = { confDir, hash: hashWithCertificates(sources.hash, vhosts, server.serviceAccess.geoIp), server, vhosts, defaultVhost, urlRewrites };
  deepFreeze(config);
  return config;
}

/**
 * The config hash with the certificates, <ErrorPage> files and the GeoIP database folded in: a SIGHUP that only
 * swapped such a file is a change too.
 */
function hashWithCertificates(hash: string, vhosts: readonly Vhost[], geoIp: GeoIpConfig | null): string {
  const pems = new Set(vhosts.flatMap((v) => (v.https === null ? [] : [v.https.certPem + v.https.keyPem])));
  for (const vhost of vhosts) for (const page of vhost.errorPages) pems.add(`${page.file}\0${page.body}`);
  if (geoIp !== null) pems.add(`${geoIp.file}\0${geoIp.sha1}`);
  if (pems.size === 0) return hash;
  const sha = createHash('sha1').update(hash);
  for (const pem of pems) sha.update('\0').update(pem);
  return sha.digest('hex');
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  for (const child of Object.values(value)) deepFreeze(child);
  Object.freeze(value);
}
