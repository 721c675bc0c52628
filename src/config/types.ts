/**
 * @module config/types
 * The validated, deep-frozen configuration every process works from. Produced only by config/validate.ts
 * (from conf/server.xml + conf/vhosts.xml), sent verbatim from the primary to workers over IPC, so it must stay
 * plain JSON data: no Maps, functions, Dates or class instances. The types live in config/types-*.ts by area (each
 * imports only its siblings); this module re-exports them all, so importers use `./types.js` as before.
 * Units are in the field names: `...Ms` milliseconds, `...Sec` seconds, `...Bytes` bytes.
 */
import type { Vhost, UrlRewriteRule } from './types-vhost.js';
import type { ServerConfig } from './types-server.js';

export * from './types-origin.js';
export * from './types-options.js';
export * from './types-dims.js';
export * from './types-media.js';
export * from './types-rules.js';
export * from './types-vhost.js';
export * from './types-server.js';
export * from './types-throttle.js';

export interface Config {
  /** Absolute path of the directory server.xml and vhosts.xml were read from. */
  readonly confDir: string;
  /** sha1 (hex) of server.xml + vhosts.xml contents (and svc/<vhost>/*.txt rule files, when any), to tell configs apart in logs and /stats. */
  readonly hash: string;
  readonly server: ServerConfig;
  readonly vhosts: readonly Vhost[];
  /** `<Vhosts><Default>`: name of the vhost that serves unknown Host headers; null = 404. */
  readonly defaultVhost: string | null;
  /** `<Vhosts><URLRewrite>` rules in order (first match wins); none by default. */
  readonly urlRewrites: readonly UrlRewriteRule[];
}
