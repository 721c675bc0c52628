/**
 * @module test/helpers/ports
 * Free loopback TCP ports for tests: bind port 0, read the port, close. A small race remains (another process could
 * take it before Flint binds), acceptable on a test machine.
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
