/**
 * 2-tier caching with real Flint instances (seed 002, STON enterprise.html): a child Flint whose origins are parent
 * Flints, the parents in front of one scripted origin that does Range and If-Range (dates only, like a storage
 * without ETags). Blocks are 64 KiB on both tiers, objects 5 blocks.
 *
 *   client --> child (www.test, img.test) --> parent(s) (www.test + alias img.test: one cache) --> origin
 *
 * The parents also have nopurge.test (IfRange ON, no Purge) and noifrange.test (IfRange OFF), asked directly as
 * controls for the Purge test.
 *
 * The child has two vhosts (two sites) so the parent's cache is shared by two child caches: what one child vhost
 * fetched, the other gets from the parent without the origin. PARENTS is the number of parent Flints; with one the
 * child uses RoundRobin. When BalanceMode Hash lands, set PARENTS = 2 and CHILD_ORIGIN_OPTIONS to Hash: the origin
 * counts below are summed over every parent, and `parentFor` must then pick the parent the key hashes to.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';
import { httpDate, patternBody, seenFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';

const PARENTS = 1;
/** Extra XML for the child's vhosts: `<OriginOptions><BalanceMode>Hash</BalanceMode></OriginOptions>` with 2 parents. */
const CHILD_ORIGIN_OPTIONS = '';
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

describe('2-tier: child Flint over parent Flint', () => {
  let origin: TestOrigin;
  const parents: Array<{ flint: FlintProcess; port: number }> = [];
  let child: FlintProcess;
  let childPort: number;
  const counts: Record<string, { requests: number; bytes: number }> = {};

  const viaChild = (host: string, path: string, headers: Record<string, string> = {}): Promise<TestResponse> =>
    request({ port: childPort, host, path, headers });
  /** The parent that holds `path` (with one parent, the only one; with Hash, the one the key hashes to). */
  const parentFor = (_path: string): { flint: FlintProcess; port: number } => parents[0] as { flint: FlintProcess; port: number };
  const record = (path: string): void => {
    counts[path] = { requests: seenFor(origin, path).length, bytes: originBytes(path) };
  };

  before(async () => {
    origin = await TestOrigin.start(serveObject);
    for (let i = 0; i < PARENTS; i++) {
      const port = await freePort();
      const flint = await FlintProcess.start(({ dir, managerPort }) => ({
        server: serverXml({ managerPort, dir, cacheExtra: CACHE_EXTRA }),
        vhosts: vhostXml([
          { name: 'www.test', aliases: ['img.test'], port, origin: origin.address, extra: '<Options><IfRange Purge="ON">ON</IfRange></Options>' },
          { name: 'nopurge.test', port, origin: origin.address },
          { name: 'noifrange.test', port, origin: origin.address, extra: '<Options><IfRange>OFF</IfRange></Options>' },
        ]),
      }));
      parents.push({ flint, port });
    }
    childPort = await freePort();
    // vhostXml writes one <Address>; several parents become several <Address> elements.
    const childOrigins = parents.map((p) => `127.0.0.1:${p.port}`).join('</Address><Address>');
    child = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, cacheExtra: CACHE_EXTRA }),
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
    // The numbers the task asks for: origin requests (and body bytes) per object across the parent tier.
    console.log(`2-tier origin requests: ${JSON.stringify(counts)}`);
  });

  test('whole objects: each fetched from the origin once across both tiers and both child vhosts', async () => {
    for (const path of ['/w1', '/w2']) {
      objects.set(path, v1(path.length + Number(path.slice(2))));
      const body = (objects.get(path) as Version).body;
      for (const host of ['www.test', 'www.test', 'img.test', 'img.test']) {
        const res = await viaChild(host, path);
        assert.equal(res.status, 200);
        assert.ok(res.body.equals(body), `${host}${path}: body byte-exact`);
      }
      const again = await viaChild('www.test', path);
      // Cache-Status lists the parent's entry (stored with the response) first and the child's last (RFC 9211).
      assert.match(String(again.headers['cache-status']), /, flint; hit; ttl=\d+$/, 'the child serves its own copy');
      assert.equal(seenFor(origin, path).length, 1, `${path}: one origin request for two child vhosts x 2 requests`);
      record(path);
    }
  });

  test("ranges: the child's block-aligned fetches go through the parent's block cache; no byte leaves the origin twice", async () => {
    const path = '/r';
    objects.set(path, v1(7));
    const body = (objects.get(path) as Version).body;
    // Blocks 1-2 via www.test: child and parent both fetch just those blocks.
    assertBytes(await viaChild('www.test', path, { range: 'bytes=70000-140000' }), body, 70_000, 140_000, 'www blocks 1-2');
    assert.deepEqual(seenFor(origin, path).map((r) => r.headers.range), [`bytes=${BLOCK}-${3 * BLOCK - 1}`], 'block-aligned at the origin');
    // The same blocks via the other child vhost: its child cache misses, the parent's block cache answers.
    assertBytes(await viaChild('img.test', path, { range: 'bytes=65536-131071' }), body, 65_536, 131_071, 'img block 1');
    assert.equal(seenFor(origin, path).length, 1, "the parent's blocks served the second child vhost");
    // Block 0 via www.test: the child extends its partial copy (with If-Range), so does the parent.
    assertBytes(await viaChild('www.test', path, { range: 'bytes=0-10' }), body, 0, 10, 'www block 0');
    // Everything via www.test: the last blocks are fetched once, and the answer is byte-exact across the joins.
    assertBytes(await viaChild('www.test', path, { range: `bytes=0-${SIZE - 1}` }), body, 0, SIZE - 1, 'www whole range');
    assertBytes(await viaChild('img.test', path, { range: `bytes=100-${SIZE - 1}` }), body, 100, SIZE - 1, 'img nearly whole');
    assert.equal(originBytes(path), SIZE, 'the origin sent each byte of the object exactly once');
    const ifRanges = seenFor(origin, path).map((r) => r.headers['if-range']);
    assert.equal(ifRanges[0], undefined, 'the first fetch has nothing to check');
    assert.ok(ifRanges.slice(1).every((v) => v === httpDate(T1)), `later block fetches carry If-Range: ${JSON.stringify(ifRanges)}`);
    record(path);
  });

  test('an origin change during a resumed download: the client gets the new version whole, never mixed bytes', async () => {
    const path = '/v';
    objects.set(path, v1(11));
    const old = (objects.get(path) as Version).body;
    assertBytes(await viaChild('www.test', path, { range: `bytes=0-${BLOCK - 1}` }), old, 0, BLOCK - 1, 'first part (v1)');
    objects.set(path, v2(11));
    const fresh = (objects.get(path) as Version).body;
    // The client resumes with If-Range: its part's Last-Modified. Child and parent hold only v1's block 0.
    const resumed = await viaChild('www.test', path, { range: `bytes=${BLOCK}-`, 'if-range': httpDate(T1) });
    assert.equal(resumed.status, 200, 'the validator changed: the whole new version, not a 206 of it');
    assert.equal(resumed.headers['last-modified'], httpDate(T2));
    assert.ok(resumed.body.equals(fresh), 'the whole body is v2');
    // Both tiers replaced their partial v1: every later range is v2, through either child vhost.
    assertBytes(await viaChild('www.test', path, { range: 'bytes=0-99' }), fresh, 0, 99, 'www after the change');
    assertBytes(await viaChild('img.test', path, { range: `bytes=${2 * BLOCK}-${2 * BLOCK + 99}` }), fresh, 2 * BLOCK, 2 * BLOCK + 99, 'img after the change');
    // A resume with the new validator is a 206 of v2.
    assertBytes(await viaChild('www.test', path, { range: `bytes=${BLOCK}-`, 'if-range': httpDate(T2) }), fresh, BLOCK, SIZE - 1, 'resume on v2');
    record(path);
  });

  test('IfRange Purge=ON: a child holding a newer copy makes the parent purge and refetch; without Purge it does not', async () => {
    const path = '/p';
    objects.set(path, v1(13));
    const old = (objects.get(path) as Version).body;
    const parent = parentFor(path);
    const atParent = (host: string, headers: Record<string, string> = {}): Promise<TestResponse> => request({ port: parent.port, host, path, headers });
    assert.ok((await viaChild('www.test', path)).body.equals(old), 'the parent caches v1 through the child');
    assert.ok((await atParent('nopurge.test')).body.equals(old));
    assert.ok((await atParent('noifrange.test')).body.equals(old));
    assert.equal(seenFor(origin, path).length, 3, 'one fetch per parent vhost (three caches)');
    objects.set(path, v2(13));
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
    assert.equal(seenFor(origin, path).length, 4, 'one refetch');
    const logged = await parent.flint.waitForLog((l) => l.event === 'cache.if_range_purge');
    assert.equal(logged.url, path, 'the purge is logged');
    // An older or equal If-Range never purges.
    const older = await atParent('www.test', { range: 'bytes=0-9', 'if-range': httpDate(T1) });
    assert.equal(older.status, 200);
    assert.ok(older.body.equals(fresh));
    assert.equal(seenFor(origin, path).length, 4);
    record(path);
  });
});
