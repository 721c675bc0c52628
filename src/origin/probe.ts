/**
 * @module origin/probe
 * One health probe of one origin member: a GET over a fresh connection (node:http, no pooling: a probe must see
 * whether a new connection works), judged either on the status line (STON's recovery probes) or on the complete
 * transaction, body included (STON's <HealthChecker>), within a deadline. Never rejects. Runs in the primary.
 */
import { request } from 'node:http';

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
}

/** What a probe saw: a status, or why there was none (`connect-fail: ECONNREFUSED`, `timeout`, ...). */
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
    const req = request(
      {
        host: probe.ip,
        port: probe.port,
        path: probe.path,
        method: 'GET',
        headers: { host: probe.hostHeader, 'user-agent': probe.userAgent, connection: 'close' },
        agent: false,
      },
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
