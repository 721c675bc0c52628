/**
 * @module bench/micro/index-miss-records
 * The records bench/micro/index-miss and its floor (index-miss-floor) write per miss: a fill lease and a complete
 * 1 KiB object stored inline, as a plain miss of the `miss` bench makes them.
 */
import type { FillRecord, ObjectMeta } from '../../src/cache/index.js';

const BODY = Buffer.alloc(1024, 'x');
const HEADERS = ['content-type', 'application/octet-stream', 'etag', '"1024"', 'last-modified', 'Mon, 30 Nov 2026 00:00:00 GMT', 'cache-control', 'max-age=3600'];

export function fillRecord(key: string, now: number): FillRecord {
  return { id: `${process.pid}-${key}`, pid: process.pid, until: now + 10_000, state: 'filling', status: 0, headers: null, timing: null, size: -1, blockSize: 1 << 20, blocks: [], crcs: [], key };
}

export function objectRecord(key: string, now: number): ObjectMeta {
  return {
    key,
    status: 200,
    headers: HEADERS,
    size: BODY.length,
    etag: '"1024"',
    lastModifiedMs: 1_790_000_000_000,
    requestTime: now,
    responseTime: now,
    dateMs: now,
    ageHeaderSec: 0,
    ttlSec: 3600,
    staleWhileRevalidateSec: 0,
    staleIfErrorSec: 0,
    revalidate: 'normal',
    mustRevalidate: false,
    ttlSource: 'origin',
    extendedSec: 0,
    inline: Buffer.from(BODY),
    blocks: [],
    blockSize: 1 << 20,
    complete: true,
    crcs: [],
    generation: 1,
  };
}
