/**
 * @module primary/inspector
 * /monitoring/fileinfo?url= (STON's object inspector): every stored variant of one URL, on every disk, with its size,
 * blocks present, state (filling / partial / complete / stale / purged), TTL left, validators, stored headers, last
 * access and hit count. Reads the index only. Runs only in the primary.
 */
import type { Config } from '../config/types.js';
import { ABSENT_BLOCK } from '../cache/index.js';
import type { CacheIndex, FillRecord } from '../cache/index.js';
import { currentAge } from '../cache/freshness.js';
import { keyHash, objectKey } from '../cache/key.js';
import { parseTargets } from '../policy/purge-target.js';

/** Object states shown by the inspector. */
export type InspectedState = 'filling' | 'partial' | 'complete' | 'stale' | 'purged';

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

function fillView(fill: FillRecord | undefined, now: number): Record<string, unknown> | null {
  if (fill === undefined || fill.until <= now) return null;
  // Controls: commands that reached the fill in flight; its commit applies them (it is not stored fresh).
  return { Pid: fill.pid, State: fill.state, BlocksWritten: fill.blocks.length, Size: fill.size, Controls: (fill.controls ?? []).map((c) => c.action) };
}

/** The inspector document for `url` (one exact URL, host + path). */
export function inspectUrl(config: Config, indexes: readonly CacheIndex[], url: string, now: number): { status: number; body: unknown } {
  const targets = parseTargets(config, url);
  const target = targets[0];
  if (target === undefined || targets.length !== 1) return { status: 400, body: { error: 'give one URL: url=host/path' } };
  if (!target.ok) return { status: 400, body: { error: `${target.text}: ${target.error}` } };
  if (target.scope.primary === null) return { status: 400, body: { error: 'fileinfo takes one exact URL, not a pattern' } };
  const primary = target.scope.primary;
  const variants: Array<Record<string, unknown>> = [];
  indexes.forEach((index, disk) => {
    for (const { hash, meta, fill, lastAccessMs, hits } of index.inspect(primary)) {
      const ageSec = currentAge(meta, now);
      const ttlLeftSec = meta.ttlSec + meta.extendedSec - ageSec;
      const present = meta.inline !== null ? 1 : meta.blocks.filter((b) => b !== ABSENT_BLOCK).length;
      let state: InspectedState = meta.complete === false ? 'partial' : ttlLeftSec > 0 ? 'complete' : 'stale';
      if (meta.purged === true && ttlLeftSec <= 0) state = 'purged';
      if (fillView(fill, now) !== null) state = 'filling';
      const headers: Record<string, string | string[]> = {};
      for (let i = 0; i < meta.headers.length; i += 2) {
        const name = meta.headers[i] as string;
        const value = meta.headers[i + 1] as string;
        const existing = headers[name];
        headers[name] = existing === undefined ? value : [...(typeof existing === 'string' ? [existing] : existing), value];
      }
      variants.push({
        Disk: disk,
        Key: meta.key,
        Variant: meta.key.slice(meta.key.indexOf('\0') + 1),
        Hash: hash.toString('hex'),
        State: state,
        ResCode: meta.status,
        Size: meta.size,
        Inline: meta.inline !== null,
        BlockSize: meta.blockSize,
        BlocksPresent: present,
        BlocksTotal: meta.inline !== null ? 1 : meta.blocks.length,
        TTL: meta.ttlSec,
        'TTL-Left': Math.round(ttlLeftSec),
        TTLSource: meta.ttlSource,
        Age: Math.floor(ageSec),
        ETag: meta.etag,
        LMT: iso(meta.lastModifiedMs),
        UpdateTime: iso(meta.responseTime),
        LastAccess: iso(lastAccessMs),
        HitCount: hits,
        Purge: meta.purged === true,
        Generation: meta.generation,
        'Downloader-Count': fillView(fill, now) === null ? 0 : 1,
        Fill: fillView(fill, now),
        Headers: headers,
      });
    }
    // A first fill of the URL (nothing stored yet) is keyed by the variant-less key.
    const first = fillView(index.getFill(keyHash(objectKey(primary, ''))), now);
    if (first !== null && !variants.some((v) => v.Disk === disk && v.Variant === '')) {
      variants.push({ Disk: disk, Key: objectKey(primary, ''), Variant: '', State: 'filling', 'Downloader-Count': 1, Fill: first });
    }
  });
  return { status: variants.length === 0 ? 404 : 200, body: { Url: url, Vhost: target.scope.vhost, Count: variants.length, Variants: variants } };
}
