/**
 * @module bench/lib/ports
 * Free TCP ports on 127.0.0.1 for the servers the bench starts. The kernel picks the port (listen on 0), we close
 * and hand it out; a port is never handed out twice in one bench process, which keeps the race with other
 * programs small. Runs in the bench process.
 */
import { createServer } from 'node:net';

/** Loopback only: the bench never listens on or sends to anything else. */
export const BENCH_HOST = '127.0.0.1';

const handedOut = new Set<number>();

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, BENCH_HOST, () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port on 127.0.0.1 after 20 attempts');
}
