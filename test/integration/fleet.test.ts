/**
 * The fleet on NATS JetStream (issue 24), with real parts: Debian's nats-server with JetStream on a loopback port
 * and a temp store, and three Flint edges (one worker each) on their own ports and cache dirs, joined by
 * <Cluster>. One sequence reuses the processes: a fleet purge reaches all three (the next request is a miss on
 * each; its latency, publish to last acknowledgement, is printed); so does a fleet tag purge (objects labelled with
 * Surrogate-Key); the dashboard of an edge lists the fleet's nodes; an edge stopped during two purges (one by URL,
 * one by tag) applies both, in order, before it reports ready and before it serves those URLs; a config push is
 * applied by two edges and refused by the third, whose CA file is missing; with NATS killed, edges serve and purge
 * locally and fleet commands fail fast, and after NATS restarts the next fleet purge reaches everyone. Fleet stats
 * and status too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { FlintProcess, MAIN } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { isHit, reply, seenFor, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';
import { NatsServer } from '../helpers/nats.js';

const HOST = 'fleet.test';
/** A vhost whose purge guard refuses `host/*` (RootPurgeExpire OFF): fleet purges must meet it as local ones do. */
const GUARDED = 'guarded.test';
const CHROMIUM = '/usr/bin/chromium';
const run = promisify(execFile);

interface PurgeAnswer {
  Time: number;
  applied: Array<{ node: string; status: number; Count: number; Size: number; Denied?: string[] }>;
  missing: string[];
}

function edgeServerXml(o: { managerPort: number; dir: string; port: number; nats: string; node: string }): string {
  return `<Server>
  <Host><Manager Port="${o.managerPort}"><Allow>127.0.0.1</Allow></Manager></Host>
  <Cache>
    <Workers>1</Workers>
    <CpuAffinity>OFF</CpuAffinity>
    <ShutdownTimeout>5</ShutdownTimeout>
    <Storage><Disk>${join(o.dir, 'cache')}</Disk></Storage>
  </Cache>
  <VHostDefault><Listen>127.0.0.1:${o.port}</Listen><Log><Access>OFF</Access></Log></VHostDefault>
  <Cluster><Nats Url="${o.nats}">ON</Nats><NodeName>${o.node}</NodeName><Wait>3</Wait></Cluster>
</Server>
`;
}

const vhostsXml = (origin: string, extra = ''): string => `<Vhosts>
  <Vhost Name="${HOST}"><Origin><Address>${origin}</Address></Origin></Vhost>${extra}
</Vhosts>
`;

describe('fleet on NATS JetStream: purge, catch-up, config push, NATS down', () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let nats: NatsServer;
  const edges: FlintProcess[] = [];
  const ports: number[] = [];

  const get = (edge: number, path: string): Promise<TestResponse> => request({ port: ports[edge] as number, path, host: HOST });
  const manager = async <T>(edge: FlintProcess, path: string, method = 'POST'): Promise<{ status: number; body: T }> => {
    const res = await request({ port: edge.managerPort, host: `127.0.0.1:${edge.managerPort}`, path, method });
    return { status: res.status, body: JSON.parse(res.body.toString()) as T };
  };
  /** Requests `path` on `edge` until it is a hit (the object is committed). */
  const warm = (edge: number, path: string): Promise<true> => waitFor(`${path} cached on edge ${edge}`, async () => (isHit(await get(edge, path)) ? true : undefined));
  /** An origin object; `tags` go in Surrogate-Key, as a CDN's origin labels objects. */
  const route = (path: string, tags = ''): void => {
    routes[path] = (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600', 'content-type': 'text/plain', ...(tags === '' ? {} : { 'surrogate-key': tags }) }, `${path} #${n}`);
  };
  /** One request that must reach the origin (a miss). */
  const assertMiss = async (edge: number, path: string): Promise<void> => {
    const before = seenFor(origin, path).length;
    const res = await get(edge, path);
    assert.equal(res.status, 200);
    assert.ok(!isHit(res), `edge ${edge}: ${path} must be a miss after the purge (${String(res.headers['cache-status'])})`);
    assert.equal(seenFor(origin, path).length, before + 1, `edge ${edge}: ${path} refetched`);
  };

  before(async () => {
    nats = await NatsServer.start();
    origin = await startRoutedOrigin(routes);
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    // Started together: three primaries starting one after the other would triple the wait on a 2-core machine.
    const started = await Promise.all(
      [0, 1, 2].map((i) =>
        FlintProcess.start(({ dir, managerPort }) => {
          // The CA file the pushed config names: present on edges 1 and 2 only (paths resolve per node).
          if (i < 2) {
            mkdirSync(join(dir, 'certs'), { recursive: true });
            execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'certs', 'ca.key'), '-out', join(dir, 'certs', 'ca.pem'), '-days', '1', '-subj', '/CN=fleet test CA'], { stdio: 'ignore' });
          }
          const guarded = `\n  <Vhost Name="${GUARDED}"><Origin><Address>${origin.address}</Address></Origin><Options><RootPurgeExpire>OFF</RootPurgeExpire></Options></Vhost>`;
          return { server: edgeServerXml({ managerPort, dir, port: ports[i] as number, nats: nats.url, node: `edge-${i + 1}` }), vhosts: vhostsXml(origin.address, guarded) };
        }),
      ),
    );
    edges.push(...started);
  });

  after(async () => {
    await Promise.all(edges.map((e) => e.stop()));
    await nats?.close();
    await origin?.close();
  });

  test('a fleet purge is applied on all three edges: the next request on each is a miss; latency for 3 edges', async (t) => {
    route('/a.txt');
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) await warm(i, '/a.txt');
      // The last round names a glob: targets are read by the same code as a local purge.
      const target = round === 4 ? `${HOST}/*.txt` : `${HOST}/a.txt`;
      const result = await manager<PurgeAnswer>(edges[round % 3] as FlintProcess, `/fleet/command/purge?url=${target}`);
      assert.equal(result.status, 200, JSON.stringify(result.body));
      assert.deepEqual(result.body.missing, []);
      assert.deepEqual(result.body.applied.map((a) => [a.node, a.status, a.Count]), [['edge-1', 200, 1], ['edge-2', 200, 1], ['edge-3', 200, 1]]);
      for (let i = 0; i < 3; i++) await assertMiss(i, '/a.txt');
      times.push(result.body.Time);
    }
    times.sort((a, b) => a - b);
    t.diagnostic(`fleet purge latency, publish to last ack, 3 edges, 5 runs: min ${times[0]} ms, median ${times[2]} ms, max ${times[4]} ms`);
    console.log(`fleet purge latency (3 edges): ${times.join(', ')} ms`);

    // A purge for a group no edge is in reaches no member: every edge leaves the object cached.
    for (let i = 0; i < 3; i++) await warm(i, '/a.txt');
    const grouped = await manager<PurgeAnswer>(edges[0] as FlintProcess, `/fleet/command/purge?group=seoul&url=${HOST}/a.txt`);
    assert.deepEqual([grouped.status, grouped.body.applied, grouped.body.missing], [200, [], []]);
    await manager<PurgeAnswer>(edges[0] as FlintProcess, `/fleet/command/purge?group=seoul&url=${HOST}/a.txt`);
    for (let i = 0; i < 3; i++) assert.ok(isHit(await get(i, '/a.txt')), `edge ${i} ignored the other group's purge`);

    // Fleet stats: every node's /stats, and totals; each /stats names its node (the dashboard's cue to show the fleet).
    const own = await manager<{ cluster?: unknown }>(edges[1] as FlintProcess, '/stats', 'GET');
    assert.deepEqual(own.body.cluster, { node: 'edge-2', group: null }, '/stats of a clustered edge carries `cluster`');
    const stats = await manager<{ nodes: Record<string, { cluster?: { node: string } }>; missing: string[]; total: { nodes: number; totals: { requests: number } } }>(edges[1] as FlintProcess, '/fleet/stats', 'GET');
    assert.equal(stats.status, 200);
    assert.deepEqual(Object.keys(stats.body.nodes).sort(), ['edge-1', 'edge-2', 'edge-3']);
    assert.deepEqual(Object.entries(stats.body.nodes).map(([name, n]) => [name, n.cluster?.node]).sort(), [['edge-1', 'edge-1'], ['edge-2', 'edge-2'], ['edge-3', 'edge-3']]);
    assert.deepEqual(stats.body.missing, []);
    assert.ok(stats.body.total.totals.requests >= 30, JSON.stringify(stats.body.total));
  });

  test('a fleet tag purge (API and CLI) reaches every object carrying the tag on all three edges', async () => {
    route('/t1.txt', 'product-42 shelf-a');
    route('/t2.txt', 'shelf-b product-42');
    route('/t3.txt', 'shelf-c');
    for (const path of ['/t1.txt', '/t2.txt', '/t3.txt']) for (let i = 0; i < 3; i++) await warm(i, path);
    // A bad tag list is the caller's 400, as locally; nothing is published.
    const refused = await manager<{ error: string }>(edges[0] as FlintProcess, '/fleet/command/purge?tag=a%22b');
    assert.deepEqual([refused.status, refused.body.error.includes('is not a tag')], [400, true]);
    const result = await manager<PurgeAnswer>(edges[1] as FlintProcess, `/fleet/command/purge?tag=product-42&vhost=${HOST}`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.deepEqual(result.body.missing, []);
    assert.deepEqual(result.body.applied.map((a) => [a.node, a.status, a.Count]), [['edge-1', 200, 2], ['edge-2', 200, 2], ['edge-3', 200, 2]]);
    for (let i = 0; i < 3; i++) {
      await assertMiss(i, '/t1.txt');
      await assertMiss(i, '/t2.txt');
      assert.ok(isHit(await get(i, '/t3.txt')), `edge ${i}: an object without the tag stays cached`);
    }
    // `flint fleet hardpurge --tag`: the same command from the CLI.
    const cli = await run(process.execPath, [MAIN, 'fleet', 'hardpurge', '--tag', 'shelf-c', '--conf', (edges[2] as FlintProcess).confDir, '--wait', '10']);
    assert.match(cli.stdout, /hardpurge: applied by 3 node\(s\)/);
    assert.match(cli.stdout, /edge-1: 1 object\(s\)[\s\S]*edge-2: 1 object\(s\)[\s\S]*edge-3: 1 object\(s\)/);
    for (let i = 0; i < 3; i++) await assertMiss(i, '/t3.txt');
  });

  test('fleet purges meet each edge\'s purge guards as local ones do: RootPurgeExpire OFF refuses host/*, a narrower glob passes', async () => {
    route('/g/x.txt');
    const getGuarded = (edge: number): Promise<TestResponse> => request({ port: ports[edge] as number, path: '/g/x.txt', host: GUARDED });
    for (let i = 0; i < 3; i++) await waitFor(`/g/x.txt cached on edge ${i}`, async () => (isHit(await getGuarded(i)) ? true : undefined));
    const denied = await manager<PurgeAnswer>(edges[0] as FlintProcess, `/fleet/command/purge?url=${GUARDED}/*`);
    assert.equal(denied.status, 200, JSON.stringify(denied.body));
    assert.deepEqual(denied.body.missing, []);
    assert.deepEqual(denied.body.applied.map((a) => [a.node, a.status, a.Count, /RootPurgeExpire/.test(a.Denied?.[0] ?? '')]), [['edge-1', 200, 0, true], ['edge-2', 200, 0, true], ['edge-3', 200, 0, true]]);
    for (let i = 0; i < 3; i++) assert.ok(isHit(await getGuarded(i)), `edge ${i}: the guarded root purge purged nothing`);
    const narrower = await manager<PurgeAnswer>(edges[1] as FlintProcess, `/fleet/command/purge?url=${GUARDED}/g/*`);
    assert.deepEqual(narrower.body.applied.map((a) => [a.node, a.Count, a.Denied]), [['edge-1', 1, undefined], ['edge-2', 1, undefined], ['edge-3', 1, undefined]]);
    for (let i = 0; i < 3; i++) assert.ok(!isHit(await getGuarded(i)), `edge ${i}: the narrower glob purged`);
  });

  test('the dashboard of a clustered edge lists the fleet\'s nodes (headless Chromium)', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
      await page.goto(`http://127.0.0.1:${(edges[0] as FlintProcess).managerPort}/dashboard`);
      await page.waitForSelector('#fleet-nodes tbody tr:nth-child(3)', { timeout: 15_000 });
      const rows = await page.$$eval('#fleet-nodes tbody tr', (trs) => trs.map((r) => [r.cells[0]?.textContent ?? '', r.cells[6]?.textContent ?? '']));
      assert.deepEqual(rows, [['edge-1', 'answered'], ['edge-2', 'answered'], ['edge-3', 'answered']]);
      assert.match((await page.textContent('#fleet-status')) ?? '', /^this node: edge-1; 3 node\(s\) answered$/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  test('an edge stopped during two purges applies both, in order, before it reports ready and serves them', async () => {
    route('/b.txt');
    route('/c.txt', 'fleet-c');
    for (const path of ['/b.txt', '/c.txt']) for (let i = 0; i < 3; i++) await warm(i, path);
    const third = edges[2] as FlintProcess;
    await third.stop(20_000, true);
    const ids: string[] = [];
    // The second by tag: a catch-up replays tag purges in order with the rest.
    for (const target of [`url=${HOST}/b.txt`, 'tag=fleet-c']) {
      const result = await manager<PurgeAnswer & { id: string }>(edges[0] as FlintProcess, `/fleet/command/purge?wait=1&${target}`);
      assert.equal(result.status, 200);
      assert.deepEqual(result.body.missing, ['edge-3'], 'the stopped edge is reported as not applied');
      assert.equal(result.body.applied.length, 2);
      ids.push(result.body.id);
    }
    // A config pushed meanwhile (a comment added): taken before serving too.
    const edited = readFileSync(join((edges[0] as FlintProcess).confDir, 'vhosts.xml'), 'utf8').replace('<Vhosts>', '<Vhosts><!-- pushed while edge-3 was down -->');
    const push = await request({ port: (edges[0] as FlintProcess).managerPort, host: `127.0.0.1:${(edges[0] as FlintProcess).managerPort}`, path: '/fleet/command/push?wait=1', method: 'POST', body: JSON.stringify({ vhosts: edited, rules: [] }) });
    const pushed = JSON.parse(push.body.toString()) as { version: number; applied: string[]; missing: string[] };
    assert.deepEqual([push.status, pushed.applied, pushed.missing], [200, ['edge-1', 'edge-2'], ['edge-3']]);
    // Fleet stats mark the stopped edge as not answering (API and CLI, which exits 1).
    const fleetStats = await manager<{ nodes: Record<string, unknown>; missing: string[] }>(edges[0] as FlintProcess, '/fleet/stats?wait=1', 'GET');
    assert.deepEqual([fleetStats.status, Object.keys(fleetStats.body.nodes).sort(), fleetStats.body.missing], [200, ['edge-1', 'edge-2'], ['edge-3']]);
    const statsCli = await run(process.execPath, [MAIN, 'fleet', 'stats', '--wait', '1s', '--conf', (edges[0] as FlintProcess).confDir]).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(statsCli.code, 1, statsCli.stdout);
    assert.match(statsCli.stdout, /^edge-1: \d+ requests[\s\S]*^edge-2: \d+ requests[\s\S]*^total \(2 node\(s\)\)/m);
    assert.match(statsCli.stderr, /no answer within the wait: edge-3/);
    // Fleet status: the stopped edge's last record said healthy; once three heartbeats are missing it reads as
    // silent, not healthy (API and CLI), while the others stay healthy.
    let lastStatus: unknown = null;
    await waitFor('edge-3 silent in fleet status', async () => {
      const s = await manager<{ nodes: Array<{ node: string; healthy: boolean; silent?: boolean }> }>(edges[0] as FlintProcess, '/fleet/status', 'GET');
      lastStatus = s.body;
      const rows = s.body.nodes.map((n) => [n.node, n.healthy, n.silent]);
      return JSON.stringify(rows) === JSON.stringify([['edge-1', true, false], ['edge-2', true, false], ['edge-3', false, true]]) ? true : undefined;
    }, 30_000, 500).catch((error: Error) => assert.fail(`${error.message}: ${JSON.stringify(lastStatus)}`));
    const statusCli = await run(process.execPath, [MAIN, 'fleet', 'status', '--conf', (edges[0] as FlintProcess).confDir]);
    assert.match(statusCli.stdout, /^edge-1 .* ok +[\d.]+ /m);
    assert.match(statusCli.stdout, /^edge-3 .* silent +[\d.]+ /m);
    const restarted = await FlintProcess.restart(third);
    edges[2] = restarted;
    await restarted.waitForLog((l) => l.event === 'flint.ready');
    // Before any request: the log shows both applied, in publish order, before the edge said it was ready.
    const at = (predicate: (l: Record<string, unknown>) => boolean): number => restarted.logs.findIndex(predicate);
    const first = at((l) => l.event === 'fleet.purge_applied' && l.id === ids[0]);
    const second = at((l) => l.event === 'fleet.purge_applied' && l.id === ids[1]);
    const ready = at((l) => l.event === 'flint.ready');
    assert.ok(first !== -1 && second !== -1, `both purges applied on restart:\n${restarted.logText()}`);
    assert.ok(first < second && second < ready, `applied in order before ready (${first}, ${second}, ready ${ready})`);
    const config = at((l) => l.event === 'fleet.config_applied' && l.version === pushed.version);
    assert.ok(config !== -1 && config < ready, `the config pushed meanwhile was applied before ready (${config}, ready ${ready})`);
    assert.equal(readFileSync(join(restarted.confDir, 'vhosts.xml'), 'utf8'), edited);
    await assertMiss(2, '/b.txt');
    await assertMiss(2, '/c.txt');
  });

  test('a config push is applied by two edges and refused by the third, whose CA file is missing', async () => {
    const first = edges[0] as FlintProcess;
    const pushed = vhostsXml(origin.address, '\n  <Vhost Name="secure.test"><Origin Protocol="HTTPS"><Address>127.0.0.1:9</Address><CA>certs/ca.pem</CA></Origin></Vhost>');
    const before3 = readFileSync(join((edges[2] as FlintProcess).confDir, 'vhosts.xml'), 'utf8');
    writeFileSync(join(first.confDir, 'vhosts.xml'), pushed);
    const cli = await run(process.execPath, [MAIN, 'fleet', 'push', '--conf', first.confDir, '--wait', '10']).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(cli.code, 1, `one edge refused: exit 1\n${cli.stdout}\n${cli.stderr}`);
    assert.match(cli.stdout, /pushed config version \d+/);
    assert.match(cli.stdout, /edge-1: applied/);
    assert.match(cli.stdout, /edge-2: applied/);
    assert.match(cli.stderr, /edge-3: refused\n.*Origin\/CA.*ca\.pem.*no such file/);
    const version = Number(/version (\d+)/.exec(cli.stdout)?.[1]);
    // Applied: written into the conf directory, recorded in the history, and running.
    for (const edge of edges.slice(0, 2)) {
      assert.equal(readFileSync(join(edge.confDir, 'vhosts.xml'), 'utf8'), pushed);
      const text = await request({ port: edge.managerPort, host: `127.0.0.1:${edge.managerPort}`, path: '/conf/vhosts.xml' });
      assert.equal(text.body.toString(), pushed, 'the running config is the pushed one');
      const history = await manager<{ history: Array<{ type: string }> }>(edge, '/conf/history', 'GET');
      assert.equal(history.body.history.at(-1)?.type, 'modified');
    }
    // Refused: the third edge's files and running config are unchanged.
    const third = edges[2] as FlintProcess;
    assert.equal(readFileSync(join(third.confDir, 'vhosts.xml'), 'utf8'), before3);
    // Fleet status lists each node with the version it took and how.
    let last: unknown = null;
    const status = await waitFor('status records with the version', async () => {
      const s = await manager<{ nodes: Array<{ node: string; configVersion: number | null; configResult: string | null; healthy: boolean }> }>(first, '/fleet/status', 'GET');
      last = s.body;
      return s.body.nodes.length === 3 && s.body.nodes.every((n) => n.configVersion === version) ? s.body.nodes : undefined;
    }).catch((error: Error) => assert.fail(`${error.message}: ${JSON.stringify(last)}`));
    assert.deepEqual(status.map((n) => [n.node, n.configResult, n.healthy]), [['edge-1', 'applied', true], ['edge-2', 'applied', true], ['edge-3', 'refused', true]]);

    // Rollback: push the original vhosts.xml (a new version), then version `version` again.
    writeFileSync(join(first.confDir, 'vhosts.xml'), before3);
    const plain = await run(process.execPath, [MAIN, 'fleet', 'push', '--conf', first.confDir, '--wait', '10']);
    assert.match(plain.stdout, new RegExp(`pushed config version ${version + 1}\n  edge-1: applied\n  edge-2: applied\n  edge-3: applied`));
    assert.equal(readFileSync(join((edges[1] as FlintProcess).confDir, 'vhosts.xml'), 'utf8'), before3);
    const rollback = await run(process.execPath, [MAIN, 'fleet', 'push', '--version', String(version), '--conf', first.confDir, '--wait', '10']).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.match(rollback.stdout, new RegExp(`pushed config version ${version + 2} \\(version ${version} again\\)`));
    assert.match(rollback.stderr, /edge-3: refused/);
    assert.equal(readFileSync(join((edges[1] as FlintProcess).confDir, 'vhosts.xml'), 'utf8'), pushed, 'version N is back');
    const unknown = await manager<{ error: string }>(first, '/fleet/command/push?version=999');
    assert.deepEqual([unknown.status, unknown.body.error], [400, 'no config version 999 in the fleet bucket (only the last 64 versions per group are kept)']);
  });

  test('NATS killed: edges serve and purge locally, fleet commands fail fast; after NATS restarts the next fleet purge reaches everyone', async () => {
    route('/d.txt');
    route('/e.txt');
    for (let i = 0; i < 3; i++) await warm(i, '/d.txt');
    await nats.stop('SIGKILL');
    const first = edges[0] as FlintProcess;
    await waitFor('edge 1 notices NATS is gone', async () => ((await manager(first, `/fleet/command/purge?url=${HOST}/d.txt`)).status === 503 ? true : undefined));
    // Serving goes on, from the cache.
    for (let i = 0; i < 3; i++) assert.ok(isHit(await get(i, '/d.txt')), `edge ${i} still serves hits`);
    // A local purge works.
    const local = await manager<{ Count: number }>(first, `/command/purge?url=${HOST}/d.txt`);
    assert.equal(local.status, 200);
    assert.equal(local.body.Count, 1);
    await assertMiss(0, '/d.txt');
    // `flint fleet purge` fails fast with a clear message.
    const started = Date.now();
    const cli = await run(process.execPath, [MAIN, 'fleet', 'purge', `${HOST}/d.txt`, '--conf', first.confDir]).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    const took = Date.now() - started;
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /503\): NATS is not reachable \(nats:\/\/127\.0\.0\.1:\d+\): fleet commands need it; this edge keeps serving and purging locally/);
    assert.ok(took < 5000, `failed fast (${took} ms)`);

    await nats.restart();
    await Promise.all(edges.map((e) => e.waitForLog((l) => l.event === 'fleet.reconnected', 20_000)));
    for (let i = 0; i < 3; i++) await warm(i, '/e.txt');
    const result = await manager<PurgeAnswer>(edges[1] as FlintProcess, `/fleet/command/purge?url=${HOST}/e.txt`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.deepEqual(result.body.missing, []);
    assert.deepEqual(result.body.applied.map((a) => a.node), ['edge-1', 'edge-2', 'edge-3']);
    for (let i = 0; i < 3; i++) await assertMiss(i, '/e.txt');
  });
});
