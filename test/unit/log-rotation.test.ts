// Unit tests of logs/rotation (the primary's rotator) on real files with a fake clock: time rolling on Unit
// boundaries, the order rename -> new file with header -> every process reopened -> gzip -> prune (so a worker that
// has not reopened yet still appends to an uncompressed file), Retention, and files holding only their header.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createProcessLogger } from '../../src/log.js';
import { LogRotator, managedLogs } from '../../src/logs/rotation.js';
import { loadConfigFromText } from '../../src/config/load.js';
import type { LogRotation } from '../../src/config/types.js';

const HOUR = 60 * 60_000;
const T0 = Date.UTC(2026, 11, 6, 10, 0, 30);
const log = createProcessLogger('fatal', null, {});

function rotation(over: Partial<LogRotation> = {}): LogRotation {
  return { type: 'time', unit: { minutes: 60, bytes: 1024 * 1024 }, retention: 2, compression: false, ...over };
}

function setup(): { dir: string; path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'flint-rotation-'));
  return { dir, path: join(dir, 'access.log'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('time rolling: nothing within the period; at the boundary rename, reopen everywhere, then gzip and prune', async () => {
  const { dir, path, cleanup } = setup();
  try {
    let now = T0;
    const seen: string[][] = [];
    const rotator = new LogRotator(
      log,
      async () => {
        // When the workers are told to reopen, the rolled file is still plain (a late record can still be appended).
        seen.push(readdirSync(dir).sort());
        appendFileSync(readdirSync(dir).map((n) => join(dir, n)).find((p) => p !== path) ?? path, 'late\n');
      },
      () => now,
    );
    await rotator.manage([{ path, rotation: rotation({ compression: true }), header: null }]);
    writeFileSync(path, 'first\n');
    now = T0 + 20 * 60_000;
    await rotator.check();
    assert.deepEqual(seen, [], 'no roll within the hour');
    now = Date.UTC(2026, 11, 6, 11, 0, 1);
    await rotator.check();
    assert.deepEqual(seen, [['access.log.20261206-110001']]);
    assert.deepEqual(readdirSync(dir).sort(), ['access.log.20261206-110001.gz']);
    assert.equal(gunzipSync(readFileSync(join(dir, 'access.log.20261206-110001.gz'))).toString(), 'first\nlate\n', 'the late record is in the gzip');
    // Two more hours with records: three rolled files, Retention 2 keeps the newest two.
    for (const hour of [12, 13]) {
      writeFileSync(path, `hour ${hour}\n`);
      now = Date.UTC(2026, 11, 6, hour, 0, 5);
      await rotator.check();
    }
    assert.deepEqual(readdirSync(dir).sort(), ['access.log.20261206-120005.gz', 'access.log.20261206-130005.gz']);
  } finally {
    cleanup();
  }
});

test('a W3C file gets its header at start and after each roll; one holding only its header is not rolled', async () => {
  const { dir, path, cleanup } = setup();
  try {
    let now = T0;
    let reopens = 0;
    const rotator = new LogRotator(log, async () => void reopens++, () => now);
    const header = '#Fields: a b\n';
    await rotator.manage([{ path, rotation: rotation(), header }]);
    assert.equal(readFileSync(path, 'utf8'), header);
    now += HOUR;
    await rotator.check();
    assert.equal(reopens, 0, 'a header-only file is not rolled');
    appendFileSync(path, '1 2\n');
    now += HOUR;
    await rotator.check();
    assert.equal(reopens, 1);
    assert.equal(readFileSync(path, 'utf8'), header, 'the new file starts with the header');
    const rolled = readdirSync(dir).filter((n) => n !== 'access.log');
    assert.equal(rolled.length, 1);
    assert.equal(readFileSync(join(dir, rolled[0] ?? ''), 'utf8'), `${header}1 2\n`);
  } finally {
    cleanup();
  }
});

test('size rolling: past Unit bytes only; Type none never rolls; SIGUSR1 reopen recreates a moved W3C file with its header', async () => {
  const { dir, path, cleanup } = setup();
  try {
    let reopens = 0;
    const rotator = new LogRotator(log, async () => void reopens++, () => T0);
    const other = join(dir, 'origin.log');
    await rotator.manage([
      { path, rotation: rotation({ type: 'size', unit: { minutes: 60, bytes: 100 } }), header: null },
      { path: other, rotation: rotation({ type: 'none' }), header: '#Fields: x\n' },
    ]);
    writeFileSync(path, 'x'.repeat(99));
    appendFileSync(other, 'y'.repeat(10_000));
    await rotator.check();
    assert.equal(reopens, 0);
    appendFileSync(path, 'x');
    await rotator.check();
    assert.equal(reopens, 1);
    assert.ok(!existsSync(path), 'JSON logs get no header file: workers create it when they reopen');
    assert.equal(readdirSync(dir).filter((n) => n.startsWith('origin.log')).length, 1, 'Type none never rolls');
    // logrotate's way: mv, then SIGUSR1.
    renameSync(other, `${other}.1`);
    await rotator.reopen();
    assert.equal(reopens, 2);
    assert.equal(readFileSync(other, 'utf8'), '#Fields: x\n');
  } finally {
    cleanup();
  }
});

test('managed files: the Info log, each access and origin path once (first vhost wins), W3C headers for ston and origin', () => {
  const config = loadConfigFromText(
    '/srv/flint/conf',
    '<Server><Host><Log><Info Type="size" Unit="5">var/log/flint.log</Info></Log></Host><VHostDefault><Log><Access Form="ston">var/log/a.log</Access></Log></VHostDefault></Server>',
    '<Vhosts><Vhost Name="a.com"><Origin><Address>10.0.0.1</Address></Origin><Log><Origin Retention="4">ON</Origin></Log></Vhost>' +
      '<Vhost Name="b.com"><Origin><Address>10.0.0.2</Address></Origin><Log><Access Form="json">var/log/a.log</Access></Log></Vhost></Vhosts>',
    { cpuCount: 2 },
  );
  const logs = managedLogs(config).map((l) => [l.path, l.rotation.type, l.rotation.retention, l.header?.split('\n')[2]?.slice(0, 20) ?? null]);
  assert.deepEqual(logs, [
    ['/srv/flint/var/log/flint.log', 'size', 10, null],
    ['/srv/flint/var/log/a.log', 'time', 10, '#Fields: date time s'],
    ['/srv/flint/var/log/origin.log', 'time', 4, '#Fields: date time x'],
  ]);
});
