/**
 * Tag purge (issue 24): fills a fresh index with OBJECTS small objects directly through CacheIndex.commit (as
 * bench/purge-latency.ts does), each with three cache tags (`cat-<i % 50>`, `page-<i % 1000>`, and `product-42` on
 * TAGGED of them, spread through the key space), then times primary/cache-control.ts runTags (the code
 * /command/*?tag= runs) for purge, expire and hardpurge of `product-42`, beside the glob purge of as many objects for
 * comparison. Worker notification is stubbed out, as in purge-latency.
 * Then the cost tags add to a miss where it lands, the store transaction: commits of 1 KiB objects in batches of
 * BATCH (workers batch the commits of one event-loop turn) without tags and with 3 and 10 tags, each object in a
 * tag set of its own (the worst case: its set's tag entries are written with it) or all in one set, alternating
 * rounds, and parseTags on a three-tag header. Compare with a worker's CPU per miss (bench/README.md, `miss`).
 * Run: npm run build && nice -n 5 node dist/bench/tag-purge.js [objects] [tagged]   (or `commit-only`)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheIndex } from '../src/cache/index.js';
import type { ObjectMeta } from '../src/cache/index.js';
import { keyHash, objectKey, primaryKey } from '../src/cache/key.js';
import { parseTags } from '../src/cache/tags.js';
import { loadConfigFromText } from '../src/config/load.js';
import { CacheControl } from '../src/primary/cache-control.js';

const OBJECTS = Number(process.argv[2] ?? 100_000);
const TAGGED = Number(process.argv[3] ?? 10_000);
const HOST = 'bench.test';
const BODY = new Uint8Array(512);
const BATCH = 50;

function meta(key: string, now: number, tags: readonly string[] | undefined, body = BODY): ObjectMeta {
  const out: ObjectMeta = {
    key,
    status: 200,
    headers: ['content-type', 'text/plain', 'cache-control', 'max-age=3600'],
    size: body.length,
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
    inline: body,
    blocks: [],
    blockSize: 1024 * 1024,
    crcs: [],
    generation: 1,
  };
  // Set on the object as the fill does (pipeline/fill-policy.ts), not by a copy the worker does not make.
  if (tags !== undefined) (out as { tags?: readonly string[] }).tags = tags;
  return out;
}

/** Object i's tags: every object has two; one in OBJECTS / TAGGED also has product-42. */
function tagsOf(i: number): string[] {
  const tags = [`cat-${i % 50}`, `page-${i % 1000}`];
  if (i % Math.round(OBJECTS / TAGGED) === 0) tags.push('product-42');
  return tags;
}

async function fill(index: CacheIndex, count: number, pathOf: (i: number) => string, tags: (i: number) => string[] | undefined, body = BODY): Promise<void> {
  const now = Date.now();
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    const primary = primaryKey(HOST, pathOf(i), '');
    const key = objectKey(primary, '');
    pending.push(index.commit(keyHash(key), keyHash(primary), [], meta(key, now, tags(i), body), null, now));
    if (pending.length >= BATCH) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

async function main(): Promise<void> {
  if (process.argv[2] !== 'commit-only') await purges();
  await commits();
}

async function purges(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flint-tag-bench-'));
  const index = new CacheIndex(join(dir, 'index'));
  const config = loadConfigFromText(
    join(dir, 'conf'),
    `<Server><Cache><Storage><Disk>${dir}</Disk></Storage></Cache></Server>`,
    `<Vhosts><Vhost Name="${HOST}"><Origin><Address>127.0.0.1</Address></Origin></Vhost></Vhosts>`,
    { cpuCount: 1 },
  );
  const control = new CacheControl({ indexes: () => [index], notifyWorkers: () => Promise.resolve() });
  // Tagged objects spread through the key space; the glob reference purges /g/* (as many objects, one prefix).
  const pathOf = (i: number): string => (i % Math.round(OBJECTS / TAGGED) === 0 ? `/g/${i}` : `/o/${i}`);
  const fillStart = performance.now();
  await fill(index, OBJECTS, pathOf, tagsOf);
  console.log(`filled ${index.objectCount()} objects (${index.tagEntries().length} tag entries) in ${Math.round(performance.now() - fillStart)} ms`);

  const time = async (label: string, run: () => Promise<{ body: unknown }>): Promise<void> => {
    const started = performance.now();
    const result = await run();
    console.log(`${label.padEnd(48)} ${(performance.now() - started).toFixed(1).padStart(8)} ms  ${JSON.stringify(result.body)}`);
  };
  await time('purge tag=product-42', () => control.runTags(config, 'purge', 'product-42', null, 0));
  await time('purge tag=product-42 again (no-op)', () => control.runTags(config, 'purge', 'product-42', null, 0));
  await time('expire tag=product-42 (purged: stale, no-op)', () => control.runTags(config, 'expire', 'product-42', null, 0));
  await time('purge tag=nothing', () => control.runTags(config, 'purge', 'nothing', null, 0));
  await time('hardpurge tag=product-42', () => control.runTags(config, 'hardpurge', 'product-42', null, 0));
  await fill(index, OBJECTS, pathOf, (i) => (i % Math.round(OBJECTS / TAGGED) === 0 ? tagsOf(i) : undefined));
  await time('expire tag=product-42 on fresh copies', () => control.runTags(config, 'expire', 'product-42', null, 0));
  await fill(index, OBJECTS, pathOf, (i) => (i % Math.round(OBJECTS / TAGGED) === 0 ? tagsOf(i) : undefined));
  await time('reference: purge glob /g/* (same objects)', () => control.run(config, 'purge', `${HOST}/g/*`, 0));
  await index.close();
  rmSync(dir, { recursive: true, force: true });
}

async function commits(): Promise<void> {
  // The store transaction with and without tags: fresh index per round, alternating, 20,000 commits each.
  const body = new Uint8Array(1024);
  const commits = 20_000;
  const variants: Array<[string, (i: number) => string[] | undefined]> = [
    ['no tags', () => undefined],
    // Tag sets (cache/tag-index.ts): every object its own set (one tag is unique to it), then every object in one
    // set (the `miss-tagged` scenario's case: an origin tagging many objects alike).
    ['3 tags', (i) => [`cat-${i % 50}`, `page-${i % 1000}`, `p-${i}`]],
    ['10 tags', (i) => Array.from({ length: 10 }, (_, t) => `t${t}-${i % (100 * (t + 1))}`)],
    ['3 tags, one set', () => ['a', 'b', 'c']],
    ['10 tags, one set', () => ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']],
  ];
  const results = new Map<string, number[]>();
  for (let round = 0; round < 4; round++) {
    for (const [name, tags] of variants) {
      const roundDir = mkdtempSync(join(tmpdir(), 'flint-tag-commit-'));
      const fresh = new CacheIndex(join(roundDir, 'index'));
      await fill(fresh, 2000, (i) => `/warm/${i}`, tags, body);
      const cpu = process.cpuUsage();
      await fill(fresh, commits, (i) => `/c/${i}`, tags, body);
      const used = process.cpuUsage(cpu);
      const perCommitUs = (used.user + used.system) / commits;
      results.set(name, [...(results.get(name) ?? []), perCommitUs]);
      await fresh.close();
      rmSync(roundDir, { recursive: true, force: true });
    }
  }
  for (const [name, values] of results) console.log(`commit, ${name.padEnd(16)} CPU per object (4 rounds): ${values.map((v) => v.toFixed(1)).join(', ')} us`);

  const headers = { 'surrogate-key': 'product-42 category-7 page-home' };
  const options = { fields: ['surrogate-key', 'cache-tag'], strip: true, max: 64, maxLength: 128 };
  const loops = 1_000_000;
  for (let i = 0; i < 100_000; i++) parseTags(headers, options);
  const started = performance.now();
  for (let i = 0; i < loops; i++) parseTags(headers, options);
  const untagged = { 'content-type': 'text/plain' };
  const middle = performance.now();
  for (let i = 0; i < loops; i++) parseTags(untagged, options);
  const end = performance.now();
  console.log(`parseTags: ${(((middle - started) * 1e6) / loops).toFixed(0)} ns for 3 tags, ${(((end - middle) * 1e6) / loops).toFixed(0)} ns without tag fields`);
}

await main();
