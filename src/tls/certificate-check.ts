/**
 * @module tls/certificate-check
 * Reads and checks one `<Https>` certificate and key when the config loads (the primary: at start, on SIGHUP and
 * in `flint check-config`): both files readable, the certificate PEM parses, the key parses and fits the
 * certificate, the certificate is not expired. Workers never read the files: they get the checked PEM text with
 * the config, so a certificate that fails here never replaces a running one. Pure apart from the two reads.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A certificate this close to its notAfter is a warning at load and in /stats `tls` (issue 18 §3). */
export const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;

export type CertificateCheck =
  | { readonly ok: true; readonly certPem: string; readonly keyPem: string; readonly notAfterMs: number; readonly subject: string }
  | { readonly ok: false; readonly element: 'Cert' | 'Key'; readonly problem: string };

/** Reads `certPath` and `keyPath` and checks them as a pair, at time `nowMs`. */
export function checkCertificate(certPath: string, keyPath: string, nowMs: number): CertificateCheck {
  const certPem = readPem(certPath);
  if (typeof certPem !== 'string') return { ok: false, element: 'Cert', problem: certPem.problem };
  const keyPem = readPem(keyPath);
  if (typeof keyPem !== 'string') return { ok: false, element: 'Key', problem: keyPem.problem };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return { ok: false, element: 'Cert', problem: `${certPath} is not a PEM certificate` };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return { ok: false, element: 'Key', problem: `${keyPath} is not an unencrypted PEM private key` };
  }
  if (!cert.checkPrivateKey(key)) {
    return { ok: false, element: 'Key', problem: `${keyPath} is not the private key of the certificate in ${certPath}` };
  }
  const notAfterMs = Date.parse(cert.validTo);
  if (!Number.isFinite(notAfterMs)) return { ok: false, element: 'Cert', problem: `${certPath}: unreadable expiry date ${JSON.stringify(cert.validTo)}` };
  if (notAfterMs <= nowMs) return { ok: false, element: 'Cert', problem: `${certPath} expired on ${new Date(notAfterMs).toISOString()}` };
  return { ok: true, certPem, keyPem, notAfterMs, subject: cert.subject.replace(/\n/g, ', ') };
}

function readPem(filePath: string): string | { problem: string } {
  try {
    return readFileSync(filePath, 'latin1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return { problem: `cannot read ${filePath} (${code})` };
  }
}
