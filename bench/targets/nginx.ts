/**
 * @module bench/targets/nginx
 * Start and stop one Debian nginx as a non-daemon child with its own prefix, config, pid file, error log and temp
 * paths inside a temp dir (`nginx -p TMP -e TMP/error.log -c TMP/nginx.conf -g 'daemon off;'`), plus the config
 * builders for the roles nginx plays: pass-through reverse proxy (peer) and static origin. Never touches
 * /etc/nginx or /var/log/nginx. Runs in the bench process.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor200 } from '../lib/http-probe.js';
import { BENCH_HOST, freePort } from '../lib/ports.js';
import { commandLine, spawnTracked, stopTracked } from '../lib/processes.js';
import { makeTempDir, removeTempDir } from './target.js';
import type { RunningTarget } from './target.js';

/** Settings shared by every nginx the bench starts, so peers differ only in their server block. */
export interface NginxSpec {
  readonly name: string;
  readonly workers: number;
  /** The `server { ... }` (and `upstream`) part of the http block, given the port, the temp dir and the cache dir. */
  readonly serverBlock: (port: number, tmp: string, cacheDir: string) => string;
  /** Parent dir of the proxy_cache storage (a fresh dir under it, removed on stop); default TMP/cache. */
  readonly cacheRoot?: string;
  /** Path polled until it answers 200 before the target counts as started. */
  readonly readyPath: string;
}

/** Start nginx with `spec`; resolves once `readyPath` answers 200. */
export async function startNginx(nginxBin: string, spec: NginxSpec): Promise<RunningTarget> {
  const tmp = makeTempDir(spec.name);
  const port = await freePort();
  const cacheDir = spec.cacheRoot === undefined ? join(tmp, 'cache') : makeTempDir(`${spec.name}-cache`, spec.cacheRoot);
  const conf = nginxConf(spec.workers, tmp, spec.serverBlock(port, tmp, cacheDir));
  writeFileSync(join(tmp, 'nginx.conf'), conf);
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'logs']) mkdirSync(join(tmp, d));
  const args = ['-p', `${tmp}/`, '-e', join(tmp, 'error.log'), '-c', join(tmp, 'nginx.conf'), '-g', 'daemon off;'];
  const proc = await spawnTracked(spec.name, nginxBin, args);
  let stopped = false;
  const target: RunningTarget = {
    name: spec.name,
    workers: spec.workers,
    pid: proc.pid,
    baseUrl: `http://${BENCH_HOST}:${port}`,
    configs: { 'nginx.conf': conf, argv: commandLine(nginxBin, args) },
    storedBytes: () => allocatedBytes(cacheDir),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopTracked(proc); // SIGTERM = nginx fast shutdown; the master stops its workers.
      removeTempDir(tmp);
      if (spec.cacheRoot !== undefined) removeTempDir(cacheDir);
    },
  };
  try {
    await waitFor200(`${target.baseUrl}${spec.readyPath}`, 10_000, () => !proc.hasExited());
  } catch (err) {
    const log = proc.output().trim();
    await target.stop();
    throw new Error(`${spec.name} did not start: ${(err as Error).message}${log === '' ? '' : `\n${log}`}`);
  }
  return target;
}

/** Allocated bytes of the files under `dir` (`du`: st_blocks, which is what nginx's cache size counts). */
async function allocatedBytes(dir: string): Promise<number> {
  const { stdout } = await promisify(execFile)('du', ['-s', '-B1', dir]);
  return Number.parseInt(stdout, 10);
}

/**
 * The whole nginx.conf around one http server block. Settings chosen to match Flint, not nginx's defaults:
 * - keepalive_requests 1000000: nginx closes a client connection after 1000 requests by default; uWS never does,
 *   so without this wrk would measure nginx reconnecting every 1000 requests;
 * - access_log off (Flint is run with `<Access>OFF</Access>`);
 * - `user root` only when the master runs as root, so workers can read the 0700 temp dir.
 */
export function nginxConf(workers: number, tmp: string, server: string): string {
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `# Written by bench/targets/nginx.ts for one bench run.
${user}worker_processes ${workers};
pid ${tmp}/nginx.pid;
error_log ${tmp}/error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path ${tmp}/client_body;
    proxy_temp_path ${tmp}/proxy;
    fastcgi_temp_path ${tmp}/fastcgi;
    uwsgi_temp_path ${tmp}/uwsgi;
    scgi_temp_path ${tmp}/scgi;
    default_type application/octet-stream;
    keepalive_requests 1000000;
    keepalive_timeout 75s;

${server}
}
`;
}

/**
 * Reverse proxy without cache: every request goes to the origin over kept-alive HTTP/1.1 upstream connections.
 * `reuseport` gives each worker its own accept queue, as uWS's SO_REUSEPORT does for Flint's workers.
 */
export function passServerBlock(originPort: number): (port: number) => string {
  return (port) => `    upstream bench_origin {
        server ${BENCH_HOST}:${originPort};
        keepalive 64;
        keepalive_requests 1000000;
    }

    server {
        listen ${BENCH_HOST}:${port} reuseport;
        location / {
            proxy_pass http://bench_origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }`;
}

/** Static origin: files from `root`, marked like the uWS origin and never cacheable downstream. */
export function staticOriginServerBlock(root: string): (port: number) => string {
  return (port) => `    sendfile on;
    tcp_nopush on;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;

    server {
        listen ${BENCH_HOST}:${port} reuseport;
        root ${root};
        location / {
            add_header Cache-Control "no-store" always;
            add_header X-Bench-Origin "nginx" always;
        }
    }`;
}

/** How an nginx cache peer is configured beyond the shared settings. */
export interface NginxCacheOptions {
  /** `proxy_cache_lock on`: concurrent misses of one key wait for the first to fill it (default timeouts, 5 s). */
  readonly lock: boolean;
  /** The slice module: fetch and cache 1 MiB slices with Range, keyed by $uri$slice_range (range scenarios). */
  readonly slice: boolean;
  /** proxy_cache_path max_size, e.g. '504m' (default '16g': never reached by the other scenarios). */
  readonly maxSize?: string;
  /**
   * `gzip on` for the cached objects (hit-64k-gzip): nginx compresses every response on its way out, at this
   * gzip_comp_level; the bench objects are `application/octet-stream`, so gzip_types names it.
   */
  readonly gzipLevel?: number;
  /** Also listen with TLS and HTTP/2 on this port (the TLS scenarios), with these PEM files. */
  readonly tls?: { readonly port: number; readonly cert: string; readonly key: string };
}

/**
 * Reverse proxy with proxy_cache, configured as the cache equivalent of Flint: the same kept-alive upstream as
 * passServerBlock, freshness from the origin's Cache-Control (nothing overrides it), a disk cache in the temp dir
 * (`use_temp_path=off`, so fills are renamed into place, not copied), `sendfile on` as in Debian's stock nginx.conf,
 * and `X-Cache-Status: $upstream_cache_status` on every response so the bench can tell hits from misses.
 * `tcp_nopush off`, unlike Debian's stock config: on loopback (MTU 65536) `tcp_nopush on` with sendfile held the
 * last segment of every 64 KiB hit until the client's 40 ms delayed ACK (measured: 1.5k req/s, p50 43.8 ms, nginx
 * idle; with it off 28.8k req/s, p50 0.88 ms), which would measure the loopback, not nginx.
 */
export function cacheServerBlock(originPort: number, o: NginxCacheOptions): (port: number, tmp: string, cacheDir: string) => string {
  const lock = o.lock ? '\n            proxy_cache_lock on;' : '';
  const slice = o.slice
    ? `
            slice 1m;
            proxy_cache_key $uri$slice_range;
            proxy_set_header Range $slice_range;
            proxy_cache_valid 200 206 1h;`
    : '';
  // TLS 1.2 and 1.3 as Flint's default; ciphers and ALPN at nginx's defaults; HTTP/2 on the same certificate.
  const tls =
    o.tls === undefined
      ? ''
      : `
        listen ${BENCH_HOST}:${o.tls.port} ssl http2 reuseport;
        ssl_certificate ${o.tls.cert};
        ssl_certificate_key ${o.tls.key};
        ssl_protocols TLSv1.2 TLSv1.3;`;
  const gzip =
    o.gzipLevel === undefined
      ? ''
      : `
    gzip on;
    gzip_comp_level ${o.gzipLevel};
    gzip_types application/octet-stream;
    gzip_proxied any;
    gzip_vary on;`;
  return (port, _tmp, cacheDir) => `    upstream bench_origin {
        server ${BENCH_HOST}:${originPort};
        keepalive 64;
        keepalive_requests 1000000;
    }

    proxy_cache_path ${cacheDir} levels=1:2 keys_zone=bench:64m max_size=${o.maxSize ?? '16g'} inactive=1h use_temp_path=off;
    sendfile on;
    tcp_nopush off;${gzip}

    server {
        listen ${BENCH_HOST}:${port} reuseport;${tls}
        location / {
            proxy_pass http://bench_origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;${lock}${slice}
            add_header X-Cache-Status $upstream_cache_status always;
        }
    }`;
}
