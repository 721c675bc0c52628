/**
 * @module test/helpers/tls
 * Certificates made at test time with the openssl CLI into a temp directory (no key is ever committed), and the
 * small TLS clients the HTTPS tests need: the certificate a handshake with a given SNI name receives, HTTP/2
 * requests on one node:http2 session, and curl over TLS.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed EC certificate for `names` (CN = the first) valid for `days`, written as `<base>.crt`/`<base>.key` in `dir`. */
export function makeCert(dir: string, base: string, names: readonly string[], days = 30): CertFiles {
  const cert = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  const san = names.map((n) => `DNS:${n}`).join(',');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${names[0] ?? 'x'}`, '-addext', `subjectAltName=${san}`, '-days', String(days)], { stdio: 'ignore' });
  return { cert, key };
}

/** A certificate that expired in 2020 (openssl ca -selfsign with explicit dates), with its key. */
export function makeExpiredCert(dir: string, base: string, name: string): CertFiles {
  const key = join(dir, `${base}.key`);
  const csr = join(dir, `${base}.csr`);
  const cert = join(dir, `${base}.crt`);
  const caDir = join(dir, `${base}-ca`);
  execFileSync('mkdir', ['-p', caDir]);
  writeFileSync(join(caDir, 'index.txt'), '');
  writeFileSync(join(caDir, 'serial'), '01\n');
  writeFileSync(join(caDir, 'ca.cnf'), `[ca]\ndefault_ca=d\n[d]\ndatabase=${caDir}/index.txt\nnew_certs_dir=${caDir}\nserial=${caDir}/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n`);
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-subj', `/CN=${name}`, '-out', csr], { stdio: 'ignore' });
  execFileSync('openssl', ['ca', '-batch', '-config', join(caDir, 'ca.cnf'), '-selfsign', '-keyfile', key, '-in', csr, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** The subjectAltName text (`DNS:a, DNS:b`) of the certificate a TLS handshake with SNI `servername` receives. */
export function peerAltNames(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], servername }, () => {
      const san = socket.getPeerCertificate().subjectaltname ?? '';
      socket.end();
      resolve(san);
    });
    socket.once('error', reject);
  });
}

/** The subject CN of the certificate a TLS handshake to `port` with SNI `servername` (none when undefined) receives. */
export function peerCommonName(port: number, servername: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], ...(servername === undefined ? {} : { servername }) }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(typeof cn === 'string' ? cn : '');
    });
    socket.once('error', reject);
  });
}

/** `openssl s_client -servername` (or `-noservername`): the subject line of the certificate it was shown. */
export function sClientSubject(port: number, servername: string | undefined): string {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, ...(servername === undefined ? ['-noservername'] : ['-servername', servername])];
  const out = spawnSync('openssl', args, { input: '', encoding: 'utf8', timeout: 10_000 });
  const line = out.stdout.split('\n').find((l) => l.startsWith('subject='));
  return line ?? '';
}

/** An HTTP/2 session to 127.0.0.1:`port` trusting anything (the tests' certificates are self-signed). */
export function h2Session(port: number, servername: string): ClientHttp2Session {
  return h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername });
}

export interface H2Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request on an open HTTP/2 session. */
export function h2Request(session: ClientHttp2Session, path: string, headers: Record<string, string> = {}, method = 'GET', body?: Buffer): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': method, ':path': path, ...headers });
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.end(body);
  });
}

export interface CurlResult {
  readonly status: number;
  readonly httpVersion: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/**
 * curl over TLS (`-k`, `--resolve` to 127.0.0.1) with `flags` such as `--http2` or `--http1.1`. Asynchronous: the
 * test's origin runs in this process and must keep answering while curl waits.
 */
export async function curl(port: number, host: string, path: string, flags: readonly string[] = []): Promise<CurlResult> {
  const stdout = await new Promise<Buffer>((resolve, reject) => {
    execFile('curl', ['-sk', '-D', '-', '--resolve', `${host}:${port}:127.0.0.1`, ...flags, `https://${host}:${port}${path}`], { encoding: 'buffer', timeout: 15_000 }, (error, out) => {
      if (error !== null) reject(error);
      else resolve(out);
    });
  });
  const out = { stdout };
  const text = out.stdout.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const headText = text.slice(0, split);
  const lines = headText.split('\r\n');
  const statusLine = lines[0] ?? '';
  const [version = '', status = '0'] = statusLine.split(' ');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(status), httpVersion: version, headers, body: out.stdout.subarray(Buffer.byteLength(headText, 'latin1') + 4) };
}
