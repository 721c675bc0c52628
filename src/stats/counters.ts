/**
 * @module stats/counters
 * One table of the counters every worker keeps per vhost (STYLE convention 7): name, help, unit. Counters are
 * monotonic so the primary can sum worker snapshots; a worker holds them in one Float64Array per vhost, indexed by
 * the table, so an increment on the hot path is one typed-array store. Cache result codes (STON's Squid-style
 * TCP_* set) are a closed table here too, because they feed the access log, the counters and the X-Cache header.
 */

/** Per-vhost monotonic counters, in snapshot order. */
export const VHOST_COUNTERS = [
  { name: 'requests', help: 'client requests received' },
  { name: 'responses1xx', help: 'responses sent with a 1xx status' },
  { name: 'responses2xx', help: 'responses sent with a 2xx status' },
  { name: 'responses3xx', help: 'responses sent with a 3xx status' },
  { name: 'responses4xx', help: 'responses sent with a 4xx status' },
  { name: 'responses5xx', help: 'responses sent with a 5xx status' },
  { name: 'aborted', help: 'transactions the client aborted before the response ended' },
  { name: 'clientInBytes', help: 'request body bytes received from clients', unit: 'bytes' },
  { name: 'clientOutBytes', help: 'response body bytes sent to clients', unit: 'bytes' },
  { name: 'originRequests', help: 'requests sent to origins' },
  { name: 'originErrors', help: 'origin transactions that failed (connect, timeout, reset)' },
  { name: 'notAdmitted', help: 'responses fetched for the cache but not stored by the admission filter (<Admission>)' },
  { name: 'rateLimited', help: 'requests answered 429 because their client address passed <RateLimit>' },
  { name: 'throttledResponses', help: 'responses paced by <BandwidthThrottling>' },
  { name: 'throttledBytes', help: 'response body bytes sent paced by <BandwidthThrottling> (after the media header and the boost)', unit: 'bytes' },
  { name: 'tagsDropped', help: 'cache tags from origin responses dropped by the <CacheTag> bounds (too many, too long, bytes outside visible ASCII)' },
  { name: 'originInBytes', help: 'response body bytes received from origins', unit: 'bytes' },
  { name: 'originResponses1xx', help: 'origin responses with a 1xx status' },
  { name: 'originResponses2xx', help: 'origin responses with a 2xx status' },
  { name: 'originResponses3xx', help: 'origin responses with a 3xx status' },
  { name: 'originResponses4xx', help: 'origin responses with a 4xx status' },
  { name: 'originResponses5xx', help: 'origin responses with a 5xx status' },
  { name: 'gzipCompressions', help: 'gzip copies made of cached objects (<Compression>)' },
  { name: 'gzipInBytes', help: 'identity bytes compressed to gzip', unit: 'bytes' },
  { name: 'gzipOutBytes', help: 'gzip bytes those compressions made', unit: 'bytes' },
  { name: 'gzipResponses', help: 'responses sent gzip-encoded by Flint' },
  { name: 'brCompressions', help: 'br copies made of cached objects (<Compression>)' },
  { name: 'brInBytes', help: 'identity bytes compressed to br', unit: 'bytes' },
  { name: 'brOutBytes', help: 'br bytes those compressions made', unit: 'bytes' },
  { name: 'brResponses', help: 'responses sent br-encoded by Flint' },
  { name: 'dimsConversions', help: 'DIMS variants converted (each once across workers; hits on them are not counted here)' },
  { name: 'dimsFailures', help: 'DIMS conversions that failed (corrupt or unsupported image, pixel limit, time limit): the original was served' },
  { name: 'dimsRefused', help: 'DIMS requests refused with 503 because the conversion queue was full' },
  { name: 'dimsMsSum', help: 'sum of DIMS conversion time (queueing included), for the mean per conversion', unit: 'milliseconds' },
  { name: 'mediaRelocate', help: 'media requests served with the MP4/M4A header relocated (<UpfrontMP4Header>; a file already faststart included)' },
  { name: 'mediaTrim', help: 'MP4/M4A trimming requests (<MP4Trimming>, <M4ATrimming>)' },
  { name: 'mediaHlsPlaylist', help: 'MP4 HLS playlist requests (<MP4HLS>)' },
  { name: 'mediaHlsSegment', help: 'MP4 HLS segment requests (<MP4HLS>)' },
  { name: 'mediaMp3Trim', help: 'MP3 trimming requests (<MP3Trimming>)' },
  { name: 'mediaMp3HlsPlaylist', help: 'MP3 HLS playlist requests (<MP3HLS>)' },
  { name: 'mediaMp3HlsSegment', help: 'MP3 HLS segment requests (<MP3HLS>)' },
  { name: 'mediaSegmentsBuilt', help: 'HLS segments built (MP4 and MP3)' },
  { name: 'mediaFailures', help: 'media files that could not be parsed or built from: the original was served unchanged' },
  { name: 'mediaRefused', help: 'media requests answered 400 (malformed trim parameters or HLS name, MaxRatio passed, nothing left to serve)' },
  { name: 'ttfbMsSum', help: 'sum of time to first response byte, for averages', unit: 'milliseconds' },
  { name: 'totalMsSum', help: 'sum of total transaction time, for averages', unit: 'milliseconds' },
] as const;

export type VhostCounterName = (typeof VHOST_COUNTERS)[number]['name'];

/** Index of each counter in a vhost's Float64Array. */
export const C = Object.freeze(
  Object.fromEntries(VHOST_COUNTERS.map((c, i) => [c.name, i])) as { [K in VhostCounterName]: number },
);

/** STON cache result codes (access log `sc-cachehit`); PASS is Flint's name for a bypassed, uncacheable transaction. */
export const CACHE_RESULTS = [
  'PASS',
  'TCP_HIT',
  'TCP_MISS',
  'TCP_RT_HIT',
  'TCP_IMS_HIT',
  'TCP_REFRESH_HIT',
  'TCP_REF_FAIL_HIT',
  'TCP_NEGATIVE_HIT',
  'TCP_REF_MISS',
  'TCP_CLIENT_REFRESH_MISS',
  'TCP_ERROR',
  'TCP_DENIED',
] as const;
export type CacheResult = (typeof CACHE_RESULTS)[number];

/** The counters of one vhost in one worker: the VHOST_COUNTERS values then one per CACHE_RESULTS entry. */
export function createVhostCounters(): Float64Array {
  return new Float64Array(VHOST_COUNTERS.length + CACHE_RESULTS.length);
}

/** Index of a cache result's counter in a vhost's Float64Array. */
export function cacheResultIndex(result: CacheResult): number {
  return VHOST_COUNTERS.length + CACHE_RESULTS.indexOf(result);
}

/** Plain-object form of one vhost's counters, as sent over IPC and shown in /stats. */
export type VhostCounterValues = { [K in VhostCounterName]: number } & { cacheResults: { [K in CacheResult]: number } };

/** Converts a counters array to its named form. */
export function namedCounters(values: Float64Array): VhostCounterValues {
  const named = {} as Record<string, unknown>;
  VHOST_COUNTERS.forEach((c, i) => (named[c.name] = values[i] ?? 0));
  const results = {} as Record<string, number>;
  CACHE_RESULTS.forEach((r, i) => (results[r] = values[VHOST_COUNTERS.length + i] ?? 0));
  named.cacheResults = results;
  return named as VhostCounterValues;
}

/** Adds `from` into `into` (both named); used by the primary to sum workers. */
export function addCounters(into: VhostCounterValues, from: VhostCounterValues): void {
  for (const c of VHOST_COUNTERS) into[c.name] += from[c.name];
  for (const r of CACHE_RESULTS) into.cacheResults[r] += from.cacheResults[r];
}

/** A zeroed named counter set. */
export function emptyCounters(): VhostCounterValues {
  return namedCounters(createVhostCounters());
}

/** Adds `amount` to counter `index` of a vhost's array (index from `C` or `cacheResultIndex`). */
export function bump(counters: Float64Array, index: number, amount = 1): void {
  counters[index] = (counters[index] as number) + amount;
}
