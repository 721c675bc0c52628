/**
 * @module bench/micro/rate-limit
 * Cost per request of `<RateLimit>` (pipeline/rate-limit.ts) in-process: the token bucket check a limited vhost adds
 * to every request, with one busy address, 10,000 addresses in turn, and 200,000 addresses churning through the
 * 100,000-entry table (every take evicts). Off (RateLimit 0) the request path reads one number and branches.
 * Includes the report every 10,000 requests (100 ms at 100k requests/s). Run: `node dist/bench/micro/rate-limit.js`. Bounded: a fixed number of iterations per case.
 */
import { RateLimiter } from '../../src/pipeline/rate-limit.js';

const ITERATIONS = 2_000_000;
const spec = { perSec: 1_000_000, burst: 0 };

function run(label: string, addresses: readonly string[]): void {
  const limiter = new RateLimiter(() => undefined);
  limiter.configure([{ name: 'a.com', clientLimits: { trafficCapMbps: 0, sessionCapMbps: 0, rateLimit: spec } }] as never);
  let admitted = 0;
  // Warm-up, then the timed loop.
  for (let i = 0; i < 200_000; i++) admitted += limiter.take('a.com', spec, addresses[i % addresses.length] as string, i / 1000) === 0 ? 1 : 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) {
    admitted += limiter.take('a.com', spec, addresses[i % addresses.length] as string, 200 + i / 1000) === 0 ? 1 : 0;
    // The worker reports every 100 ms; at ~100k requests/s that is every 10,000 requests.
    if (i % 10_000 === 0) limiter.flush();
  }
  const ns = Number(process.hrtime.bigint() - t0) / ITERATIONS;
  limiter.flush();
  limiter.close();
  console.log(`${label}: ${ns.toFixed(1)} ns per request (${admitted} admitted, ${limiter.tracked} tracked)`);
}

const address = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
run('1 address', ['192.0.2.1']);
run('10,000 addresses', Array.from({ length: 10_000 }, (_, i) => address(i)));
run('200,000 addresses (table at its cap, evicting)', Array.from({ length: 200_000 }, (_, i) => address(i)));
