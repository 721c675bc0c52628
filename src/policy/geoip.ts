/**
 * @module policy/geoip
 * Client address -> country (ISO 3166-1 alpha-2) for `$GEO[..]` rule conditions, read from the MaxMind database
 * named by `<ServiceAccess GeoIP>` through the `maxmind` package's Reader. The file is read whole into memory (a
 * country database is a few MB), so a lookup is a walk of at most 128 tree nodes plus one record decode; decoded
 * records are kept in a Map by offset (a country database holds a few hundred distinct records), recent clients'
 * countries in a bounded Map, and the last address asked about is memoised, since every rule of one request asks
 * about the same client. Country from
 * `country.iso_code`, else `registered_country.iso_code` (anycast and satellite ranges have only that). Runs in
 * the primary (validation: a missing, unreadable or corrupt file is a config error) and in workers.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Reader } from 'maxmind';
import type { CountryResponse } from 'maxmind';

/** Decoded records kept at most: far above a country database's distinct records; a City database is capped. */
const RECORD_CACHE_MAX = 8192;

/** Client addresses whose country is kept (emptied when full): about 1.5 MB per worker at most. */
const CLIENT_CACHE_MAX = 16384;

/** The decoder's record cache (mmdb-lib's Cache interface): a Map emptied when full, never an unbounded one. */
class RecordCache {
  readonly #map = new Map<string | number, unknown>();
  get(key: string | number): unknown {
    return this.#map.get(key);
  }
  set(key: string | number, value: unknown): void {
    if (this.#map.size >= RECORD_CACHE_MAX) this.#map.clear();
    this.#map.set(key, value);
  }
}

export class GeoIp {
  readonly #reader: Reader<CountryResponse>;
  #lastIp = '';
  #lastCountry: string | null = null;
  /** Recent clients' countries: a returning client (keep-alive, a page's assets) costs a Map lookup, not a tree walk. */
  readonly #byClient = new Map<string, string | null>();

  /** Opens a database from its bytes; throws when they are not a MaxMind DB. */
  constructor(bytes: Buffer) {
    this.#reader = new Reader<CountryResponse>(bytes, { cache: new RecordCache() });
    const m = this.#reader.metadata;
    if (m.ipVersion !== 4 && m.ipVersion !== 6) throw new Error(`unsupported ip_version ${String(m.ipVersion)}`);
  }

  /** The upper-case country code of `ip`, or null (not in the database, no country, or not an address). */
  country(ip: string): string | null {
    if (ip === this.#lastIp) return this.#lastCountry;
    let code = this.#byClient.get(ip);
    if (code === undefined) {
      code = this.#lookup(ip);
      if (this.#byClient.size >= CLIENT_CACHE_MAX) this.#byClient.clear();
      this.#byClient.set(ip, code);
    }
    this.#lastIp = ip;
    this.#lastCountry = code;
    return code;
  }

  #lookup(ip: string): string | null {
    try {
      const record = this.#reader.get(ip);
      const code = record?.country?.iso_code ?? record?.registered_country?.iso_code;
      return code === undefined ? null : code.toUpperCase();
    } catch {
      // Not an address the database can be asked about (an IPv6 client in an IPv4-only database, '' after close).
      return null;
    }
  }
}

export type GeoIpFile = { readonly ok: true; readonly geo: GeoIp; readonly sha1: string } | { readonly ok: false; readonly error: string };

/** Reads and opens `file`; the error names the file and says what is wrong with it. */
export function openGeoIpFile(file: string): GeoIpFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    return { ok: false, error: `${JSON.stringify(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    return { ok: true, geo: new GeoIp(bytes), sha1: createHash('sha1').update(bytes).digest('hex') };
  } catch (error) {
    return { ok: false, error: `${JSON.stringify(file)} is not a MaxMind database (${(error as Error).message})` };
  }
}
