/**
 * Bodies over the node TLS engine while block buffers are reused: node:http2 and node:http keep a written chunk by
 * reference until the connection takes it, so a buffer Flint reuses (a reader's block scratch, a fill's block) must
 * not be handed back while a chunk of it is still queued there. Many objects over HotObjectMaxSize (so hits read
 * blocks through BodySource scratch buffers), most of several blocks, fetched at once, as misses and as hits, over HTTP/2 and
 * over HTTP/1.1 on TLS, every byte checked. A real Flint, a real origin, certificates made at test time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FlintProcess, serverXml } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { freePort } from '../helpers/ports.js';
import type { Route } from '../helpers/cache.js';
import { patternBody, reply, startRoutedOrigin } from '../helpers/cache.js';
import { h2Request, h2Session, makeCert } from '../helpers/tls.js';

/**
 * Over HotObjectMaxSize, so read from blocks on every hit: over one block (1 MiB, with tail slots of 8 KiB, 4 KiB
 * and 512 KiB), and under one (in slots of 384 KiB and 48 KiB). A fill's buffers are slot-sized and go back to the
 * pool once written, whatever the size.
 */
const SIZES = [1024 * 1024 + 4321, 300 * 1024 + 11, 2 * 1024 * 1024 + 777, 40 * 1024 + 5, 1536 * 1024];
const OBJECTS = 24;
const LANES = 12;
const PER_LANE = 25;
const MISS_LANES = 8;
const PER_MISS_LANE = 8;

const sizeOf = (i: number): number => SIZES[i % SIZES.length] as number;

function h1Get(port: number, agent: Agent, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: 'a.test', headers: { host: 'a.test' }, agent, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS engine bodies while block buffers are reused', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'flint-tls-reuse-'));
  const cert = makeCert(certDir, 'a', ['a.test']);
  const routes: Record<string, Route> = {};
  for (let i = 0; i < OBJECTS; i++) {
    routes[`/h2/${i}`] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', 'content-type': 'application/octet-stream' }, patternBody(sizeOf(i), i));
    routes[`/h1/${i}`] = (_req, res) => reply(res, 200, { 'cache-control': 'max-age=3600', 'content-type': 'application/octet-stream' }, patternBody(sizeOf(i), 100 + i));
  }
  let origin: TestOrigin;
  let flint: FlintProcess;
  let tlsPort: number;

  before(async () => {
    origin = await startRoutedOrigin(routes);
    const plainPort = await freePort();
    tlsPort = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      // No hot tier and no block memory: every hit reads its blocks into a reader's pooled scratch buffer.
      server: serverXml({ managerPort, dir, workers: 1, cacheExtra: '<ContentMemoryRatio>0</ContentMemoryRatio>' }),
      vhosts: `<Vhosts><Vhost Name="a.test">
        <Listen>127.0.0.1:${plainPort}</Listen>
        <Https Listen="127.0.0.1:${tlsPort}"><Cert>${cert.cert}</Cert><Key>${cert.key}</Key></Https>
        <Origin><Address>${origin.address}</Address></Origin></Vhost><Default>a.test</Default></Vhosts>`,
    }));
  });

  after(async () => {
    await flint?.stop();
    await origin?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('HTTP/2: many multi-block misses and hits at once, and lanes of back-to-back hits and misses, each get their own bytes', async () => {
    const session = h2Session(tlsPort, 'a.test');
    try {
      for (const round of ['miss', 'hit', 'hit again']) {
        const results = await Promise.all(Array.from({ length: OBJECTS }, (_, i) => h2Request(session, `/h2/${i}`, { host: 'a.test' })));
        results.forEach((r, i) => {
          assert.equal(r.status, 200, `${round} ${i}`);
          assert.equal(r.body.length, sizeOf(i), `${round} ${i}: length`);
          assert.ok(r.body.equals(patternBody(sizeOf(i), i)), `${round} ${i}: bytes`);
        });
      }
      // Lanes of back-to-back hits: a new request's reader starts while earlier streams' last chunks still wait
      // in the connection's queue.
      const wrong: string[] = [];
      await Promise.all(
        Array.from({ length: LANES }, async (_, lane) => {
          for (let n = 0; n < PER_LANE; n++) {
            const i = (lane * 7 + n) % OBJECTS;
            const r = await h2Request(session, `/h2/${i}`, { host: 'a.test' });
            if (r.status !== 200 || !r.body.equals(patternBody(sizeOf(i), i))) wrong.push(`lane ${lane} #${n} /h2/${i}: ${r.status}, ${r.body.length} bytes`);
          }
        }),
      );
      assert.deepEqual(wrong, []);
      // Lanes of back-to-back misses (a distinct query each): a fill's whole blocks go back to the pool once
      // written, while a follower's last chunk of one may still wait in the connection's queue.
      const wrongMisses: string[] = [];
      await Promise.all(
        Array.from({ length: MISS_LANES }, async (_, lane) => {
          for (let n = 0; n < PER_MISS_LANE; n++) {
            const i = (lane * 5 + n) % OBJECTS;
            const r = await h2Request(session, `/h2/${i}?miss=${lane}-${n}`, { host: 'a.test' });
            if (r.status !== 200 || !r.body.equals(patternBody(sizeOf(i), i))) wrongMisses.push(`miss lane ${lane} #${n} /h2/${i}: ${r.status}, ${r.body.length} bytes`);
          }
        }),
      );
      assert.deepEqual(wrongMisses, []);
    } finally {
      session.close();
    }
  });

  test('HTTP/1.1 over TLS: many connections fetching multi-block misses, then hits, at once get their own bytes', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: OBJECTS });
    try {
      for (const round of ['miss', 'hit', 'hit again']) {
        const results = await Promise.all(Array.from({ length: OBJECTS }, (_, i) => h1Get(tlsPort, agent, `/h1/${i}`)));
        results.forEach((r, i) => {
          assert.equal(r.status, 200, `${round} ${i}`);
          assert.equal(r.body.length, sizeOf(i), `${round} ${i}: length`);
          assert.ok(r.body.equals(patternBody(sizeOf(i), 100 + i)), `${round} ${i}: bytes`);
        });
      }
      const wrong: string[] = [];
      await Promise.all(
        Array.from({ length: LANES }, async (_, lane) => {
          for (let n = 0; n < PER_LANE; n++) {
            const i = (lane * 7 + n) % OBJECTS;
            const r = await h1Get(tlsPort, agent, `/h1/${i}`);
            if (r.status !== 200 || !r.body.equals(patternBody(sizeOf(i), 100 + i))) wrong.push(`lane ${lane} #${n} /h1/${i}: ${r.status}, ${r.body.length} bytes`);
          }
        }),
      );
      assert.deepEqual(wrong, []);
    } finally {
      agent.destroy();
    }
  });
});
