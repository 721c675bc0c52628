/**
 * `flint stats` end to end (issue 5 item 9): the table shows the host and each vhost with the numbers /stats has,
 * `--vhost` narrows it, `--watch` redraws every second until it is interrupted, and the command fails with a
 * clear message when Flint is not running, when the management port denies access, or for an unknown vhost.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCacheFlint, waitFor } from '../helpers/cache.js';
import { MAIN, serverXml, sleep } from '../helpers/flint.js';
import type { FlintProcess } from '../helpers/flint.js';
import { request } from '../helpers/http.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function flintCli(args: readonly string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`flint ${args.join(' ')} did not exit: ${stdout} ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The cells of the table row that starts with `label`. */
function rowOf(out: string, label: string): string[] {
  const line = out.split('\n').find((l) => l.startsWith(`${label} `));
  assert.ok(line !== undefined, `row ${label} in:\n${out}`);
  return line.slice(label.length).trim().split(/\s{2,}/);
}

describe('flint stats', () => {
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;

  before(async () => {
    origin = await TestOrigin.start((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end('y'.repeat(512));
    });
    ({ flint, port } = await startCacheFlint([{ name: 'a.test', origin }, { name: 'b.test', origin }]));
    for (let i = 0; i < 12; i++) await request({ port, host: 'a.test', path: `/c/${i % 3}` });
    for (let i = 0; i < 3; i++) await request({ port, host: 'b.test', path: `/c/${i}` });
    await waitFor('15 finished', async () => ((await flint.stats()).totals.responses2xx === 15 ? true : undefined));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
  });

  test('prints the host and every vhost with their request totals', async () => {
    const run = await flintCli(['stats', '--conf', flint.confDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Flint {2}\S+ {2}up \d+ s {2}workers 1\/1/);
    assert.match(run.stdout, /req\/s +hit% +byte-hit%/);
    const host = rowOf(run.stdout, 'host (last second)');
    assert.equal(host[host.length - 1], '15', `host row: ${host.join('|')}`);
    assert.equal(rowOf(run.stdout, 'a.test').at(-1), '12');
    assert.equal(rowOf(run.stdout, 'b.test').at(-1), '3');
    rowOf(run.stdout, 'host (1-min average)');
  });

  test('--vhost shows that vhost only; an unknown vhost fails', async () => {
    const run = await flintCli(['stats', '--vhost', 'b.test', '--conf', flint.confDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(rowOf(run.stdout, 'b.test').at(-1), '3');
    assert.doesNotMatch(run.stdout, /^a\.test /m);
    assert.doesNotMatch(run.stdout, /^host /m);
    const bad = await flintCli(['stats', '--vhost', 'nope.test', '--conf', flint.confDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown vhost: nope\.test \(known: a\.test, b\.test\)/);
    const usage = await flintCli(['stats', '--vhost']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /--vhost needs a value/);
  });

  test('--watch redraws every second until interrupted', async () => {
    const child = spawn(process.execPath, [MAIN, 'stats', '--watch', '--conf', flint.confDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // traffic while watching: a later screen shows the new total
      await sleep(300);
      for (let i = 0; i < 5; i++) await request({ port, host: 'a.test', path: `/c/${i % 3}` });
      await waitFor('two screens, the later one with 17 requests on a.test', () => {
        const screens = out.split('\x1b[H\x1b[2J').filter((s) => s !== '');
        return screens.length >= 2 && / 17\n/.test(screens[screens.length - 1] as string) ? true : undefined;
      }, 6000, 100);
      assert.match(out, /Ctrl-C to stop/);
    } finally {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGINT');
    }
    assert.equal(await exited, 0);
  });

  test('clear errors when Flint is not running or access is denied', async () => {
    // a config whose manager port nothing listens on
    const dir = mkdtempSync(join(tmpdir(), 'flint-cli-'));
    try {
      cpSync(flint.confDir, join(dir, 'conf'), { recursive: true });
      const managerPort = await freePort();
      writeFileSync(join(dir, 'conf', 'server.xml'), serverXml({ managerPort, dir }));
      const down = await flintCli(['stats', '--conf', join(dir, 'conf')]);
      assert.equal(down.code, 1);
      assert.match(down.stderr, new RegExp(`Flint is not running: nothing listens on the management port http://127\\.0\\.0\\.1:${managerPort}`));
      // the running Flint now wants a token; a CLI reading the old config (no token) is refused
      cpSync(flint.confDir, join(dir, 'old'), { recursive: true });
      flint.writeConf('server.xml', serverXml({ managerPort: flint.managerPort, dir: flint.dir }).replace('<Manager ', '<Manager Token="s3cret" '));
      const reload = await flint.admin<{ ok: boolean }>('/conf/reload');
      assert.equal(reload.body.ok, true);
      const denied = await flintCli(['stats', '--conf', join(dir, 'old')]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /access denied by the management port .*\(HTTP 401\): missing or wrong token/);
      // with the token from the new config it works
      const allowed = await flintCli(['stats', '--conf', flint.confDir]);
      assert.equal(allowed.code, 0, allowed.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
