/**
 * @module origin/probe
 * One health probe of one origin member: a GET over a fresh connection (node:http, or node:https with the same TLS
 * rules as requests for an `<Origin Protocol="HTTPS">`; no pooling: a probe must see whether a new connection
 * works), judged either on the status line (STON's recovery probes) or on the complete transaction, body included
 * (STON's <HealthChecker>), within a deadline. Never rejects. Runs in the primary.
 */
import { request as httpRequest } from 'node:http';
import type { RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { OriginTlsOptions } from './tls.js';
import { isTlsError } from './tls.js';

export interface ProbeRequest {
  /** IP literal of the member. */
  readonly ip: string;
  readonly port: number;
  /** Path and query, starting with '/'. */
  readonly path: string;
  readonly hostHeader: string;
  readonly userAgent: string;
  /** The whole probe, connect included. */
  readonly timeoutMs: number;
  /** 'status-line': done when the response head arrives; 'complete': the body must end too. */
  readonly until: 'status-line' | 'complete';
  /** TLS options for an HTTPS origin (origin/tls.ts originTlsOptions); null = plain HTTP. */
  readonly tls: OriginTlsOptions | null;
}

/**
 * What a probe saw: a status, or why there was none (`connect-fail: ECONNREFUSED`, `timeout`,
 * `tls-fail: DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate`, ...).
 */
export type ProbeResult = { readonly status: number; readonly error: null } | { readonly status: 0; readonly error: string };

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Runs one probe. */
export function probeOrigin(probe: ProbeRequest): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let connected = false;
    const done = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const options: RequestOptions = {
      host: probe.ip,
      port: probe.port,
      path: probe.path,
      method: 'GET',
      headers: { host: probe.hostHeader, 'user-agent': probe.userAgent, connection: 'close' },
      agent: false,
    };
    const tls = probe.tls;
    const send = tls === null ? httpRequest : httpsRequest;
    // servername '' = no SNI: node:https would otherwise take it from the Host header (a probe's Host is not the
    // name the certificate is checked against; see origin/tls.ts).
    const tlsOptions = tls === null ? {} : { servername: tls.servername ?? '', rejectUnauthorized: tls.rejectUnauthorized, ...(tls.ca === undefined ? {} : { ca: [...tls.ca] }) };
    const req = send(
      { ...options, ...tlsOptions },
      (res) => {
        const status = res.statusCode ?? 0;
        if (probe.until === 'status-line') return done({ status, error: null });
        res.on('data', () => undefined);
        res.on('end', () => done({ status, error: null }));
        res.on('error', (error) => done({ status: 0, error: `receive-fail: ${error.message}` }));
        res.on('aborted', () => done({ status: 0, error: 'receive-fail: connection closed mid-body' }));
      },
    );
    req.on('socket', (socket) => socket.once('connect', () => (connected = true)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? '';
      if (isTlsError(code)) return done({ status: 0, error: `tls-fail: ${code}: ${error.message}` });
      const kind = !connected || CONNECT_CODES.has(code) ? 'connect-fail' : 'receive-fail';
      done({ status: 0, error: `${kind}: ${code === '' ? error.message : code}` });
    });
    const timer = setTimeout(() => done({ status: 0, error: `timeout: no ${probe.until === 'complete' ? 'complete answer' : 'status line'} within ${probe.timeoutMs} ms` }), probe.timeoutMs);
    req.end();
  });
}

/** A status counts as good when the list has it, or the list has 0 (any response). */
export function acceptsStatus(codes: readonly number[], status: number): boolean {
  return status > 0 && (codes.includes(0) || codes.includes(status));
}
