/**
 * @module origin/member-key
 * The name of one origin member (see origin/health-view.ts): `ip:port`, `[v6]:port` for IPv6. The one place that
 * formats it, so the primary's health state and the workers' reports always agree. Runs in both processes.
 */

/** `127.0.0.1:8080`, `[::1]:8080`; `host` is an IP literal (or, before resolution, the configured name). */
export function memberKey(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
