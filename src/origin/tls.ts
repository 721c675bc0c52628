/**
 * @module origin/tls
 * How a connection to an HTTPS origin is made (issue 18 §5), shared by the worker's pools (origin/pool.ts) and the
 * primary's probes (origin/probe.ts), so requests and health checks see the same certificate rules: the SNI name,
 * the trusted CAs, whether verification is on, and which errors are TLS failures. Runs in both process kinds.
 */
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { Config, OriginAddress, OriginOptions, OriginTls } from '../config/types.js';
import type { Logger } from '../log.js';

/** The node:tls client options of one origin connection (undici's connector and node:https take the same names). */
export interface OriginTlsOptions {
  /** SNI; undefined = none (an IP literal: RFC 6066 §3 allows only DNS names). */
  readonly servername: string | undefined;
  readonly rejectUnauthorized: boolean;
  /** undefined = Node's default store (bundled roots, plus NODE_EXTRA_CA_CERTS); else those roots plus `<CA>`. */
  readonly ca: readonly string[] | undefined;
}

/** The host part of an address as written in the config (`[v6]`, `1.2.3.4` or a DNS name), lower-cased. */
function configuredHost(address: OriginAddress): string {
  const match = /^(\[[^\]]*\]|[^:/[\]]+)/.exec(address.text);
  return (match?.[1] ?? address.host).replace(/^\[|\]$/g, '').toLowerCase();
}

/** `name[:port]` / `[v6]:port` without the port and brackets. */
function hostOnly(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.indexOf(':');
  return (colon < 0 || host.indexOf(':', colon + 1) >= 0 ? host : host.slice(0, colon)).toLowerCase();
}

/**
 * The name the origin certificate is checked against and sent as SNI: `<OriginOptions><Host>` when set (the Host the
 * origin is asked for), else the DNS name of the `<Address>` (as nginx's proxy_ssl_name does with the upstream name).
 * Never the client's Host: a client must not choose what the origin's certificate is checked against. null = an IP
 * literal: no SNI, and the certificate must carry that IP in its subjectAltName.
 */
export function originServerName(address: OriginAddress, options: OriginOptions): string | null {
  const name = options.hostHeader !== null ? hostOnly(options.hostHeader) : configuredHost(address);
  return isIP(name) === 0 && name !== '' ? name : null;
}

/** The TLS options of connections to `address` under `tls`. */
export function originTlsOptions(address: OriginAddress, options: OriginOptions, tls: OriginTls): OriginTlsOptions {
  return {
    servername: originServerName(address, options) ?? undefined,
    rejectUnauthorized: tls.verify,
    ca: tls.caPem === null ? undefined : [...rootCertificates, tls.caPem],
  };
}

/**
 * True for an error of the TLS layer: a handshake failure (`ERR_SSL_*`, `ERR_TLS_*`, e.g. an origin that speaks
 * plain HTTP) or an X.509 verification failure (OpenSSL's verify codes as node:tls names them).
 */
export function isTlsError(code: string): boolean {
  return /^ERR_(SSL|TLS)_/.test(code) || /CERT|SELF_SIGNED|^UNABLE_TO_|^INVALID_CA$|^INVALID_PURPOSE$|^PATH_LENGTH_EXCEEDED$|^HOSTNAME_MISMATCH$/.test(code);
}

/** Logs one warning per vhost whose HTTPS origin is not verified (`<TlsVerify>OFF`); at start and on each reload. */
export function warnUnverifiedOrigins(config: Config, log: Logger): void {
  for (const vhost of config.vhosts) {
    if (vhost.originOptions.tls?.verify !== false) continue;
    log.warn(
      { event: 'origin.tls_verify_off', vhost: vhost.name, origins: vhost.origins.map((a) => a.text) },
      `vhost ${vhost.name}: <TlsVerify>OFF: origin certificates are NOT checked (anyone on the path can impersonate the origin)`,
    );
  }
}
