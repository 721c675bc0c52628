/**
 * Origin health, owned by the primary and pushed to every worker (issue 4 item 3): passive exclusion after
 * <Exclusion> consecutive failures (origin 500s through the cache fill where <Exclusion ResCode> lists 500, connection
 * refused on the pass path of a single-member vhost with All="ON"),
 * re-admission after <Recovery> good probes, active <HealthChecker>s marking a member down and up on their own (a
 * check must complete, body included, within Timeout), Exclusion All="OFF", each state change logged once and shown
 * in /monitoring/origin and /stats, a reload and a restarted worker keeping the state. Real Flint (2 workers), real
 * origins. Every worker logs `origin.health_applied` when it applies a new down set: that is the worker-visible
 * effect asserted, and the time from failure to "down in every worker" is measured from it.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { FlintProcess, serverXml, sleep } from '../helpers/flint.js';
import type { LogLine } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { request } from '../helpers/http.js';
import { rendezvous } from '../../src/origin/selector.js';

const WORKERS = 2;
const POLL_MS = 25;

interface MemberDoc {
  Member: string;
  Address: string;
  State: 'Active' | 'Inactive';
  Since: string;
  ConsecutiveFailures: number;
  Exclusions: number;
  Recoveries: number;
  LastError: { Reason: string; At: string } | null;
  HeldBy: string[];
}

interface OriginDoc {
  method: string;
  status: string;
  result: Array<{
    VirtualHost: string;
    Address: Array<Record<string, string>>;
    Address2: unknown[];
    ActiveIP: Array<Record<string, number>>;
    InactiveIP: Array<Record<string, number>>;
    Members: MemberDoc[];
  }>;
}

type Mode = 'ok' | '500' | '503' | 'hang';

/** An origin whose answers the test switches; /alive and /health follow the mode too. */
class ScriptedOrigin {
  mode: Mode = 'ok';
  origin!: TestOrigin;
  readonly #hanging: ServerResponse[] = [];

  /** Kept while the origin is closed (a closed server has no address), so it can listen on the same port again. */
  port = 0;

  async start(port = 0): Promise<this> {
    this.origin = await TestOrigin.start((_req, res) => this.#answer(res), port);
    this.port = this.origin.port;
    return this;
  }

  #answer(res: ServerResponse): void {
    if (this.mode === 'ok') res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' }).end('ok');
    else if (this.mode === 'hang') {
      // Head and part of the body, then nothing: only a check that waits for the whole answer sees the failure.
      res.writeHead(200, { 'content-length': '10' }).write('01234');
      this.#hanging.push(res);
    } else res.writeHead(Number(this.mode), { 'content-type': 'text/plain' }).end(`${this.mode} from origin`);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const res of this.#hanging.splice(0)) res.destroy();
    await this.origin.close();
  }
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

describe('origin health in the primary', () => {
  let flint: FlintProcess;
  let port: number;
  /** cache.test: caching vhost, members a and b; BalanceMode Hash, so a test picks the member by the URL. */
  const a = new ScriptedOrigin();
  const b = new ScriptedOrigin();
  /** pass.test: Caching OFF, member c (refused while closed). */
  const c = new ScriptedOrigin();
  /** check.test: member d with an active HealthChecker. */
  const d = new ScriptedOrigin();
  /** last.test: a refused member with Exclusion All="OFF". */
  let lastPort: number;
  let seq = 0;

  const vhostsXml = (opts: { withB: boolean; passAlias?: string; checkerExtra?: string }): string => `<Vhosts>
  <Vhost Name="cache.test">
    <Listen>127.0.0.1:${port}</Listen>
    <Origin><Address>${a.address}</Address>${opts.withB ? `<Address>${b.address}</Address>` : ''}</Origin>
    <OriginOptions><BalanceMode>Hash</BalanceMode><Exclusion ResCode="500,502">3</Exclusion><Recovery Cycle="0.2" Uri="/health" ResCode="200">2</Recovery></OriginOptions>
  </Vhost>
  <Vhost Name="pass.test">
    ${opts.passAlias === undefined ? '' : `<Alias>${opts.passAlias}</Alias>`}
    <Listen>127.0.0.1:${port}</Listen>
    <Origin><Address>${c.address}</Address></Origin>
    <Options><Caching>OFF</Caching></Options>
    <OriginOptions><ConnectTimeout>1</ConnectTimeout><Exclusion All="ON">3</Exclusion><Recovery Cycle="0.2">2</Recovery></OriginOptions>
  </Vhost>
  <Vhost Name="check.test">
    <Listen>127.0.0.1:${port}</Listen>
    <Origin>
      <Address>${d.address}</Address>
      <HealthChecker ResCode="200" Timeout="0.5" Cycle="0.2" Exclusion="2" Recovery="2" ${opts.checkerExtra ?? ''}>/alive</HealthChecker>
    </Origin>
  </Vhost>
  <Vhost Name="last.test">
    <Listen>127.0.0.1:${port}</Listen>
    <Origin><Address>127.0.0.1:${lastPort}</Address></Origin>
    <Options><Caching>OFF</Caching></Options>
    <OriginOptions><Exclusion All="OFF">2</Exclusion></OriginOptions>
  </Vhost>
</Vhosts>
`;

  before(async () => {
    await Promise.all([a.start(), b.start(), c.start(), d.start()]);
    lastPort = await freePort();
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: WORKERS }),
      vhosts: vhostsXml({ withB: true }),
    }));
  });

  after(async () => {
    await flint?.stop();
    await Promise.all([a, b, c, d].map((o) => o.close().catch(() => undefined)));
  });

  const doc = async (vhost: string): Promise<OriginDoc> => {
    const { status, body } = await flint.admin<OriginDoc>(`/monitoring/origin?vhost=${vhost}`);
    assert.equal(status, 200);
    return body;
  };
  const memberOf = async (vhost: string, key: string): Promise<MemberDoc> => {
    const found = (await doc(vhost)).result[0]?.Members.find((m) => m.Member === key);
    assert.ok(found !== undefined, `member ${key} of ${vhost} not in /monitoring/origin`);
    return found;
  };
  const get = (host: string, path = `/obj-${++seq}`): ReturnType<typeof request> => request({ port, host, path });
  /** A GET of cache.test for a new URL that rendezvous hashing gives to member a (b stays out of the failures). */
  const getOnA = (): ReturnType<typeof request> => {
    const members = [{ key: a.address }, { key: b.address }];
    let path = `/obj-${++seq}`;
    while (rendezvous(members, path)?.key !== a.address) path = `/obj-${++seq}`;
    return get('cache.test', path);
  };
  /**
   * A GET of a new URL of `host` whose only member refuses connections: 503 in general terms for the client, the
   * access log naming the connect error (the request reached the member: not the all-down answer).
   */
  const assertRefused = async (host: string): Promise<void> => {
    const path = `/obj-${++seq}`;
    const res = await get(host, path);
    assert.equal(res.status, 503);
    assert.equal(res.body.toString(), '503 Service Unavailable: no origin available\n');
    const record = await until(`access record of ${path}`, () => flint.accessLog().find((r) => r.url === path));
    assert.equal(record.error, 'FLINT_ERR_ORIGIN_DOWN');
    assert.match(String(record.errorDetail), /ECONNREFUSED/, 'the request reached the member');
  };
  const logsOf = (event: string, member: string): LogLine[] => flint.logs.filter((l) => l.event === event && l.member === member);

  /**
   * Waits until every worker has logged a down set in which `member` of `vhost` is down (or up) at or after `since`,
   * and returns the latest of those times: the moment the verdict reached the last worker.
   */
  const appliedInEveryWorker = async (vhost: string, member: string, down: boolean, since: number): Promise<number> => {
    return until(`every worker to apply ${member} ${down ? 'down' : 'up'}`, () => {
      const times: number[] = [];
      for (let worker = 0; worker < WORKERS; worker++) {
        const line = flint.logs.find((l) => {
          if (l.event !== 'origin.health_applied' || l.worker !== worker || Date.parse(String(l.time)) < since - 5) return false;
          const set = (l.down as Record<string, string[]>)[vhost] ?? [];
          return set.includes(member) === down;
        });
        if (line === undefined) return undefined;
        times.push(Date.parse(String(line.time)));
      }
      return Math.max(...times);
    });
  };

  test('every member starts active; /monitoring/origin has STON\'s shape and an unknown vhost is 404', async () => {
    const all = (await flint.admin<OriginDoc>('/monitoring/origin')).body;
    assert.equal(all.method, 'origin');
    assert.deepEqual(all.result.map((r) => r.VirtualHost), ['cache.test', 'pass.test', 'check.test', 'last.test']);
    const cache = all.result[0];
    assert.deepEqual(cache?.Address, [{ [a.address]: 'Active' }, { [b.address]: 'Active' }]);
    assert.deepEqual(cache?.ActiveIP, [{ [a.address]: 0 }, { [b.address]: 0 }]);
    assert.deepEqual(cache?.InactiveIP, []);
    assert.deepEqual(cache?.Address2, []);
    for (const m of cache?.Members ?? []) assert.deepEqual([m.State, m.ConsecutiveFailures, m.Exclusions, m.Recoveries, m.LastError], ['Active', 0, 0, 0, null]);
    const missing = await flint.admin('/monitoring/origin?vhost=nope.test');
    assert.equal(missing.status, 404);
  });

  test('passive: 500s through the cache fill (ResCode lists 500) exclude the member after exactly <Exclusion> failures, every worker applies it, recovery probes re-admit it', async (t: TestContext) => {
    const ok = await getOnA();
    assert.equal(ok.status, 200);
    a.mode = '500';
    const firstFailAt = Date.now();
    for (let i = 0; i < 2; i++) assert.equal((await getOnA()).status, 500);
    await until('2 consecutive failures counted', async () => (await memberOf('cache.test', a.address)).ConsecutiveFailures === 2);
    await sleep(300);
    assert.equal((await memberOf('cache.test', a.address)).State, 'Active', 'two failures of three do not exclude');

    assert.equal((await getOnA()).status, 500);
    const failedAt = Date.now();
    const downEverywhere = await appliedInEveryWorker('cache.test', a.address, true, failedAt - 1000);
    const m = await memberOf('cache.test', a.address);
    assert.equal(m.State, 'Inactive');
    assert.deepEqual(m.HeldBy, ['passive']);
    assert.equal(m.Exclusions, 1);
    assert.equal(m.LastError?.Reason, 'bad-status');
    const cache = (await doc('cache.test')).result[0];
    assert.deepEqual(cache?.InactiveIP, [{ [a.address]: 0 }]);
    assert.deepEqual(cache?.ActiveIP, [{ [b.address]: 0 }], 'the other member stays active');
    const stats = (await flint.stats()) as unknown as { origins: Record<string, { active: number; inactive: number; exclusions: number; members: Record<string, { state: string }> }> };
    assert.equal(stats.origins['cache.test']?.inactive, 1);
    assert.equal(stats.origins['cache.test']?.exclusions, 1);
    assert.equal(stats.origins['cache.test']?.members[a.address]?.state, 'inactive');

    // Still answering 500: the recovery probes (GET /health every 0.2 s) keep failing and the member stays out.
    await until('recovery probes of /health', () => a.origin.seen.filter((s) => s.url === '/health').length >= 3);
    assert.equal((await memberOf('cache.test', a.address)).State, 'Inactive');
    assert.equal(a.origin.seen.find((s) => s.url === '/health')?.headers.host, 'cache.test', 'probes send the vhost name as Host');

    a.mode = 'ok';
    const recoveredAt = Date.now();
    const upEverywhere = await appliedInEveryWorker('cache.test', a.address, false, recoveredAt);
    const back = await memberOf('cache.test', a.address);
    assert.deepEqual([back.State, back.Exclusions, back.Recoveries, back.ConsecutiveFailures], ['Active', 1, 1, 0]);
    const served = (): number => a.origin.seen.filter((s) => s.url !== '/health').length;
    const servedBefore = served();
    assert.equal((await getOnA()).status, 200);
    assert.equal(served(), servedBefore + 1, 'the re-admitted member serves its URLs again');
    await sleep(500);
    assert.equal(logsOf('origin.down', a.address).length, 1, 'the exclusion is logged once');
    assert.equal(logsOf('origin.up', a.address).length, 1, 'the re-admission is logged once');
    assert.equal(logsOf('origin.down', a.address)[0]?.vhost, 'cache.test');
    assert.match(String(logsOf('origin.down', a.address)[0]?.reason), /3 consecutive failures \(last: bad-status\)/);
    t.diagnostic(`origin failing -> member down in all ${WORKERS} workers: ${downEverywhere - failedAt} ms after the 3rd failed response`);
    t.diagnostic(`(the test pauses ~300 ms after the 2nd failure to check it is not excluded yet; first failure -> down: ${downEverywhere - firstFailAt} ms)`);
    t.diagnostic(`origin recovered -> member re-admitted in all ${WORKERS} workers: ${upEverywhere - recoveredAt} ms (Recovery 2 x Cycle 0.2 s)`);
  });

  test('passive: a refused origin on the pass path is excluded as connect-fail and re-admitted when it listens again', async (t: TestContext) => {
    const cPort = c.port;
    await c.close();
    const firstFailAt = Date.now();
    for (let i = 0; i < 3; i++) await assertRefused('pass.test');
    const failedAt = Date.now();
    const downEverywhere = await appliedInEveryWorker('pass.test', c.address, true, failedAt - 1000);
    const m = await memberOf('pass.test', c.address);
    assert.equal(m.State, 'Inactive');
    assert.equal(m.LastError?.Reason.startsWith('recovery probe: connect-fail') || m.LastError?.Reason === 'connect-fail', true, JSON.stringify(m.LastError));
    t.diagnostic(`refused origin -> member down in all ${WORKERS} workers: ${downEverywhere - failedAt} ms after the 3rd failed response, ${downEverywhere - firstFailAt} ms after the origin closed`);

    await c.start(cPort);
    const listeningAt = Date.now();
    const upEverywhere = await appliedInEveryWorker('pass.test', c.address, false, listeningAt);
    assert.equal((await memberOf('pass.test', c.address)).State, 'Active');
    assert.equal((await get('pass.test')).status, 200);
    t.diagnostic(`refused origin listening again -> re-admitted in all ${WORKERS} workers: ${upEverywhere - listeningAt} ms`);
  });

  test('Exclusion All="OFF" never excludes the last active member', async () => {
    for (let i = 0; i < 4; i++) await assertRefused('last.test');
    const key = `127.0.0.1:${lastPort}`;
    await until('4 failures counted', async () => (await memberOf('last.test', key)).ConsecutiveFailures === 4);
    assert.equal((await memberOf('last.test', key)).State, 'Active');
    assert.equal(logsOf('origin.down', key).length, 0);
  });

  test('an active HealthChecker marks its member down on failed checks and up again on good ones; a check must complete', async (t: TestContext) => {
    // Healthy: checked every 0.2 s, never marked down.
    await until('health checks of /alive', () => d.origin.seen.filter((s) => s.url === '/alive').length >= 4);
    const check = d.origin.seen.find((s) => s.url === '/alive');
    assert.equal(check?.headers.host, 'check.test');
    assert.equal(check?.headers['user-agent'], 'flint-health');
    assert.equal((await memberOf('check.test', d.address)).State, 'Active');

    d.mode = '503';
    const failingAt = Date.now();
    const downEverywhere = await appliedInEveryWorker('check.test', d.address, true, failingAt);
    const m = await memberOf('check.test', d.address);
    assert.deepEqual(m.HeldBy, ['HealthChecker[1] /alive']);
    assert.match(m.LastError?.Reason ?? '', /HealthChecker\[1\] \/alive: status 503/);
    t.diagnostic(`check path failing -> member down in all ${WORKERS} workers: ${downEverywhere - failingAt} ms (Exclusion 2 x Cycle 0.2 s)`);

    d.mode = 'ok';
    const okAt = Date.now();
    const upEverywhere = await appliedInEveryWorker('check.test', d.address, false, okAt);
    t.diagnostic(`check path good again -> member up in all ${WORKERS} workers: ${upEverywhere - okAt} ms (Recovery 2 x Cycle 0.2 s)`);

    // A 200 whose body never completes fails the check (Timeout 0.5 s): STON's checkers need the whole transaction.
    d.mode = 'hang';
    await appliedInEveryWorker('check.test', d.address, true, Date.now());
    assert.match((await memberOf('check.test', d.address)).LastError?.Reason ?? '', /timeout: no complete answer/);
    d.mode = 'ok';
    await appliedInEveryWorker('check.test', d.address, false, Date.now());
    await sleep(600);
    assert.equal(logsOf('origin.down', d.address).length, 2, 'each exclusion logged once');
    assert.equal(logsOf('origin.up', d.address).length, 2, 'each re-admission logged once');
    const final = await memberOf('check.test', d.address);
    assert.deepEqual([final.State, final.Exclusions, final.Recoveries], ['Active', 2, 2]);
    assert.ok(flint.logs.some((l) => l.event === 'origin.probe_failed' && l.member === d.address), 'Log="ON" logs failed checks');
  });

  test('a reload keeps the state of members that still exist, drops removed ones, and a bad HealthChecker is refused with its path', async () => {
    const cPort = c.port;
    await c.close();
    for (let i = 0; i < 3; i++) await assertRefused('pass.test');
    await appliedInEveryWorker('pass.test', c.address, true, Date.now() - 1000);
    const before = await memberOf('pass.test', c.address);
    assert.equal(before.State, 'Inactive');
    const upsBefore = logsOf('origin.up', c.address).length;
    const downsBefore = logsOf('origin.down', c.address).length;

    // A broken HealthChecker: refused with the element path, the running state untouched.
    flint.writeConf('vhosts.xml', vhostsXml({ withB: true, checkerExtra: 'Log="sometimes"' }));
    const refused = await flint.admin<{ ok: boolean; problems: string[] }>('/conf/reload');
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.body.problems, ['vhosts.xml: Vhosts/Vhost[Name=check.test]/Origin/HealthChecker@Log: "sometimes" is not a valid boolean (ON or OFF)']);

    // A good reload: pass.test gains an alias, cache.test loses member b.
    const reloadsBefore = flint.logs.filter((l) => l.event === 'config.reloaded').length;
    flint.writeConf('vhosts.xml', vhostsXml({ withB: false, passAlias: 'www.pass.test' }));
    flint.signal('SIGHUP');
    await until('the reload', () => flint.logs.filter((l) => l.event === 'config.reloaded').length > reloadsBefore);
    await until('b removed from cache.test', async () => (await doc('cache.test')).result[0]?.Members.length === 1);
    await sleep(500);
    const afterReload = await memberOf('pass.test', c.address);
    assert.deepEqual(
      [afterReload.State, afterReload.Since, afterReload.Exclusions, afterReload.Recoveries],
      [before.State, before.Since, before.Exclusions, before.Recoveries],
      'the excluded member keeps its state across the reload',
    );
    assert.equal(logsOf('origin.up', c.address).length, upsBefore);
    assert.equal(logsOf('origin.down', c.address).length, downsBefore);

    // A worker that restarts gets the down set at once.
    const stats = await flint.stats();
    const victim = stats.workers[0]?.pid;
    assert.ok(typeof victim === 'number');
    process.kill(victim, 'SIGKILL');
    const line = await until('the restarted worker to apply the down set', () =>
      flint.logs.find((l) => l.event === 'origin.health_applied' && l.worker === 0 && l.pid !== victim && ((l.down as Record<string, string[]>)['pass.test'] ?? []).includes(c.address)),
    );
    assert.ok(line !== undefined);
    await flint.waitHealthy();

    await c.start(cPort);
    await appliedInEveryWorker('pass.test', c.address, false, Date.now());
    assert.equal((await get('pass.test')).status, 200);
  });
});
