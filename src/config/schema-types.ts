/**
 * @module config/schema-types
 * The shape of one row of the settings table (value types, `Setting`) and the constants the rows share.
 * Pure types and data; loaded by the primary (validation) and by the docs script, never needed by workers.
 */
import type { TtlPolicy } from './types.js';
/**
 * How a value is written in XML. Each type has one parser in config/validate.ts and one line in the reference.
 * `host-name` is a DNS name or IPv4 literal, `alias` adds a leading `*.` wildcard, `vhost-ref` names a vhost.
 * `seconds` (fractions allowed) feeds `...Ms` timeouts; `whole-seconds` feeds `...Sec` TTLs, which are whole seconds.
 */
export type SettingType =
  | 'int'
  | 'size'
  | 'seconds'
  | 'whole-seconds'
  | 'bool'
  | 'enum'
  | 'string'
  | 'token'
  | 'host-name'
  | 'alias'
  | 'vhost-ref'
  | 'link-condition'
  | 'ip'
  | 'ip-or-cidr'
  | 'address-or-country'
  | 'listen'
  | 'origin-address'
  | 'path'
  | 'log-path'
  | 'log-unit'
  | 'access-format'
  | 'probe-target'
  | 'name-list'
  | 'vary-list'
  | 'url-glob'
  | 'query-param'
  | 'origin-list'
  | 'status-match'
  | 'status-list'
  | 'status-set'
  | 'nats-urls'
  | 'fleet-name'
  | 'encoding-list'
  | 'kib-range';

/** One setting. `path` is `Root/Element/...` with an attribute as `Element@Attr`. */
export interface Setting {
  /**
   * `Server/...` lives in server.xml, `Vhosts/...` in vhosts.xml, and `Vhost/...` in every `<Vhosts><Vhost>`
   * (and also in `<Server><VHostDefault>` when `inherit` is set).
   */
  readonly path: string;
  readonly type: SettingType;
  /** The default as it would be written in XML; an array for repeated elements; null = none (see `doc`). */
  readonly default: string | readonly string[] | null;
  /** Unit of the XML value, for the reference (the Config field name carries the converted unit). */
  readonly unit?: string;
  /** Inclusive bounds in the XML unit (seconds for `seconds`, bytes for `size`). */
  readonly min?: number;
  readonly max?: number;
  /** The value must be a power of two (sizes). */
  readonly powerOfTwo?: boolean;
  /** Allowed values of an `enum` (matched case-insensitively, stored as written here). */
  readonly values?: readonly string[];
  /** The element may appear more than once; each occurrence adds one value. */
  readonly repeated?: boolean;
  /** The setting must be present (at least once when repeated). */
  readonly required?: boolean;
  /** A `Vhost/...` setting that may also be set in `<Server><VHostDefault>`; vhosts override it per element. */
  readonly inherit?: boolean;
  /** The `Config` field it fills (see config/types.ts); `[]` marks an array. */
  readonly field: string;
  /** One line for operators. */
  readonly doc: string;
}

export const K = 1024;
export const M = 1024 * K;
/**
 * Upper bound of every TTL-like `whole-seconds` setting: RFC 9111 §1.2.2 has caches treat a delta-seconds value
 * above 2^31 as 2^31, so a larger TTL could not mean anything more.
 */
export const DELTA_SECONDS_MAX = 2 ** 31;

/** `<TTL Priority>` values; types.ts keeps the union inline, so the list is checked against it here. */
export const TTL_PRIORITIES = ['origin', 'config'] as const satisfies ReadonlyArray<TtlPolicy['priority']>;
