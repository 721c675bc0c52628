/**
 * Issue 19, "client input turns into an outage": what may take an origin member out of service. Real Flint (2
 * workers), real origins on loopback.
 * - Requests refused on Flint's side (undici's validation: Content-Length -1, a duplicated Content-Length, a raw UTF-8
 *   target, a method that is not a token; a client that sends half its body and leaves) never count against the
 *   origin, however many, and never use up its connection pool: misses keep being served.
 * - An origin's 5xx counts only where `<Exclusion ResCode>` lists it.
 * - The last member of a vhost is never excluded by failures without `<Exclusion All="ON">` (and is with it).
 * - With every member excluded, a miss still tries one member once per `<Recovery Cycle>`, for both workers together,
 *   so a recovered origin is found by traffic and not only by probes.
 * - A fill that found no member is remembered by every worker: the origin sees one request for that URL per
 *   `<TTL><ConnectTimeout>`, not one per worker.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FlintProcess, serverXml, sleep } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { rawExchange, request } from '../helpers/http.js';

const WORKERS = 2;
/**
 * Where nothing listens: test origins bind 127.0.0.1, so a port of this other loopback address stays refused even
 * when another test on the machine is handed the same port number.
 */
const REFUSED_HOST = '127.0.0.86';

interface MemberDoc {
  Member: string;
  State: 'Active' | 'Inactive';
  ConsecutiveFailures: number;
  Exclusions: number;
  Recoveries: number;
  LastError: { Reason: string } | null;
  HeldBy: string[];
}

type Mode = 'ok' | '503' | 'reset';

/** An origin whose answer the test switches: 200, 503, or a reset after reading the request (a receive failure). */
class SwitchOrigin {
  mode: Mode = 'ok';
  origin!: TestOrigin;

  async start(): Promise<this> {
    this.origin = await TestOrigin.start((req, res) => {
      if (this.mode === 'reset') req.socket.destroy();
      else if (this.mode === '503') res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
      else res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }).end('ok');
    });
    return this;
  }

  get address(): string {
    return this.origin.address;
  }

  /** Requests for `url`s passing `test` the origin received (probes excluded by the caller's choice of URLs). */
  hits(test: (url: string) => boolean): number {
    return this.origin.seen.filter((s) => test(s.url)).length;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('origin exclusion: only the origin\'s own failures count', () => {
  let flint: FlintProcess;
  let port: number;
  let refusedPort: number;
  let seq = 0;
  /** hostile.test: healthy, All="ON" so the rule under test is the classification alone; 4 connections per worker. */
  const hostile = new SwitchOrigin();
  /** status.test (default ResCode) and rescode.test (ResCode 503): the same origin answering 503. */
  const busy = new SwitchOrigin();
  /** trial.test: one member, All="ON", Exclusion 1, Recovery probes that cannot re-admit it within the test. */
  const trial = new SwitchOrigin();
  /** neg.test: one member (never excluded by default), TTL ConnectTimeout 10 s. */
  const neg = new SwitchOrigin();

  before(async () => {
    await Promise.all([hostile.start(), busy.start(), trial.start(), neg.start()]);
    port = await freePort();
    refusedPort = await freePort();
    const vhost = (name: string, origin: string, extra: string): string =>
      `<Vhost Name="${name}"><Listen>127.0.0.1:${port}</Listen><Origin><Address>${origin}</Address></Origin>${extra}</Vhost>`;
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: WORKERS }),
      vhosts: `<Vhosts>
  ${vhost('hostile.test', hostile.address, '<OriginOptions><MaxConnections>4</MaxConnections><Exclusion All="ON">3</Exclusion></OriginOptions>')}
  ${vhost('status.test', busy.address, '<OriginOptions><Exclusion All="ON">3</Exclusion></OriginOptions>')}
  ${vhost('rescode.test', busy.address, '<OriginOptions><Exclusion All="ON" ResCode="502,503,504">3</Exclusion><Recovery Cycle="60">5</Recovery></OriginOptions>')}
  ${vhost('single.test', `${REFUSED_HOST}:${refusedPort}`, '<Options><Caching>OFF</Caching></Options><OriginOptions><Exclusion>2</Exclusion></OriginOptions>')}
  ${vhost('single-all.test', `${REFUSED_HOST}:${refusedPort}`, '<Options><Caching>OFF</Caching></Options><OriginOptions><Exclusion All="ON">2</Exclusion><Recovery Cycle="60">5</Recovery></OriginOptions>')}
  ${vhost('trial.test', trial.address, '<OriginOptions><Exclusion All="ON">1</Exclusion><Recovery Cycle="1" Uri="/probe" ResCode="299">100</Recovery></OriginOptions>')}
  ${vhost('neg.test', neg.address, '<Options><TTL><ConnectTimeout>10</ConnectTimeout></TTL></Options>')}
</Vhosts>
`,
    }));
  });

  after(async () => {
    await flint?.stop();
    await Promise.all([hostile, busy, trial, neg].map((o) => o.origin.close().catch(() => undefined)));
  });

  const member = async (vhost: string): Promise<MemberDoc> => {
    const { body } = await flint.admin<{ result: Array<{ Members: MemberDoc[] }> }>(`/monitoring/origin?vhost=${vhost}`);
    const found = body.result[0]?.Members[0];
    assert.ok(found !== undefined, `no member for ${vhost}`);
    return found;
  };
  const get = (host: string, path = `/obj-${++seq}`): ReturnType<typeof request> => request({ port, host, path });
  /** Waits until every worker has applied a down set in which `vhost` has (or has not) a down member. */
  const appliedEverywhere = (vhost: string, down: boolean, since: number): Promise<true> =>
    until(`every worker to see ${vhost} ${down ? 'down' : 'up'}`, () => {
      for (let worker = 0; worker < WORKERS; worker++) {
        const seen = flint.logs.some(
          (l) =>
            l.event === 'origin.health_applied' &&
            l.worker === worker &&
            Date.parse(String(l.time)) >= since - 5 &&
            (((l.down as Record<string, string[]>)[vhost] ?? []).length > 0) === down,
        );
        if (!seen) return undefined;
      }
      return true;
    });

  test('hostile requests refused on Flint\'s side never count against a healthy origin, nor use up its pool', async (t: TestContext) => {
    assert.equal((await get('hostile.test')).status, 200);
    const before = hostile.hits(() => true);
    const hostileRequests: Array<[string, string | Buffer]> = [
      ['Content-Length -1', 'POST / HTTP/1.1\r\nHost: hostile.test\r\nContent-Length: -1\r\n\r\n'],
      ['duplicated Content-Length', 'POST / HTTP/1.1\r\nHost: hostile.test\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nA'],
      ['raw UTF-8 in the target', Buffer.from('GET /\u20ac HTTP/1.1\r\nHost: hostile.test\r\n\r\n', 'utf8')],
      ['method that is not a token', 'G(T / HTTP/1.1\r\nHost: hostile.test\r\n\r\n'],
    ];
    const statuses = new Map<string, Set<string>>();
    // 6 rounds x 4 inputs = 24 refusals: more than the 2 x 4 pool connections the workers have for this origin.
    for (let round = 0; round < 6; round++) {
      for (const [what, raw] of hostileRequests) {
        const { received } = await rawExchange(port, [raw], 20, 300);
        const status = received.split('\r\n')[0] ?? '';
        statuses.set(what, (statuses.get(what) ?? new Set()).add(status));
        assert.doesNotMatch(received, /UND_ERR|127\.0\.0\.1:\d+/, `${what}: no internals in the answer`);
      }
    }
    // A client that announces 100 body bytes, sends 10 and leaves.
    for (let i = 0; i < 3; i++) await rawExchange(port, ['POST /upload HTTP/1.1\r\nHost: hostile.test\r\nContent-Length: 100\r\n\r\n0123456789'], 20, 100);
    await sleep(300);
    const m = await member('hostile.test');
    assert.deepEqual([m.State, m.ConsecutiveFailures, m.Exclusions, m.LastError], ['Active', 0, 0, null], JSON.stringify(m));
    for (let i = 0; i < 6; i++) {
      // undici's pool, handed requests it refuses, loses a connection to each: the misses would wait forever.
      const r = await Promise.race([get('hostile.test'), sleep(5000).then(() => null)]);
      assert.ok(r !== null, `miss ${i} after the hostile requests got no answer in 5 s: the origin pool is stuck`);
      assert.equal(r.status, 200, `miss ${i} after the hostile requests: ${r.status} ${r.body.toString()}`);
    }
    assert.equal(flint.logs.filter((l) => l.event === 'origin.down').length, 0);
    t.diagnostic(`answers: ${[...statuses].map(([what, s]) => `${what}: ${[...s].join(' / ')}`).join('; ')}`);
    t.diagnostic(`requests that reached the origin meanwhile: ${hostile.hits(() => true) - before} (6 misses + whatever the front door forwarded)`);
  });

  test('an origin\'s 503s do not exclude it by default; they do where <Exclusion ResCode> lists 503', async () => {
    busy.mode = '503';
    for (let i = 0; i < 6; i++) assert.equal((await get('status.test')).status, 503);
    await sleep(300);
    const plain = await member('status.test');
    assert.deepEqual([plain.State, plain.ConsecutiveFailures], ['Active', 0], 'a 503 is an answer: the member is reachable');
    for (let i = 0; i < 3; i++) assert.equal((await get('rescode.test')).status, 503);
    await until('rescode.test excluded', async () => (await member('rescode.test')).State === 'Inactive');
    const listed = await member('rescode.test');
    assert.deepEqual([listed.Exclusions, listed.LastError?.Reason], [1, 'bad-status']);
    busy.mode = 'ok';
  });

  test('the last member is never excluded by failures by default; with All="ON" it is', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await get('single.test');
      assert.equal(r.status, 503, r.body.toString());
    }
    // Every request still reached the member: each one's refused connection is counted.
    await until('5 failures counted', async () => (await member('single.test')).ConsecutiveFailures >= 5);
    assert.equal((await member('single.test')).State, 'Active');
    for (let i = 0; i < 2; i++) await get('single-all.test');
    await until('single-all.test excluded', async () => (await member('single-all.test')).State === 'Inactive');
  });

  test('every member excluded: a miss still tries one member once per Recovery Cycle, for both workers together; an answer re-admits it', async (t: TestContext) => {
    const isTraffic = (url: string): boolean => url !== '/probe';
    trial.mode = 'reset';
    const failedAt = Date.now();
    assert.equal((await get('trial.test')).status, 503);
    await appliedEverywhere('trial.test', true, failedAt);

    // Still failing: requests for new URLs on new connections (both workers) for 3.3 s, one every 30 ms.
    const before = trial.hits(isTraffic);
    const workersBefore = (await flint.stats()).workers.map((w) => w.requests);
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 3300) {
      const r = await get('trial.test');
      assert.ok(r.status === 503 || r.status === 502, `status ${r.status}`);
      sent++;
      await sleep(30);
    }
    const trials = trial.hits(isTraffic) - before;
    const workersAfter = (await flint.stats()).workers.map((w) => w.requests);
    assert.ok(workersAfter.every((n, i) => n > (workersBefore[i] ?? 0)), `both workers served: ${workersBefore.join(',')} -> ${workersAfter.join(',')}`);
    // Cycle 1 s over 3.3 s: at most 4 windows; at least 3 of them start inside it.
    assert.ok(trials >= 3 && trials <= 4, `${trials} trials reached the origin out of ${sent} requests in 3.3 s (Recovery Cycle 1 s, ${WORKERS} workers)`);
    assert.equal((await member('trial.test')).State, 'Inactive', 'failed trials leave it out');
    t.diagnostic(`all down, origin failing: ${sent} requests in 3.3 s, ${trials} reached the origin (one per Recovery Cycle of 1 s, ${WORKERS} workers)`);

    // The origin recovers; its probes cannot re-admit it (ResCode 299, 100 of them): traffic finds it.
    trial.mode = 'ok';
    const recoveredAt = Date.now();
    const first = await until('a miss answered by the recovered origin', async () => {
      const r = await get('trial.test');
      return r.status === 200 ? Date.now() : undefined;
    }, 5000);
    assert.ok(first - recoveredAt <= 1500, `found ${first - recoveredAt} ms after it recovered (Recovery Cycle 1 s)`);
    await appliedEverywhere('trial.test', false, recoveredAt);
    const back = await member('trial.test');
    assert.deepEqual([back.State, back.HeldBy], ['Active', []]);
    for (let i = 0; i < 4; i++) assert.equal((await get('trial.test')).status, 200, 'every worker uses it again');
    assert.ok(flint.logs.some((l) => l.event === 'origin.up' && /all-down trial/.test(String(l.reason))), 'the re-admission names the trial');
    t.diagnostic(`origin recovered -> first miss served ${first - recoveredAt} ms later (probes alone: never, ResCode 299)`);
  });

  test('a URL whose fill found no member is remembered by every worker: one origin request per ConnectTimeout, not one per worker', async () => {
    neg.mode = 'reset';
    const path = '/same';
    assert.equal((await get('neg.test', path)).status, 503);
    assert.equal(neg.hits((u) => u === path), 1);
    await sleep(200);
    // Ask again on new connections until both workers have answered it.
    const workersBefore = (await flint.stats()).workers.map((w) => w.requests);
    let both = false;
    for (let i = 0; i < 60 && !both; i++) {
      const r = await get('neg.test', path);
      assert.equal(r.status, 503);
      const now = (await flint.stats()).workers.map((w) => w.requests);
      both = now.every((n, w) => n > (workersBefore[w] ?? 0));
    }
    assert.ok(both, 'both workers answered the URL');
    assert.equal(neg.hits((u) => u === path), 1, 'the origin saw the URL once in the window');
    assert.equal((await member('neg.test')).State, 'Active', 'the only member is never excluded (All OFF by default)');
    neg.mode = 'ok';
    assert.equal((await get('neg.test', '/other')).status, 200, 'other URLs are served');
  });
});
