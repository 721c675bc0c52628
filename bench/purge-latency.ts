/**
 * Purge latency (issue 5): fills a fresh index with OBJECTS small objects DIRECTLY through CacheIndex.commit (no
 * HTTP, no workers: the index is what a purge walks), GLOB_MATCHES of them under /img/ with a .jpg name and the rest
 * spread over other prefixes, then times the primary's cache-control code (primary/cache-control.ts, the same code
 * /command/* runs) for: an exact URL, a glob matching GLOB_MATCHES objects (purge, then expire, then hardpurge on
 * fresh copies), and a glob whose prefix matches nothing. Worker notification is a no-op here (in a running Flint
 * it adds one IPC round trip per worker, measured separately by the integration tests' timings).
 * Also times the hit-path cost this branch adds (the per-hit hit-count Map update) in a micro loop.
 * Run: npm run build && node dist/bench/purge-latency.js [objects] [matches]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheIndex } from '../src/cache/index.js';
import type { ObjectMeta } from '../src/cache/index.js';
import { keyHash, objectKey, primaryKey } from '../src/cache/key.js';
import { loadConfigFromText } from '../src/config/load.js';
import { CacheControl } from '../src/primary/cache-control.js';

const OBJECTS = Number(process.argv[2] ?? 100_000);
const GLOB_MATCHES = Number(process.argv[3] ?? 10_000);
const HOST = 'bench.test';
const BODY = new Uint8Array(512);

function meta(key: string, now: number): ObjectMeta {
  return {
    key,
    status: 200,
    headers: ['content-type', 'image/jpeg', 'cache-control', 'max-age=3600'],
    size: BODY.length,
    etag: '"x"',
    lastModifiedMs: null,
    requestTime: now,
    responseTime: now,
    dateMs: null,
    ageHeaderSec: 0,
    ttlSec: 3600,
    staleWhileRevalidateSec: 0,
    staleIfErrorSec: 0,
    revalidate: 'normal',
    mustRevalidate: false,
    ttlSource: 'origin',
    extendedSec: 0,
    inline: BODY,
    blocks: [],
    blockSize: 1024 * 1024,
    crcs: [],
    generation: 1,
  };
}

/** Path of object i: the first GLOB_MATCHES are /img/<i>.jpg, the rest /img/<i>.png, /css/<i>.css, /a/b/<i>. */
function pathOf(i: number): string {
  if (i < GLOB_MATCHES) return `/img/${i}.jpg`;
  const kind = i % 3;
  return kind === 0 ? `/img/${i}.png` : kind === 1 ? `/css/${i}.css` : `/a/b/${i}`;
}

async function fill(index: CacheIndex, paths: readonly string[]): Promise<void> {
  const now = Date.now();
  const pending: Array<Promise<unknown>> = [];
  for (const path of paths) {
    const primary = primaryKey(HOST, path, '');
    const key = objectKey(primary, '');
    pending.push(index.commit(keyHash(key), keyHash(primary), [], meta(key, now), null, now));
    if (pending.length >= 2000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flint-purge-bench-'));
  const index = new CacheIndex(join(dir, 'index'));
  const config = loadConfigFromText(
    join(dir, 'conf'),
    `<Server><Cache><Storage><Disk>${dir}</Disk></Storage></Cache></Server>`,
    `<Vhosts><Vhost Name="${HOST}"><Origin><Address>127.0.0.1</Address></Origin></Vhost></Vhosts>`,
    { cpuCount: 1 },
  );
  const control = new CacheControl({ indexes: () => [index], notifyWorkers: () => Promise.resolve() });
  const all = Array.from({ length: OBJECTS }, (_, i) => pathOf(i));
  const fillStart = performance.now();
  await fill(index, all);
  console.log(`filled ${index.objectCount()} objects through CacheIndex.commit in ${Math.round(performance.now() - fillStart)} ms`);

  const time = async (label: string, command: 'purge' | 'expire' | 'hardpurge', url: string): Promise<void> => {
    const started = performance.now();
    const result = await control.run(config, command, url, 0);
    const ms = performance.now() - started;
    console.log(`${label.padEnd(44)} ${ms.toFixed(2).padStart(9)} ms  ${JSON.stringify(result.body)}`);
  };
  for (let i = 0; i < 5; i++) await time(`purge exact URL ${pathOf(GLOB_MATCHES + 7 + i)}`, 'purge', `${HOST}${pathOf(GLOB_MATCHES + 7 + i)}`);
  await time('purge the same exact URL again (no-op)', 'purge', `${HOST}${pathOf(GLOB_MATCHES + 7)}`);
  await time(`purge glob /img/*.jpg (${GLOB_MATCHES} match)`, 'purge', `${HOST}/img/*.jpg`);
  await time('expire glob /img/*.jpg (already purged: stale)', 'expire', `${HOST}/img/*.jpg`);
  await time(`hardpurge glob /img/*.jpg`, 'hardpurge', `${HOST}/img/*.jpg`);
  await fill(index, all.slice(0, GLOB_MATCHES));
  await time(`expire glob /img/*.jpg on fresh copies`, 'expire', `${HOST}/img/*.jpg`);
  await time('purge glob /nothing/* (empty prefix)', 'purge', `${HOST}/nothing/*`);
  await time('purge glob /*.jpg (prefix "/": scans all)', 'purge', `${HOST}/*.jpg`);

  // Hit-path cost: what Edge's touch() does per hit now (access time + hit count) vs before (access time only).
  const hexes = Array.from({ length: 1000 }, (_, i) => keyHash(String(i)).toString('hex'));
  const loops = 2_000_000;
  const measure = (withCount: boolean): number => {
    const touches = new Map<string, number>();
    const hits = new Map<string, number>();
    const started = performance.now();
    for (let i = 0; i < loops; i++) {
      const hex = hexes[i % hexes.length] as string;
      touches.set(hex, i);
      if (withCount) hits.set(hex, (hits.get(hex) ?? 0) + 1);
    }
    return ((performance.now() - started) * 1e6) / loops;
  };
  measure(true);
  measure(false);
  console.log(`hit path touch: ${measure(false).toFixed(1)} ns before, ${measure(true).toFixed(1)} ns with the hit count`);

  await index.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
