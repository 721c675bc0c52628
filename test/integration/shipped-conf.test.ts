// Issue 19's bar, tried as a new user would: Flint on a copy of the shipped conf/ with the demo origin
// (`flint start --demo-origin`, only the ports changed to free loopback ones) survives a scripted run of every
// malformed request (test/helpers/hostile.ts), plus the outage and poisoning attempts; afterwards the
// origin is still up in /monitoring/origin, clean requests get the demo origin's content, and no response was
// served to the wrong host (a made-up Host gets 404: the shipped conf has no catch-all).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { MAIN, sleep } from '../helpers/flint.js';
import { assertRefusedAtOnce, hostileRequests } from '../helpers/hostile.js';
import { rawExchange, request } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';

const REPO_CONF = fileURLToPath(new URL('../../../conf/', import.meta.url));

interface OriginDoc {
  result: Array<{ VirtualHost: string; Members: Array<{ Member: string; State: string; ConsecutiveFailures: number; Exclusions: number }> }>;
}

/** The shipped file with `replacements` applied, each of which must match exactly once. */
function rewritten(file: string, replacements: Array<[string, string]>): string {
  let text = readFileSync(join(REPO_CONF, file), 'utf8');
  for (const [from, to] of replacements) {
    assert.equal(text.split(from).length, 2, `${file}: ${from} appears once`);
    text = text.replace(from, to);
  }
  return text;
}

describe('the shipped conf/ with the demo origin survives every malformed request', () => {
  let dir: string;
  let child: ChildProcess;
  let port: number;
  let managerPort: number;
  let demoPort: number;
  let output = '';

  const admin = async <T>(path: string): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${managerPort}${path}`);
    assert.equal(res.status, 200, path);
    return (await res.json()) as T;
  };

  before(async () => {
    [port, managerPort, demoPort] = [await freePort(), await freePort(), await freePort()];
    dir = mkdtempSync(join(tmpdir(), 'flint-shipped-'));
    mkdirSync(join(dir, 'conf'));
    writeFileSync(
      join(dir, 'conf', 'server.xml'),
      rewritten('server.xml', [
        ['<Manager Port="10040">', `<Manager Port="${managerPort}">`],
        ['<Workers>0</Workers>', '<Workers>2</Workers>'],
      ]),
    );
    writeFileSync(
      join(dir, 'conf', 'vhosts.xml'),
      rewritten('vhosts.xml', [
        ['<Listen>*:8080</Listen>', `<Listen>127.0.0.1:${port}</Listen>`],
        ['<Address>127.0.0.1:9000</Address>', `<Address>127.0.0.1:${demoPort}</Address>`],
      ]),
    );
    child = spawn(process.execPath, [MAIN, 'start', '--conf', join(dir, 'conf'), '--demo-origin'], {
      env: { ...process.env, FLINT_DEMO_ORIGIN_PORT: String(demoPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
    process.once('exit', () => child.kill('SIGKILL'));
    const deadline = Date.now() + 20_000;
    for (;;) {
      assert.ok(child.exitCode === null, `flint exited: ${output}`);
      try {
        const health = await fetch(`http://127.0.0.1:${managerPort}/health`);
        await health.arrayBuffer();
        const demo = await fetch(`http://127.0.0.1:${demoPort}/hello.txt`);
        await demo.arrayBuffer();
        if (health.status === 200 && demo.status === 200) break;
      } catch {
        // not up yet
      }
      assert.ok(Date.now() < deadline, `flint or the demo origin not up: ${output}`);
      await sleep(100);
    }
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await new Promise((resolve) => child.once('exit', resolve));
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('README\'s first command: curl -i http://127.0.0.1:8080/ gets the demo page', async () => {
    const res = await request({ port, host: `127.0.0.1:${port}` });
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /Served by the Flint demo origin/);
    const local = await request({ port, host: `localhost:${port}`, path: '/hello.txt' });
    assert.equal(local.body.toString(), 'hello from the Flint demo origin\n');
  });

  test('every malformed request, three times, for each name of the demo vhost: refused at once, connection closed', async () => {
    for (const host of ['example.com', '127.0.0.1']) {
      for (let round = 0; round < 3; round++) {
        for (const hostile of hostileRequests(host)) await assertRefusedAtOnce(port, hostile);
      }
    }
  });

  test('the issue\'s outage and poisoning attempts: Content-Length -1 three times, made-up and look-alike Hosts', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await rawExchange(port, ['POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: -1\r\n\r\n'], 0, 2000);
      assert.match(res.received, /^HTTP\/1\.1 400 /);
    }
    for (const host of ['attacker.example', 'example.com.evil', 'localhost.evil']) {
      const res = await request({ port, host, path: '/login?next=1' });
      assert.equal(res.status, 404, host);
      assert.doesNotMatch(res.body.toString(), /demo origin/);
    }
    for (const host of ['EXAMPLE.COM', 'example.com.', `example.com:${port}`, 'www.example.com']) {
      const res = await request({ port, host, path: '/hello.txt' });
      assert.equal(res.status, 200, host);
      assert.equal(res.body.toString(), 'hello from the Flint demo origin\n', host);
    }
  });

  test('afterwards the demo origin is up, never excluded, and clean requests get the right content', async () => {
    const doc = await admin<OriginDoc>('/monitoring/origin');
    const vhost = doc.result.find((v) => v.VirtualHost === 'example.com');
    const member = vhost?.Members.find((m) => m.Member === `127.0.0.1:${demoPort}`);
    assert.ok(member !== undefined, JSON.stringify(doc));
    assert.equal(member.State, 'Active');
    assert.equal(member.Exclusions, 0);
    assert.equal(member.ConsecutiveFailures, 0);
    const page = await request({ port, host: '127.0.0.1', path: '/' });
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /Served by the Flint demo origin/);
    const hello = await request({ port, host: 'example.com', path: '/hello.txt' });
    assert.equal(hello.body.toString(), 'hello from the Flint demo origin\n');
    const big = await request({ port, host: 'example.com', path: '/big.bin' });
    assert.equal(big.body.length, 1024 * 1024);
  });
});
