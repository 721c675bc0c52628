/**
 * @module pipeline/geoip-load
 * The worker's copy of the `<ServiceAccess GeoIP>` database: opened when a config names it, kept across reloads
 * while the file and its digest stay the same (a SIGHUP that did not touch it reads nothing), opened again when the
 * primary validated a new one. If the file cannot be opened here although the primary just validated it (replaced
 * or removed in between), the worker keeps the database it has and logs an error; with none yet it throws, so a
 * worker never runs `$GEO` rules that can never match. Runs in workers.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { GeoIp } from '../policy/geoip.js';
import { openGeoIpFile } from '../policy/geoip.js';

let loaded: { readonly file: string; readonly sha1: string; readonly geo: GeoIp } | null = null;

/** The database `config` names, or null when it names none. */
export function geoIpFor(config: Config, log: Logger): GeoIp | null {
  const wanted = config.server.serviceAccess.geoIp;
  if (wanted === null) return null;
  if (loaded !== null && loaded.file === wanted.file && loaded.sha1 === wanted.sha1) return loaded.geo;
  const opened = openGeoIpFile(wanted.file);
  if (opened.ok) {
    loaded = { file: wanted.file, sha1: opened.sha1, geo: opened.geo };
    return opened.geo;
  }
  if (loaded === null) throw new Error(`GeoIP database: ${opened.error}`);
  log.error({ event: 'geoip.open_failed', file: wanted.file, problem: opened.error }, 'cannot open the GeoIP database the config names; keeping the one loaded before');
  return loaded.geo;
}
