/**
 * @module test/helpers/origin-certs
 * Makes a throw-away CA and a server certificate it signs, with the openssl CLI, in a new temp dir (keys are never
 * committed). For HTTPS origin tests: the leaf carries subjectAltNames for the given DNS names and IPs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  readonly dir: string;
  /** Path of the CA certificate (PEM). */
  readonly caFile: string;
  readonly caPem: string;
  /** The leaf's certificate and key (PEM). */
  readonly cert: string;
  readonly key: string;
  remove(): void;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA named `cn` and a leaf signed by it for `dnsNames` and `ips`, valid for a day. */
export function makeCerts(cn: string, dnsNames: readonly string[], ips: readonly string[]): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'flint-certs-'));
  const san = [...dnsNames.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
  writeFileSync(join(dir, 'leaf.ext'), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', `/CN=${cn}`]);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${dnsNames[0] ?? 'leaf'}`]);
  openssl(dir, ['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.crt', '-days', '1', '-extfile', 'leaf.ext']);
  const caFile = join(dir, 'ca.crt');
  return {
    dir,
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    cert: readFileSync(join(dir, 'leaf.crt'), 'utf8'),
    key: readFileSync(join(dir, 'leaf.key'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
