/**
 * Storage degradation is logged by the store, once per degraded spell, whichever path found the failure: a release
 * that failed before a fill's write was reported once hid the ENOSPC from the log (a CI run waited for it in vain).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { CacheStore } from '../../src/cache/store.js';

test('a storage failure found by any path is logged once, with its reason and disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flint-degraded-'));
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const store = new CacheStore(
    { path: dir, quotaBytes: 0 },
    { disks: [], blockSizeBytes: 64 * 1024, inlineMaxBytes: 1024, evictionPolicy: 'lru', highWaterPercent: 90, lowWaterPercent: 70 },
    0,
    pino(sink),
  );
  try {
    assert.equal(store.degraded, false);
    // A release's failure first (as on a full disk), then the write's: one line, naming the first.
    store.markDegraded('ENOSPC: no space left on device, release');
    store.markDegraded('ENOSPC: no space left on device, write');
    assert.equal(store.degraded, true);
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.filter((l) => l.event === 'cache.storage_degraded');
    assert.equal(logged.length, 1, 'logged once per spell');
    assert.equal(logged[0]?.err, 'ENOSPC: no space left on device, release');
    assert.equal(logged[0]?.disk, dir);
    assert.equal(store.degradedReason, 'ENOSPC: no space left on device, write', 'the reason shown in stats is the latest');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
