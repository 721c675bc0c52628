/**
 * DIMS in the 2-tier setup (issue 21, STON image.html: "for consistent-hash tiers, use BalanceHashRules IgnoreSuffix
 * /dims/"): a child Flint hashing over two parent Flints that convert. With `<IgnoreSuffix>/dims/</IgnoreSuffix>`
 * on the child, every variant of an image goes to the parent that holds the original, so the origin sends each
 * original once and each parent converts only its own images. The control vhost hashes whole URLs: there variants
 * of one image land on both parents and the origin sends the original twice (which is why the rule exists, and
 * what makes this test able to fail).
 *
 *   client --> child (kept.test: Hash + IgnoreSuffix; scattered.test: Hash) --> parent 0 | parent 1 (Dims) --> origin
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import { TestOrigin } from '../helpers/origin.js';
import { request } from '../helpers/http.js';
import { seenFor, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';
import { hashedUrl, rendezvous } from '../../src/origin/selector.js';

const PARENTS = 2;
const parentAgent = (i: number): string => `flint-parent-${i}`;
const CHAINS = ['resize/100x', 'resize/50x/format/webp', 'crop/40x40+0+0/format/png', 'thumbnail/30x30!'];

interface Parent {
  readonly index: number;
  readonly flint: FlintProcess;
  readonly key: string;
}

describe('2-tier DIMS: child hashing over two converting parents', () => {
  let origin: TestOrigin;
  let picture: Buffer;
  const parents: Parent[] = [];
  let child: FlintProcess;
  let childPort: number;

  const conversions = async (host: string): Promise<number[]> =>
    Promise.all(parents.map(async (p) => Number(((await p.flint.stats()).vhosts[host] as unknown as Record<string, number> | undefined)?.dimsConversions ?? 0)));

  before(async () => {
    picture = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 10, g: 120, b: 200 } } }).jpeg().toBuffer();
    origin = await TestOrigin.start((req, res) => {
      res.sendDate = false;
      res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'max-age=3600', 'content-length': String(picture.length) });
      res.end(picture);
    });
    for (let i = 0; i < PARENTS; i++) {
      const port = await freePort();
      const extra = `<Options><Dims Status="Active"/></Options><OriginOptions><UserAgent>${parentAgent(i)}</UserAgent></OriginOptions>`;
      const flint = await FlintProcess.start(({ dir, managerPort }) => ({
        server: serverXml({ managerPort, dir }),
        vhosts: vhostXml([
          { name: 'kept.test', port, origin: origin.address, extra },
          { name: 'scattered.test', port, origin: origin.address, extra },
        ]),
      }));
      parents.push({ index: i, flint, key: `127.0.0.1:${port}` });
    }
    childPort = await freePort();
    const childOrigins = parents.map((p) => p.key).join('</Address><Address>');
    child = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 2 }),
      vhosts: vhostXml([
        { name: 'kept.test', port: childPort, origin: childOrigins, extra: '<OriginOptions><BalanceMode>Hash</BalanceMode><BalanceHashRules><IgnoreSuffix>/dims/</IgnoreSuffix></BalanceHashRules></OriginOptions>' },
        { name: 'scattered.test', port: childPort, origin: childOrigins, extra: '<OriginOptions><BalanceMode>Hash</BalanceMode></OriginOptions>' },
      ]),
    }));
  });

  after(async () => {
    await child?.stop();
    for (const parent of parents) await parent.flint.stop();
    await origin?.close();
  });

  const requestAll = async (host: string, images: readonly string[]): Promise<void> => {
    for (const image of images) {
      for (const chain of CHAINS) {
        const res = await request({ port: childPort, host, path: `${image}/dims/${chain}` });
        assert.equal(res.status, 200, `${host}${image}/dims/${chain}`);
        const meta = await sharp(res.body).metadata();
        assert.ok(meta.width !== undefined && meta.width <= 100, `${chain}: converted (${meta.width} px wide)`);
      }
    }
  };

  test('with IgnoreSuffix /dims/, every variant goes to the parent holding the original: one origin fetch per image, conversions where the original is', async () => {
    const images = Array.from({ length: 6 }, (_, i) => `/kept/p${i}.jpg`);
    await requestAll('kept.test', images);
    const perParent = await waitFor('all conversions counted', async () => {
      const c = await conversions('kept.test');
      return c.reduce((a, b) => a + b, 0) >= images.length * CHAINS.length ? c : undefined;
    });
    const expected = [0, 0];
    for (const image of images) {
      const seen = seenFor(origin, image);
      assert.equal(seen.length, 1, `${image}: one origin request across the parent tier`);
      const owner = rendezvous(parents, hashedUrl(`${image}/dims/resize/100x`, ['/dims/']));
      assert.ok(owner !== null);
      assert.equal(seen[0]?.headers['user-agent'], parentAgent(owner.index), `${image}: fetched by the parent its hash picks`);
      (expected[owner.index] as number) += CHAINS.length;
    }
    assert.deepEqual(perParent, expected, 'each parent converted exactly the variants of its own originals');
  });

  test('control: hashing whole URLs scatters the variants, so originals are fetched by both parents', async () => {
    const images = Array.from({ length: 6 }, (_, i) => `/scattered/p${i}.jpg`);
    await requestAll('scattered.test', images);
    const fetchedTwice = images.filter((image) => new Set(seenFor(origin, image).map((r) => r.headers['user-agent'])).size === PARENTS);
    assert.ok(fetchedTwice.length > 0, 'without IgnoreSuffix some original is fetched by both parents');
  });
});
