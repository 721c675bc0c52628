/**
 * @module config/types-throttle
 * `<Options><BandwidthThrottling>` (STON bandwidth_control.html, issue 22) and its rule list (`<MatchingList
 * Target="throttling">`, svc/<vhost>/throttling.txt). Types only; part of config/types.ts, which re-exports it.
 * Used by every process: the primary validates, workers pace responses (media/throttle/).
 */
import type { EdgeCondition } from './types-rules.js';

/** Units `<Bandwidth Unit>` accepts, and bits per second of one of each (bytes units are 1024-based). */
export const BANDWIDTH_UNITS = ['bps', 'kbps', 'mbps', 'bytes', 'kb', 'mb'] as const;
export type BandwidthUnit = (typeof BANDWIDTH_UNITS)[number];
export const BANDWIDTH_UNIT_BPS: Readonly<Record<BandwidthUnit, number>> = { bps: 1, kbps: 1000, mbps: 1_000_000, bytes: 8, kb: 8 * 1024, mb: 8 * 1024 * 1024 };

/** The three values of a throttling rule; null = the `<Settings>` default. */
export interface ThrottleValues {
  /** Bandwidth in bits per second; null = `<Settings><Bandwidth>`. */
  readonly bandwidthBps: number | null;
  /** `1000x`: the bitrate read from the file (MP4/M4A/MP3), `bandwidthBps` only when it cannot be read. */
  readonly fromFile: boolean;
  /** Per cent of the bandwidth the paced part is sent at; null = `<Settings><Ratio>`. */
  readonly ratioPercent: number | null;
  /** Seconds of the bandwidth sent at full speed first; null = `<Settings><Boost>`. */
  readonly boostSec: number | null;
}

/** One line of the throttling list: conditions, then values or `no` (exempt). First match wins. */
export interface ThrottleRule {
  readonly source: string;
  readonly conditions: readonly EdgeCondition[];
  /** null = `no`: a matching request is not throttled. */
  readonly values: ThrottleValues | null;
}

/** `<BandwidthThrottling>` of a vhost whose `<Throttling>` is ON. */
export interface ThrottlingConfig {
  /** `<Settings><Bandwidth>` in bits per second. Default 1000 kbps. */
  readonly bandwidthBps: number;
  /** Bits per second of one unit of `<Bandwidth Unit>` (rule lines and the query give bandwidth in it). Default kbps. */
  readonly unitBps: number;
  /** `<Settings><Ratio>` per cent. Default 100. */
  readonly ratioPercent: number;
  /** `<Settings><Boost>` seconds. Default 5. */
  readonly boostSec: number;
  /** `<Throttling QueryString>`: the query parameters below override the values, and leave the cache key and the origin request. Default false. */
  readonly queryString: boolean;
  /** `Param` attributes of Bandwidth, Ratio, Boost. Default bandwidth, ratio, boost. */
  readonly params: { readonly bandwidth: string; readonly ratio: string; readonly boost: string };
}
