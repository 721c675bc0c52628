/**
 * Log files of a real Flint (primary + workers) with real origins: `mv` + SIGUSR1 moves every process to a new file
 * at the old path with no record lost or duplicated across two workers; size-based rolling keeps Retention files,
 * gzipped and valid; each access Form writes the expected line for a known request (STON W3C with its `#Fields`
 * header, Apache combined, a custom `%` list); the origin log has one line per origin transaction with the
 * connection's reuse count, timings and socket errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FlintProcess, serverXml, sleep, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';

function lines(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

/** Polls `read` until `done` holds (log writes are asynchronous), or fails with the last value. */
async function eventually<T>(read: () => T, done: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = read();
  while (!done(value)) {
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(value).slice(0, 500)}`);
    await sleep(50);
    value = read();
  }
  return value;
}

describe('log files', () => {
  let origin: TestOrigin;

  before(async () => {
    origin = await TestOrigin.start((req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/reset')) {
        req.socket.destroy();
        return;
      }
      res.setHeader('Content-Type', 'text/plain');
      res.setHeader('Cache-Control', url.startsWith('/o/') ? 'no-store' : 'max-age=600');
      res.end('hello');
    });
  });

  after(async () => {
    await origin.close();
  });

  test('mv + SIGUSR1: two workers move to a new file at the old path; every record is in exactly one file', async () => {
    const port = await freePort();
    const flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ dir, managerPort, workers: 2 }),
      vhosts: vhostXml([{ name: 'site.test', port, origin: origin.address }]),
    }));
    try {
      const path = join(flint.dir, 'access.log');
      // A new connection per request, so the kernel spreads them over both workers' listen sockets.
      const send = async (prefix: string, count: number): Promise<void> => {
        for (let i = 0; i < count; i += 10) {
          await Promise.all(Array.from({ length: 10 }, (_, j) => request({ port, host: 'site.test', path: `/${prefix}-${i + j}` })));
        }
      };
      await send('before', 100);
      const renamed = `${path}.old`;
      renameSync(path, renamed);
      flint.signal('SIGUSR1');
      // Requests while the reopen is under way land in one file or the other, never in both or neither.
      await send('during', 40);
      await flint.waitForLog((l) => l.event === 'log.reopened' && l.signal === 'SIGUSR1');
      await send('after', 100);
      const total = await eventually(() => lines(renamed).length + lines(path).length, (n) => n >= 240, 'records in both files');
      assert.equal(total, 240);
      const urls = [...lines(renamed), ...lines(path)].map((l) => String((JSON.parse(l) as { url: string }).url));
      assert.equal(new Set(urls).size, 240, 'no record written twice');
      const oldUrls = lines(renamed).map((l) => String((JSON.parse(l) as { url: string }).url));
      const newUrls = lines(path).map((l) => String((JSON.parse(l) as { url: string }).url));
      assert.ok(urls.filter((u) => u.startsWith('/before-')).every((u) => oldUrls.includes(u)), 'records from before the mv are in the renamed file');
      assert.equal(newUrls.filter((u) => u.startsWith('/after-')).length, 100, 'records after the reopen are in the new file');
      const workers = (await flint.stats()).workers;
      assert.ok(workers.every((w) => w.requests > 0), `both workers served: ${JSON.stringify(workers)}`);

      // SIGHUP (a reload) reopens the files too, as logrotate's usual postrotate expects.
      renameSync(path, `${path}.hup`);
      flint.signal('SIGHUP');
      await flint.waitForLog((l) => l.event === 'log.reopened' && l.signal === 'SIGHUP');
      await send('hup', 20);
      await eventually(() => lines(path).length, (n) => n >= 20, 'records after SIGHUP in the new file');
      assert.equal(lines(path).length, 20);
    } finally {
      await flint.stop();
    }
  });

  test('size rolling: rolled files are gzipped (valid gzip, each with the #Fields header) and only Retention are kept', async () => {
    const port = await freePort();
    const flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ dir, managerPort, workers: 2, accessLog: false }),
      vhosts: vhostXml([
        {
          name: 'site.test',
          port,
          origin: origin.address,
          extra: `<Log><Access Form="ston" Type="size" Unit="1" Retention="2" Compression="ON">${join(dir, 'logs', 'access.log')}</Access></Log>`,
        },
      ]),
    }));
    try {
      const dir = join(flint.dir, 'logs');
      const path = join(dir, 'access.log');
      const header = `#Software: Flint\n#Version: 1.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-bytes time-taken cs-referer sc-resinfo cs-range sc-cachehit cs-acceptencoding session-id sc-content-length time-response x-transaction-status x-vhostlink x-vhost x-sc-ssl-protocol x-sc-ssl-cipher x-cs-original-url\n`;
      assert.equal(readFileSync(path, 'utf8'), header, 'the primary starts the file with its header');
      // ~2 KB lines: about 500 per MB. Write until three files were rolled (so one was deleted for Retention 2).
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      const query = `q=${'x'.repeat(2000)}`;
      const rolled = (): string[] => readdirSync(dir).filter((n) => n !== 'access.log').sort();
      let sent = 0;
      const removed: string[] = [];
      const deadline = Date.now() + 90_000;
      while (flint.logs.filter((l) => l.event === 'log.rotated').length < 3) {
        assert.ok(Date.now() < deadline, `only ${flint.logs.filter((l) => l.event === 'log.rotated').length} rolls after ${sent} requests`);
        await Promise.all(Array.from({ length: 50 }, (_, j) => request({ port, host: 'site.test', path: `/r/${sent + j}?${query}`, agent })));
        sent += 50;
      }
      agent.destroy();
      for (const line of flint.logs.filter((l) => l.event === 'log.rotated')) removed.push(...(line.removed as string[]));
      assert.ok(removed.length >= 1, 'a rolled file beyond Retention was deleted');
      const files = await eventually(rolled, (names) => names.length === 2 && names.every((n) => n.endsWith('.gz')), 'two gzipped rolled files');
      for (const name of files) {
        assert.match(name, /^access\.log\.\d{8}-\d{6}(-\d+)?\.gz$/);
        const text = gunzipSync(readFileSync(join(dir, name))).toString('utf8');
        assert.ok(text.startsWith(header), `${name} starts with the header`);
        const records = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
        assert.ok(records.length > 300, `${name}: ${records.length} records`);
        for (const record of records) assert.equal(record.split(' ').length, 27, record.slice(0, 200));
        assert.ok(text.length >= 1024 * 1024, `${name} was rolled past 1 MB (${text.length})`);
      }
      assert.ok(readFileSync(path, 'utf8').startsWith(header), 'the new file starts with the header');
    } finally {
      await flint.stop();
    }
  });

  test('access Forms: ston (W3C), apache (combined) and custom lines for a known request', async () => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ dir, managerPort, accessLog: false }),
      vhosts: vhostXml([
        { name: 'ston.test', port: p1, origin: origin.address, extra: `<Log><Access Form="ston">${join(dir, 'ston.log')}</Access></Log>` },
        { name: 'apache.test', port: p2, origin: origin.address, extra: `<Log><Access Form="apache">${join(dir, 'apache.log')}</Access></Log>` },
        {
          name: 'custom.test',
          port: p3,
          origin: origin.address,
          extra: `<Log><Access Form="custom">${join(dir, 'custom.log')}</Access><AccessFormat>%h [%{X-Trace}i] %m %U%q %&gt;s %B %S %X %v</AccessFormat></Log>`,
        },
      ]),
    }));
    try {
      const headers = { 'user-agent': 'Tester "1"/2', referer: 'http://ref.test/a b', 'x-trace': 'abc', range: 'bytes=0-1' };
      for (const [port, host] of [[p1, 'ston.test'], [p2, 'apache.test'], [p3, 'custom.test']] as const) {
        const res = await request({ port, host, path: '/known/a%20b?x=1', headers });
        assert.equal(res.status, 206);
      }
      const ston = await eventually(() => lines(join(flint.dir, 'ston.log')), (l) => l.length === 4, 'ston lines');
      assert.equal(ston[2], '#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-bytes time-taken cs-referer sc-resinfo cs-range sc-cachehit cs-acceptencoding session-id sc-content-length time-response x-transaction-status x-vhostlink x-vhost x-sc-ssl-protocol x-sc-ssl-cipher x-cs-original-url');
      assert.match(ston[3] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - GET \/known\/a%20b x=1 - - 127\.0\.0\.1 Tester\+"1"\/2 206 2 \d+ http:\/\/ref\.test\/a\+b - bytes=0-1 TCP_MISS - - - \d+ c - ston\.test - - -$/);
      const apache = await eventually(() => lines(join(flint.dir, 'apache.log')), (l) => l.length === 1, 'apache line');
      assert.match(apache[0] ?? '', /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/known\/a%20b\?x=1 HTTP\/1\.1" 206 2 "http:\/\/ref\.test\/a b" "Tester \\"1\\"\/2"$/);
      const custom = await eventually(() => lines(join(flint.dir, 'custom.log')), (l) => l.length === 1, 'custom line');
      assert.equal(custom[0], '127.0.0.1 [abc] GET /known/a%20b?x=1 206 2 TCP_MISS c custom.test');
    } finally {
      await flint.stop();
    }
  });

  test('origin log: one line per origin transaction with connection reuse, timings and socket errors', async () => {
    const port = await freePort();
    const flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ dir, managerPort }),
      vhosts: vhostXml([{ name: 'site.test', port, origin: origin.address, extra: `<Log><Origin>${join(dir, 'origin.log')}</Origin></Log>` }]),
    }));
    try {
      for (let i = 0; i < 3; i++) assert.equal((await request({ port, host: 'site.test', path: `/o/${i}` })).status, 200);
      const failed = await request({ port, host: 'site.test', path: '/reset' });
      assert.ok(failed.status >= 500);
      const path = join(flint.dir, 'origin.log');
      const all = await eventually(() => lines(path), (l) => l.filter((x) => !x.startsWith('#')).length >= 4, 'origin lines');
      assert.equal(all[2], '#Fields: date time x-vhost cs-sid cs-tcount s-ip cs-method cs-uri sc-status cs-range sc-sock-error sc-http-error sc-bytes time-taken time-connect time-firstbyte time-complete');
      const records = all.filter((l) => !l.startsWith('#')).map((l) => l.split(' '));
      for (const r of records) assert.equal(r.length, 17, r.join(' '));
      const ok = records.filter((r) => (r[7] ?? '').startsWith('/o/'));
      assert.deepEqual(ok.map((r) => r[7]), ['/o/0', '/o/1', '/o/2']);
      // One connection carried the three requests in turn: transaction 1 opened it, 2 and 3 reused it.
      assert.deepEqual(ok.map((r) => r[4]), ['1', '2', '3']);
      assert.equal(new Set(ok.map((r) => r[3])).size, 1);
      for (const r of ok) {
        assert.equal(r[2], 'site.test');
        assert.equal(r[5], origin.address);
        assert.equal(r[6], 'GET');
        assert.equal(r[8], '200');
        assert.equal(r[10], '-');
        assert.equal(r[12], '5');
        for (const ms of r.slice(13)) assert.match(ms, /^\d+$/);
      }
      const reset = records.find((r) => r[7] === '/reset');
      assert.ok(reset !== undefined, 'the failed transaction is logged');
      assert.equal(reset[8], '-');
      assert.equal(reset[10], 'Server-Close');
      assert.equal(reset[11], 'FLINT_ERR_ORIGIN_RESET');
    } finally {
      await flint.stop();
    }
  });
});
