/**
 * @module stats/connections
 * Counts established client TCP connections on the service ports by reading /proc/net/tcp and tcp6 (uWS has no
 * per-connection hook for HTTP, and the kernel's view is the honest one across all workers). Linux only; returns
 * null elsewhere. Runs in the primary, only when /stats is asked for.
 */
import { readFile } from 'node:fs/promises';

const ESTABLISHED = '01';

/** Established connections whose local port is in `ports`, or null when /proc is unavailable. */
export async function countEstablished(ports: ReadonlySet<number>): Promise<number | null> {
  let total = 0;
  let read = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'latin1');
    } catch {
      continue;
    }
    read = true;
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      // "  sl  local_address rem_address   st ..." -> fields[1] = "0100007F:1F90", fields[3] = state
      const fields = (lines[i] as string).trim().split(/\s+/);
      if (fields[3] !== ESTABLISHED) continue;
      const local = fields[1] ?? '';
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (ports.has(port)) total++;
    }
  }
  return read ? total : null;
}
