/**
 * @module cache/disks
 * The stores of every `<Disk>` of a worker, and which one a URL lives on: rendezvous hashing of its primary key,
 * weighted by each disk's quota (configured or derived), so every worker picks the same disk for a key (its lookup,
 * fill lease and commit all happen in that disk's index), a disk holds objects in proportion to its quota, and a
 * disk that fails moves only its own keys to the others. A disk fails when its block I/O reports the device gone
 * or broken (CacheStore.failed) or its index file disappears (checked every second); its keys then go to the others
 * until the worker restarts. Runs in workers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { keyHash } from './key.js';
import { CacheStore } from './store.js';

/** Mixes 32 bits (murmur3's finaliser), so every disk's score of a key is independent of the others'. */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export class DiskSet {
  readonly stores: readonly CacheStore[];
  /** Per disk: a seed from its path (the same in every worker and across restarts) and its weight (quota bytes). */
  readonly #seeds: readonly number[];
  readonly #weights: readonly number[];

  /** Opens every disk's store; `memoryBytes` (block memory) is shared out evenly. */
  constructor(storage: StorageConfig, memoryBytes: number, log: Logger) {
    const share = Math.floor(memoryBytes / Math.max(1, storage.disks.length));
    this.stores = storage.disks.map((disk) => new CacheStore(disk, storage, share, log));
    this.#seeds = storage.disks.map((disk) => keyHash(disk.path).readUInt32LE(0));
    // A disk without any quota (none configured, none derived) weighs as much as the largest.
    const largest = Math.max(1, ...this.stores.map((s) => s.quotaBytes));
    this.#weights = this.stores.map((s) => (s.quotaBytes > 0 ? s.quotaBytes : largest));
  }

  /**
   * The index of the store a primary key lives on: the working disk with the highest weighted score
   * (-weight / ln(u), u uniform from the key and the disk's seed). One store: always 0, nothing computed.
   */
  pick(primary: string): number {
    if (this.stores.length === 1) return 0;
    const key = keyHash(primary).readUInt32LE(0);
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < this.stores.length; i++) {
      if ((this.stores[i] as CacheStore).failed) continue;
      const u = (mix32(key ^ (this.#seeds[i] as number)) + 0.5) / 4294967296;
      const score = -(this.#weights[i] as number) / Math.log(u);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }

  /** Marks failed the disks whose index file is gone (the directory removed, the device unmounted). */
  check(): void {
    if (this.stores.length === 1) return;
    for (const store of this.stores) {
      if (!store.failed && !existsSync(join(store.diskPath, 'index', 'index.lmdb'))) store.fail(new Error('the index file is gone'));
    }
  }

  /** Summed block memory counters of every store (the worker's snapshot). */
  memory(): { hits: number; misses: number; bytes: number; blocks: number } {
    const out = { hits: 0, misses: 0, bytes: 0, blocks: 0 };
    for (const { memory } of this.stores) {
      out.hits += memory.hits;
      out.misses += memory.misses;
      out.bytes += memory.bytes;
      out.blocks += memory.size;
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.stores.map((s) => s.close()));
  }
}
