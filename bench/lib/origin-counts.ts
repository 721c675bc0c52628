/**
 * @module bench/lib/origin-counts
 * Read what the uWS origin counted (bench/origin.ts `/__bench/counts`: requests, body bytes sent and aborted
 * responses per count key) and sum it over the keys of one scenario's path. Counting at the origin is the one
 * method that works the same for Flint, nginx and Varnish. Runs in the bench process.
 */
import { httpGet } from './http-probe.js';
import { ORIGIN_ADMIN_PREFIX } from './objects.js';

/** Origin traffic for one path (and everything below it). */
export interface OriginTraffic {
  readonly requests: number;
  /** Body bytes the origin handed to its sockets. */
  readonly bytes: number;
  /** Responses the client (the proxy) closed before their end. */
  readonly aborted: number;
  /** Responses still streaming (a gauge, not a count). */
  readonly open: number;
}

/** Traffic so far for `path` and every count key below it (`/c/1k/m/x` also sums `/c/1k/m/x/*`). */
export async function originTraffic(originBaseUrl: string, path: string): Promise<OriginTraffic> {
  const r = await httpGet(`${originBaseUrl}${ORIGIN_ADMIN_PREFIX}counts`, 5_000);
  if (r.status !== 200) throw new Error(`origin counts: status ${r.status}`);
  const parsed: unknown = JSON.parse(r.body.toString('utf8'));
  const sum = (field: string): number => {
    const table = (parsed as Record<string, unknown> | null)?.[field];
    if (typeof table !== 'object' || table === null) throw new Error(`origin counts: no '${field}' table`);
    let n = 0;
    for (const [key, value] of Object.entries(table)) {
      if ((key === path || key.startsWith(`${path}/`)) && typeof value === 'number') n += value;
    }
    return n;
  };
  return { requests: sum('requests'), bytes: sum('bytes'), aborted: sum('aborted'), open: sum('open') };
}

/** b - a, field by field (`open` is a gauge: b's). */
export function trafficDelta(a: OriginTraffic, b: OriginTraffic): OriginTraffic {
  return { requests: b.requests - a.requests, bytes: b.bytes - a.bytes, aborted: b.aborted - a.aborted, open: b.open };
}

/**
 * Traffic for `path` once it has stopped moving: read every 500 ms until no response is streaming and two
 * readings agree, for at most `maxMs`. A proxy may keep filling after its client is done (nginx completes the
 * cache file, a background fill runs on), and those bytes count against it too.
 */
export async function settledOriginTraffic(originBaseUrl: string, path: string, maxMs = 10_000): Promise<OriginTraffic & { settled: boolean }> {
  const end = Date.now() + maxMs;
  let last = await originTraffic(originBaseUrl, path);
  while (Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = await originTraffic(originBaseUrl, path);
    if (now.open === 0 && now.requests === last.requests && now.bytes === last.bytes) return { ...now, settled: true };
    last = now;
  }
  return { ...last, settled: false };
}
