/**
 * @module bench/origin
 * The bench's default origin: one uWS process serving fixed bodies from memory, so it costs a few microseconds of
 * CPU per request and is never the bottleneck of a proxy under test (figures in bench/README.md). Runs as its own
 * process: `node dist/bench/origin.js --port N [--pace-mibps R]`; SIGTERM ends it.
 *
 * What it serves (content: lib/objects.ts):
 * - `/1k`, `/64k`: `Cache-Control: no-store` (pass-1k);
 * - `/c/<name>[/anything]` (lib/objects.ts CACHE_OBJECTS): cacheable (`public, max-age=3600`, ETag,
 *   Last-Modified, Accept-Ranges), honouring one `Range: bytes=a-b | a- | -n` with a 206 (else 200, or 416).
 *   Bodies larger than one 256 KiB chunk are streamed with backpressure at a paced rate, R MiB/s per response
 *   (default 128, about 1 Gbit/s), like an origin across a network: a 64 MiB fill takes 0.5 s, long enough for
 *   followers to arrive while it streams. Smaller bodies are sent at once;
 * - `/t<n>/<name>[/anything]` for n in 3, 10 (lib/objects.ts TAG_SETS): as `/c/<name>[/anything]`, plus
 *   `Surrogate-Key` with n tags (the `miss-tagged` scenario);
 * - `/z/<id>` for id 1..100,000 (lib/zipf.ts): the `zipf` scenario's objects, cacheable like `/c/`, each of a size
 *   that depends on its id alone (a SURGE-like web mix of 100 B..4 MiB), with an ETag of its own. All of them count
 *   under one key, `/z/*`;
 * - `/img/2mp.jpg` (lib/objects.ts BENCH_IMAGE_PATH): a 1632x1224 JPEG (2 MP, made with sharp at start, the same
 *   bytes every run), cacheable like `/c/`, for the DIMS scenario;
 * - `/__bench/counts`: JSON of requests, body bytes sent (as the socket takes them), aborted responses and
 *   responses still streaming, per count key (lib/objects.ts countKey), so scenarios count origin traffic here,
 *   the same way for every product.
 * Refuses to run on uWS's slow pure-Node fallback (spikes.md item 1): that would make the ceiling a lie.
 */
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, us_listen_socket } from 'uWebSockets.js';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { BENCH_IMAGE_PATH, CACHE_MAX_AGE_S, CACHE_OBJECTS, LARGEST_OBJECT_BYTES, ORIGIN_ADMIN_PREFIX, ORIGIN_MARK_HEADER, ORIGIN_OBJECTS, TAG_SETS, countKey, objectBody } from './lib/objects.js';
import { ZIPF_PREFIX, zipfSizes } from './lib/zipf.js';

/** Streaming chunk: 256 KiB, the size spikes.md item 1 found best for uWS tryEnd loops. */
const CHUNK = 256 * 1024;
const LAST_MODIFIED = 'Sat, 01 Nov 2025 00:00:00 GMT';

/** Traffic per count key, served at /__bench/counts. */
const COUNTS = { requests: new Map<string, number>(), bytes: new Map<string, number>(), aborted: new Map<string, number>(), open: new Map<string, number>() };

function bump(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** A single byte range [start, end) of a body of `size` bytes, 'none' (serve all) or 'unsatisfiable' (416). */
function parseRange(header: string, size: number): { start: number; end: number } | 'none' | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return 'none'; // multiple or malformed ranges: a 200 is allowed (RFC 9110 §14.2)
  if (m[1] === '') {
    const n = Math.min(Number(m[2]), size);
    return n === 0 ? 'unsatisfiable' : { start: size - n, end: size };
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return last < start ? 'none' : { start, end: last + 1 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string' }, 'pace-mibps': { type: 'string', default: '128' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error('bench origin: --port N is required');
  const paceBytesPerMs = (Number(values['pace-mibps']) * 1024 ** 2) / 1000;
  if (!(paceBytesPerMs > 0)) throw new Error('bench origin: --pace-mibps must be > 0');
  if (typeof (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT?: unknown }).LIBUS_LISTEN_EXCLUSIVE_PORT !== 'number') {
    throw new Error('bench origin: uWebSockets.js loaded its pure-Node fallback, not the native binary; refusing to run');
  }
  // Every object is a prefix of the same content, so one buffer serves them all (and every range of them).
  const content = objectBody(LARGEST_OBJECT_BYTES);
  const cacheSizes = new Map<string, number>(Object.entries(CACHE_OBJECTS));
  const zipf = zipfSizes().sizes;
  const image = await benchImage();

  uWS
    .App()
    .get('/*', (res: HttpResponse, req: HttpRequest) => {
      const url = req.getUrl();
      if (url.startsWith(ORIGIN_ADMIN_PREFIX)) {
        const body = url === `${ORIGIN_ADMIN_PREFIX}counts` ? JSON.stringify(Object.fromEntries(Object.entries(COUNTS).map(([k, m]) => [k, Object.fromEntries(m)]))) : null;
        res.cork(() => {
          if (body === null) res.writeStatus('404 Not Found').end('not found');
          else res.writeHeader('Content-Type', 'application/json').writeHeader('Cache-Control', 'no-store').end(body);
        });
        return;
      }
      const key = countKey(url);
      bump(COUNTS.requests, key, 1);
      const noStoreSize = ORIGIN_OBJECTS[url];
      if (noStoreSize !== undefined) {
        bump(COUNTS.bytes, key, noStoreSize);
        res.cork(() => {
          res
            .writeStatus('200 OK')
            .writeHeader('Content-Type', 'application/octet-stream')
            .writeHeader('Cache-Control', 'no-store')
            .writeHeader(ORIGIN_MARK_HEADER, 'uws')
            .end(content.subarray(0, noStoreSize));
        });
        return;
      }
      if (url.startsWith(ZIPF_PREFIX)) {
        const id = Number(url.slice(ZIPF_PREFIX.length));
        const zsize = Number.isInteger(id) && id >= 1 ? zipf[id - 1] : undefined;
        if (zsize === undefined) {
          res.cork(() => res.writeStatus('404 Not Found').writeHeader('Cache-Control', 'no-store').end('not found'));
          return;
        }
        serveCacheable(res, key, zsize, parseRange(req.getHeader('range'), zsize), `"z${id}-${zsize.toString(16)}"`);
        return;
      }
      if (url === BENCH_IMAGE_PATH) {
        bump(COUNTS.bytes, key, image.length);
        res.cork(() => {
          res
            .writeStatus('200 OK')
            .writeHeader('Content-Type', 'image/jpeg')
            .writeHeader('Cache-Control', `public, max-age=${CACHE_MAX_AGE_S}`)
            .writeHeader('ETag', '"img-2mp"')
            .writeHeader(ORIGIN_MARK_HEADER, 'uws')
            .end(image);
        });
        return;
      }
      const m = /^\/(?:c|t(\d+))\/([^/]+)/.exec(url);
      const size = m === null ? undefined : cacheSizes.get(m[2] ?? '');
      const tags = m?.[1] === undefined ? null : TAG_SETS[m[1]];
      if (size === undefined || tags === undefined) {
        res.cork(() => res.writeStatus('404 Not Found').writeHeader('Cache-Control', 'no-store').end('not found'));
        return;
      }
      const range = parseRange(req.getHeader('range'), size);
      serveCacheable(res, key, size, range, `"${size.toString(16)}"`, tags);
    })
    .listen('127.0.0.1', port, (ls: us_listen_socket | false) => {
      if (ls === false) {
        console.error(`bench origin: cannot listen on 127.0.0.1:${port}`);
        process.exit(1);
      }
      console.log(`bench origin listening on 127.0.0.1:${port}`);
    });

  /** One cacheable response: 200, 206 or 416; small bodies at once, large ones streamed and paced. `tags`: a Surrogate-Key value. */
  function serveCacheable(res: HttpResponse, key: string, size: number, range: ReturnType<typeof parseRange>, etag: string, tags: string | null = null): void {
    const writeHead = (status: string, contentRange: string | null): void => {
      res
        .writeStatus(status)
        .writeHeader('Content-Type', 'application/octet-stream')
        .writeHeader('Cache-Control', `public, max-age=${CACHE_MAX_AGE_S}`)
        .writeHeader('ETag', etag)
        .writeHeader('Last-Modified', LAST_MODIFIED)
        .writeHeader('Accept-Ranges', 'bytes')
        .writeHeader(ORIGIN_MARK_HEADER, 'uws');
      if (tags !== null) res.writeHeader('Surrogate-Key', tags);
      if (contentRange !== null) res.writeHeader('Content-Range', contentRange);
    };
    if (range === 'unsatisfiable') {
      res.cork(() => {
        writeHead('416 Range Not Satisfiable', `bytes */${size}`);
        res.end();
      });
      return;
    }
    const start = range === 'none' ? 0 : range.start;
    const end = range === 'none' ? size : range.end;
    const status = range === 'none' ? '200 OK' : '206 Partial Content';
    const contentRange = range === 'none' ? null : `bytes ${start}-${end - 1}/${size}`;
    const total = end - start;
    if (total <= CHUNK) {
      bump(COUNTS.bytes, key, total);
      res.cork(() => {
        writeHead(status, contentRange);
        res.end(content.subarray(start, end));
      });
      return;
    }

    // Streamed: tryEnd does not buffer what the socket refuses, so on backpressure the rest of the chunk is sent
    // from onWritable (spikes.md item 1). `sent` counts body bytes uWS has taken; pacing holds each chunk until
    // t0 + sent / rate.
    let sent = 0;
    let counted = 0;
    let aborted = false;
    let headWritten = false;
    let timer: NodeJS.Timeout | null = null;
    const t0 = performance.now();
    const account = (upTo: number): void => {
      bump(COUNTS.bytes, key, upTo - counted);
      counted = upTo;
    };
    bump(COUNTS.open, key, 1);
    res.onAborted(() => {
      aborted = true;
      if (timer !== null) clearTimeout(timer);
      account(sent);
      bump(COUNTS.aborted, key, 1);
      bump(COUNTS.open, key, -1);
    });
    const schedule = (): void => {
      const delay = t0 + sent / paceBytesPerMs - performance.now();
      timer = setTimeout(step, Math.max(0, delay));
    };
    const finished = (): void => {
      account(total);
      bump(COUNTS.open, key, -1);
    };
    const step = (): void => {
      timer = null;
      if (aborted) return;
      const n = Math.min(CHUNK, total - sent);
      const chunkAt = sent;
      let ok = false;
      let done = false;
      res.cork(() => {
        if (!headWritten) {
          headWritten = true;
          writeHead(status, contentRange);
        }
        [ok, done] = res.tryEnd(content.subarray(start + chunkAt, start + chunkAt + n), total);
      });
      if (done) return finished();
      if (ok) {
        sent += n;
        account(sent);
        return schedule();
      }
      res.onWritable((offset) => {
        if (aborted) return true;
        const [ok2, done2] = res.tryEnd(content.subarray(start + offset, start + chunkAt + n), total);
        if (done2) finished();
        else if (ok2) {
          sent = chunkAt + n;
          account(sent);
          schedule();
        }
        return ok2;
      });
    };
    step();
  }
}

/** The DIMS scenario's source: 1632x1224 (2 MP), smooth gradients with fine detail, JPEG quality 85 (a photo's size). */
async function benchImage(): Promise<Buffer> {
  const width = 1632;
  const height = 1224;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = (128 + 100 * Math.sin(x / 37) + ((x * y) % 23)) & 0xff;
      raw[i + 1] = (128 + 100 * Math.cos(y / 29) + ((x + y) % 17)) & 0xff;
      raw[i + 2] = ((x ^ y) & 0x7f) + 64;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

void main();
