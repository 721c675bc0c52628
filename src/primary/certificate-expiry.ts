/**
 * @module primary/certificate-expiry
 * What the operator is told about `<Https>` certificates: each distinct certificate with its vhosts, notAfter and
 * days left, flagged when it expires within 14 days (a warning logged at start and on every reload, and the /stats
 * `tls` document). Expired ones never get here: they are config errors (tls/certificate-check.ts). Runs in the primary.
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { EXPIRY_WARNING_MS } from '../tls/certificate-check.js';

export interface CertificateStatus {
  readonly cert: string;
  readonly vhosts: readonly string[];
  readonly notAfter: string;
  readonly daysLeft: number;
  readonly expiringSoon: boolean;
}

/** The /stats `tls` document: every certificate in use, and how many expire within 14 days. */
export function certificateStatus(config: Config, nowMs: number): { certificates: CertificateStatus[]; expiringSoon: number } {
  const byPath = new Map<string, { vhosts: string[]; notAfterMs: number }>();
  for (const vhost of config.vhosts) {
    if (vhost.https === null) continue;
    const entry = byPath.get(vhost.https.certPath) ?? { vhosts: [], notAfterMs: vhost.https.notAfterMs };
    entry.vhosts.push(vhost.name);
    byPath.set(vhost.https.certPath, entry);
  }
  const certificates = [...byPath].map(([cert, { vhosts, notAfterMs }]) => ({
    cert,
    vhosts,
    notAfter: new Date(notAfterMs).toISOString(),
    daysLeft: Math.floor((notAfterMs - nowMs) / 86_400_000),
    expiringSoon: notAfterMs - nowMs < EXPIRY_WARNING_MS,
  }));
  return { certificates, expiringSoon: certificates.filter((c) => c.expiringSoon).length };
}

/** Logs one warning per certificate that expires within 14 days. */
export function warnExpiringCertificates(config: Config, log: Logger, nowMs: number): void {
  for (const c of certificateStatus(config, nowMs).certificates) {
    if (c.expiringSoon) log.warn({ event: 'tls.cert_expiring', cert: c.cert, vhosts: c.vhosts, notAfter: c.notAfter, daysLeft: c.daysLeft }, `certificate ${c.cert} expires in ${c.daysLeft} days`);
  }
}
