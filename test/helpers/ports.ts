/**
 * @module test/helpers/ports
 * Free loopback TCP ports for tests: the bench's (bench/lib/ports.ts: the kernel picks one, it is closed and handed
 * out, and never handed out twice in one process). Another process could still take a port before Flint binds it,
 * acceptable on a test machine; the kernel giving this process the same closed port twice is not: a CI run once got
 * a vhost's Listen port as the manager's too, and Flint refused the configuration.
 */
export { freePort } from '../../bench/lib/ports.js';
