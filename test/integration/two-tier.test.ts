/**
 * 2-tier caching with real Flint instances (seed 002, STON enterprise.html): a child Flint whose origins are two
 * parent Flints balanced with `<BalanceMode>Hash</BalanceMode>`, the parents in front of one scripted origin that
 * does Range and If-Range (dates only, like a storage without ETags). Blocks are 64 KiB on both tiers, objects 5
 * blocks.
 *
 *   client --> child (www.test, img.test; Hash over 2 parents) --> parent 0 | parent 1 (www.test + alias img.test:
 *   one cache each) --> origin
 *
 * The parents also have nopurge.test (IfRange ON, no Purge) and noifrange.test (IfRange OFF), asked directly as
 * controls for the Purge test.
 *
 * The child has two vhosts (two sites) so a parent's cache is shared by two child caches: what one child vhost
 * fetched, the other gets from the parent without the origin. That needs both child vhosts to send a URL to the same
 * parent: the hash key is the URL, not the child vhost.
 *
 * Which parent a URL belongs to is predicted with the selector's own rendezvous function over the member keys
 * (`127.0.0.1:port`), and every test picks its paths so that each parent owns at least one. The prediction is then
 * checked against what happened, by three independent observers: each parent sends its own User-Agent to the origin
 * (so the origin's log says which parent fetched), the parents' access logs (the other parent never saw the URL),
 * and the child's access log (the member it chose).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { httpDate, patternBody, seenFor, waitFor } from '../helpers/cache.js';
import type { SeenRequest } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import { rendezvous } from '../../src/origin/selector.js';

const PARENTS = 2;
/** The child's vhosts hash URLs over the parents. */
const CHILD_ORIGIN_OPTIONS = '<OriginOptions><BalanceMode>Hash</BalanceMode></OriginOptions>';
/** The User-Agent parent `i` sends to the origin: tells the origin's log which parent fetched. */
const parentAgent = (i: number): string => `flint-parent-${i}`;
const BLOCK = 64 * 1024;
const SIZE = 5 * BLOCK - 1000;
const CACHE_EXTRA = `<BlockSize>${BLOCK / 1024}K</BlockSize>`;
const T1 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const T2 = T1 + 1_800_000;

interface Version {
  readonly body: Buffer;
  readonly lastModified: string;
}

const v1 = (seed: number): Version => ({ body: patternBody(SIZE, seed), lastModified: httpDate(T1) });
const v2 = (seed: number): Version => ({ body: patternBody(SIZE, seed + 100), lastModified: httpDate(T2) });

/** The origin's current objects by path; tests replace a version to model an origin change. */
const objects = new Map<string, Version>();
/** Body bytes the origin sent, by path. */
const sentBytes = new Map<string, number>();

/** A storage origin: 200, or 206 for `Range: bytes=a-b|a-` when If-Range is absent or equals Last-Modified. */
function serveObject(req: IncomingMessage, res: ServerResponse): void {
  res.sendDate = false;
  const path = (req.url ?? '/').split('?')[0] as string;
  const object = objects.get(path);
  if (object === undefined) {
    res.writeHead(404, { 'content-length': '0' });
    res.end();
    return;
  }
  const headers = { 'cache-control': 'max-age=3600', 'last-modified': object.lastModified, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (range !== null && (ifRange === undefined || ifRange === object.lastModified)) {
    const start = Number(range[1]);
    const end = Math.min(range[2] === '' ? SIZE - 1 : Number(range[2]), SIZE - 1);
    res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${SIZE}`, 'content-length': String(end - start + 1) });
    sentBytes.set(path, (sentBytes.get(path) ?? 0) + end - start + 1);
    res.end(object.body.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(SIZE) });
  sentBytes.set(path, (sentBytes.get(path) ?? 0) + SIZE);
  res.end(object.body);
}

/** Body bytes the origin sent for `path`. */
function originBytes(path: string): number {
  return sentBytes.get(path) ?? 0;
}

function assertBytes(res: TestResponse, expected: Buffer, start: number, end: number, what: string): void {
  assert.equal(res.status, 206, `${what}: status`);
  assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${SIZE}`, `${what}: Content-Range`);
  assert.ok(res.body.equals(expected.subarray(start, end + 1)), `${what}: bytes ${start}-${end} are the expected version's`);
}

/** One parent Flint: its index (its User-Agent), listen port and member key in the child (`127.0.0.1:port`). */
interface Parent {
  readonly index: number;
  readonly flint: FlintProcess;
  readonly port: number;
  readonly key: string;
}

/** The path part of an access record's url. */
const pathOf = (url: unknown): string => String(url).split('?')[0] as string;

describe('2-tier: child Flint hashing over two parent Flints', () => {
  let origin: TestOrigin;
  const parents: Parent[] = [];
  let child: FlintProcess;
  let childPort: number;
  /** Every path the tests sent through the child or to a parent (the last test checks where each went). */
  const used: string[] = [];
  const counts: Record<string, { parent: number; requests: number; bytes: number; byParent: number[] }> = {};

  /**
   * A request through the child, returned once the child's fills have committed. The child has two workers, and a
   * fill's index commit lands a moment after its client got the last byte: until then the other worker still sees
   * the index as it was (no object yet, or the copy being replaced). Waiting keeps each step's expectations about
   * the child's cache exact whichever worker the next request lands on.
   */
  const viaChild = async (host: string, path: string, headers: Record<string, string> = {}): Promise<TestResponse> => {
    const res = await request({ port: childPort, host, path, headers });
    await waitFor('the child\'s fills to commit', async () => ((await child.stats()).cache.fillsInProgress === 0 ? true : undefined), 30_000);
    return res;
  };
  /** The parent the child's Hash sends `path` to, predicted with the selector's own function over the member keys. */
  const parentFor = (path: string): Parent => {
    const owner = rendezvous(parents, path);
    assert.ok(owner !== null, 'there are parents');
    return owner;
  };
  /** Paths `${prefix}${n}`, the i-th owned by parent i, so each test goes through both parents. */
  const onePerParent = (prefix: string): string[] => {
    const found = new Map<number, string>();
    for (let n = 1; found.size < PARENTS && n < 1000; n++) {
      const path = `${prefix}${n}`;
      const owner = parentFor(path).index;
      if (!found.has(owner)) found.set(owner, path);
    }
    assert.equal(found.size, PARENTS, `the hash gives each parent some of the ${prefix}<n> paths`);
    const paths = parents.map((p) => found.get(p.index) as string);
    used.push(...paths);
    return paths;
  };
  /** The origin's requests for `path`, counted by the parent that sent them (its User-Agent). */
  const originByParent = (path: string): number[] =>
    parents.map((p) => seenFor(origin, path).filter((r: SeenRequest) => r.headers['user-agent'] === parentAgent(p.index)).length);
  /** Every origin request for `path` came from the parent its hash picks (and, given `expected`, that many). */
  const assertFromOwner = (path: string, expected?: number): void => {
    const owner = parentFor(path);
    const agents = seenFor(origin, path).map((r) => r.headers['user-agent']);
    if (expected !== undefined) assert.equal(agents.length, expected, `${path}: ${expected} origin request(s) across the parent tier; from ${JSON.stringify(agents)}`);
    assert.ok(agents.length > 0 && agents.every((a) => a === parentAgent(owner.index)), `${path}: only parent ${owner.index} (the hash owner) asked the origin; from ${JSON.stringify(agents)}`);
  };
  const record = (path: string): void => {
    counts[path] = { parent: parentFor(path).index, requests: seenFor(origin, path).length, bytes: originBytes(path), byParent: originByParent(path) };
  };

  before(async () => {
    origin = await TestOrigin.start(serveObject);
    for (let i = 0; i < PARENTS; i++) {
      const port = await freePort();
      const agent = `<OriginOptions><UserAgent>${parentAgent(i)}</UserAgent></OriginOptions>`;
      const flint = await FlintProcess.start(({ dir, managerPort }) => ({
        server: serverXml({ managerPort, dir, cacheExtra: CACHE_EXTRA }),
        vhosts: vhostXml([
          { name: 'www.test', aliases: ['img.test'], port, origin: origin.address, extra: `<Options><IfRange Purge="ON">ON</IfRange></Options>${agent}` },
          { name: 'nopurge.test', port, origin: origin.address, extra: agent },
          { name: 'noifrange.test', port, origin: origin.address, extra: `<Options><IfRange>OFF</IfRange></Options>${agent}` },
        ]),
      }));
      parents.push({ index: i, flint, port, key: `127.0.0.1:${port}` });
    }
    childPort = await freePort();
    // vhostXml writes one <Address>; several parents become several <Address> elements.
    const childOrigins = parents.map((p) => p.key).join('</Address><Address>');
    // Two child workers: the hash must pick the same parent whichever worker a request lands on.
    child = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 2, cacheExtra: CACHE_EXTRA }),
      vhosts: vhostXml([
        { name: 'www.test', port: childPort, origin: childOrigins, extra: CHILD_ORIGIN_OPTIONS },
        { name: 'img.test', port: childPort, origin: childOrigins, extra: CHILD_ORIGIN_OPTIONS },
      ]),
    }));
  });

  after(async () => {
    await child?.stop();
    for (const parent of parents) await parent.flint.stop();
    await origin?.close();
    // The numbers the task asks for: origin requests (and body bytes) per object across the parent tier, with the
    // parent the hash picked and the origin requests each parent made.
    console.log(`2-tier origin requests (${PARENTS} parents, Hash): ${JSON.stringify(counts)}`);
  });

  test('whole objects: each fetched from the origin once across both tiers and both child vhosts, by its hash parent', async () => {
    for (const [i, path] of onePerParent('/w').entries()) {
      objects.set(path, v1(3 + i));
      const body = (objects.get(path) as Version).body;
      for (const host of ['www.test', 'www.test', 'img.test', 'img.test']) {
        const res = await viaChild(host, path);
        assert.equal(res.status, 200);
        assert.ok(res.body.equals(body), `${host}${path}: body byte-exact`);
      }
      const again = await viaChild('www.test', path);
      // Cache-Status lists the parent's entry (stored with the response) first and the child's last (RFC 9211).
      assert.match(String(again.headers['cache-status']), /, flint; hit; ttl=\d+$/, 'the child serves its own copy');
      assertFromOwner(path, 1);
      record(path);
    }
  });

  test("ranges: the child's block-aligned fetches go through the parent's block cache; no byte leaves the origin twice", async () => {
    for (const [i, path] of onePerParent('/r').entries()) {
      objects.set(path, v1(7 + i));
      const body = (objects.get(path) as Version).body;
      // Blocks 1-2 via www.test: child and parent both fetch just those blocks (one request each, side by side).
      assertBytes(await viaChild('www.test', path, { range: 'bytes=70000-140000' }), body, 70_000, 140_000, `${path} www blocks 1-2`);
      const ranges = seenFor(origin, path).map((r) => String(r.headers.range)).sort((a, b) => a.length - b.length || a.localeCompare(b));
      assert.deepEqual(ranges, [`bytes=${BLOCK}-${2 * BLOCK - 1}`, `bytes=${2 * BLOCK}-${3 * BLOCK - 1}`], `${path}: block-aligned at the origin`);
      // The same blocks via the other child vhost: its child cache misses, the parent's block cache answers.
      assertBytes(await viaChild('img.test', path, { range: 'bytes=65536-131071' }), body, 65_536, 131_071, `${path} img block 1`);
      assertFromOwner(path, 2);
      // Block 0 via www.test: the child extends its partial copy (with If-Range), so does the parent.
      assertBytes(await viaChild('www.test', path, { range: 'bytes=0-10' }), body, 0, 10, `${path} www block 0`);
      // Everything via www.test: the last blocks are fetched once, and the answer is byte-exact across the joins.
      assertBytes(await viaChild('www.test', path, { range: `bytes=0-${SIZE - 1}` }), body, 0, SIZE - 1, `${path} www whole range`);
      assertBytes(await viaChild('img.test', path, { range: `bytes=100-${SIZE - 1}` }), body, 100, SIZE - 1, `${path} img nearly whole`);
      assert.equal(originBytes(path), SIZE, `${path}: the origin sent each byte of the object exactly once`);
      assertFromOwner(path);
      const ifRanges = seenFor(origin, path).map((r) => r.headers['if-range']);
      assert.equal(ifRanges[0], undefined, 'the first fetch has nothing to check');
      assert.ok(ifRanges.slice(1).every((v) => v === httpDate(T1)), `later block fetches carry If-Range: ${JSON.stringify(ifRanges)}`);
      record(path);
    }
  });

  test('an origin change during a resumed download: the client gets the new version whole, never mixed bytes', async () => {
    for (const [i, path] of onePerParent('/v').entries()) {
      objects.set(path, v1(11 + i));
      const old = (objects.get(path) as Version).body;
      assertBytes(await viaChild('www.test', path, { range: `bytes=0-${BLOCK - 1}` }), old, 0, BLOCK - 1, `${path} first part (v1)`);
      objects.set(path, v2(11 + i));
      const fresh = (objects.get(path) as Version).body;
      // The client resumes with If-Range: its part's Last-Modified. Child and parent hold only v1's block 0.
      const resumed = await viaChild('www.test', path, { range: `bytes=${BLOCK}-`, 'if-range': httpDate(T1) });
      assert.equal(resumed.status, 200, `${path}: the validator changed: the whole new version, not a 206 of it`);
      assert.equal(resumed.headers['last-modified'], httpDate(T2));
      assert.ok(resumed.body.equals(fresh), `${path}: the whole body is v2`);
      // Both tiers replaced their partial v1: every later range is v2, through either child vhost.
      assertBytes(await viaChild('www.test', path, { range: 'bytes=0-99' }), fresh, 0, 99, `${path} www after the change`);
      assertBytes(await viaChild('img.test', path, { range: `bytes=${2 * BLOCK}-${2 * BLOCK + 99}` }), fresh, 2 * BLOCK, 2 * BLOCK + 99, `${path} img after the change`);
      // A resume with the new validator is a 206 of v2.
      assertBytes(await viaChild('www.test', path, { range: `bytes=${BLOCK}-`, 'if-range': httpDate(T2) }), fresh, BLOCK, SIZE - 1, `${path} resume on v2`);
      // v1's block 0, then v2 once, whole: both from the hash parent.
      assertFromOwner(path, 2);
      assert.equal(originBytes(path), BLOCK + SIZE, `${path}: v2 left the origin once`);
      record(path);
    }
  });

  test('IfRange Purge=ON: a child holding a newer copy makes the parent purge and refetch; without Purge it does not', async () => {
    for (const [i, path] of onePerParent('/p').entries()) {
      objects.set(path, v1(13 + i));
      const old = (objects.get(path) as Version).body;
      const parent = parentFor(path);
      const atParent = (host: string, headers: Record<string, string> = {}): Promise<TestResponse> => request({ port: parent.port, host, path, headers });
      assert.ok((await viaChild('www.test', path)).body.equals(old), `${path}: the parent caches v1 through the child`);
      assertFromOwner(path, 1);
      assert.ok((await atParent('nopurge.test')).body.equals(old));
      assert.ok((await atParent('noifrange.test')).body.equals(old));
      assert.equal(seenFor(origin, path).length, 3, 'one fetch per parent vhost (three caches)');
      objects.set(path, v2(13 + i));
      const fresh = (objects.get(path) as Version).body;
      // What a child holding v2 sends when it resumes: its range with If-Range = v2's Last-Modified.
      const childRequest = { range: 'bytes=1000-1999', 'if-range': httpDate(T2) };
      const kept = await atParent('nopurge.test', childRequest);
      assert.equal(kept.status, 200, 'without Purge: the validator does not match, the whole stored copy');
      assert.ok(kept.body.equals(old), 'nopurge.test still serves v1');
      assert.equal(seenFor(origin, path).length, 3, 'and did not ask the origin');
      // <IfRange>OFF ignores If-Range (STON's default): the range of whatever is stored.
      assertBytes(await atParent('noifrange.test', childRequest), old, 1000, 1999, 'IfRange OFF serves the stored range');
      const purged = await atParent('www.test', childRequest);
      assertBytes(purged, fresh, 1000, 1999, 'Purge=ON refetched v2 and the If-Range now matches');
      assertFromOwner(path, 4);
      const logged = await parent.flint.waitForLog((l) => l.event === 'cache.if_range_purge' && l.url === path, 30_000);
      assert.equal(logged.url, path, 'the purge is logged');
      // An older or equal If-Range never purges.
      const older = await atParent('www.test', { range: 'bytes=0-9', 'if-range': httpDate(T1) });
      assert.equal(older.status, 200);
      assert.ok(older.body.equals(fresh));
      assert.equal(seenFor(origin, path).length, 4);
      record(path);
    }
  });

  test('each URL reached exactly one parent, the one its hash picks: the other parent never saw it', async (t) => {
    assert.equal(new Set(used.map((p) => parentFor(p).index)).size, PARENTS, 'every parent owned some of the URLs');
    // The kernel spreads the test's connections (one per request) over the child's two workers (SO_REUSEPORT):
    // with dozens of requests both took some, so both workers' choices are checked below.
    const perWorker = (await child.stats()).workers.map((w) => w.requests);
    t.diagnostic(`child requests per worker: ${JSON.stringify(perWorker)}; URL -> parent: ${JSON.stringify(Object.fromEntries(used.map((p) => [p, parentFor(p).index])))}`);
    assert.ok(perWorker.length === 2 && perWorker.every((n) => n > 0), `both child workers served requests: ${JSON.stringify(perWorker)}`);
    for (const path of used) {
      const owner = parentFor(path);
      // The access log is written asynchronously: wait for the owner's records (generously: a busy machine).
      await waitFor(`parent ${owner.index}'s access records of ${path}`, () => (owner.flint.accessLog().some((r) => pathOf(r.url) === path) ? true : undefined), 30_000);
      for (const other of parents.filter((p) => p !== owner)) {
        const seen = other.flint.accessLog().filter((r) => pathOf(r.url) === path);
        assert.equal(seen.length, 0, `${path} belongs to parent ${owner.index}; parent ${other.index} saw ${JSON.stringify(seen)}`);
      }
      // The child's own record of the member each origin transaction went to (both workers).
      const members = await waitFor(`the child's access records of ${path}`, () => {
        const m = child.accessLog().filter((r) => pathOf(r.url) === path && r.origin !== null).map((r) => r.origin);
        return m.length > 0 ? m : undefined;
      }, 30_000);
      assert.ok(members.every((m) => m === owner.key), `${path}: the child sent it only to ${owner.key}: ${JSON.stringify(members)}`);
      assertFromOwner(path);
    }
  });
});
