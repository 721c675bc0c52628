/**
 * @module bench/lib/tls
 * What the TLS scenarios need besides wrk and h2load: a self-signed certificate made at bench time with the openssl
 * CLI in a temp dir (no key is ever committed; the dir is removed with the scenario), the protocol, cipher and ALPN
 * protocol one handshake gets (recorded with each row, so two servers are known to have negotiated the same thing),
 * and a bounded HTTP/2 GET for the verification before h2load runs. Certificates are never checked: loopback only.
 * Runs in the bench process.
 */
import { execFileSync } from 'node:child_process';
import { connect as h2connect } from 'node:http2';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { findOnPath } from './environment.js';
import type { ProbeResponse } from './http-probe.js';

/** A certificate and its key, as PEM files. */
export interface BenchCert {
  readonly cert: string;
  readonly key: string;
  /** The openssl command line that made them (recorded with the results). */
  readonly command: string;
}

/**
 * A self-signed ECDSA P-256 certificate for `localhost` and 127.0.0.1, valid 2 days, in `dir` (bench.crt/bench.key).
 * P-256 because that is what a CDN edge usually serves first today and what Flint's TLS tests use; both servers
 * get the same files.
 */
export function makeBenchCert(dir: string): BenchCert {
  const openssl = findOnPath('openssl');
  if (openssl === null) throw new Error('openssl is not installed (apt-get install openssl)');
  const cert = join(dir, 'bench.crt');
  const key = join(dir, 'bench.key');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2'];
  execFileSync(openssl, args, { stdio: 'ignore', timeout: 10_000 });
  return { cert, key, command: [openssl, ...args].join(' ') };
}

/** What one TLS handshake negotiated. */
export interface TlsInfo {
  readonly protocol: string;
  readonly cipher: string;
  /** ALPN protocol the server chose, or 'none'. */
  readonly alpn: string;
}

/** Handshake with `url`'s host and port offering `alpn` (empty: no ALPN, as wrk), then close. */
export function tlsHandshake(url: string, alpn: readonly string[], timeoutMs = 5_000): Promise<TlsInfo> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, ...(alpn.length > 0 ? { ALPNProtocols: [...alpn] } : {}) }, () => {
      const info = { protocol: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher().standardName, alpn: socket.alpnProtocol === false ? 'none' : (socket.alpnProtocol ?? 'none') };
      socket.end();
      resolve(info);
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`TLS handshake with ${u.host}: no answer in ${timeoutMs} ms`)));
    socket.once('error', reject);
  });
}

/** One GET over a fresh HTTP/2 connection (ALPN h2), closed afterwards; rejects after `timeoutMs`. */
export function h2Get(url: string, timeoutMs = 10_000, headers: Readonly<Record<string, string>> = {}): Promise<ProbeResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const session = h2connect(u.origin, { rejectUnauthorized: false });
    const timer = setTimeout(() => session.destroy(new Error(`h2 GET ${url}: not complete in ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    };
    session.once('error', fail);
    const stream = session.request({ ':method': 'GET', ':path': `${u.pathname}${u.search}`, ...headers });
    const chunks: Buffer[] = [];
    let status = 0;
    let responseHeaders: ProbeResponse['headers'] = {};
    stream.on('response', (h) => {
      status = Number(h[':status']);
      const { ':status': _s, ...rest } = h;
      responseHeaders = rest as ProbeResponse['headers'];
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('error', fail);
    stream.on('end', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks) });
    });
  });
}
