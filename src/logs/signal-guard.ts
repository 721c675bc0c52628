/**
 * @module logs/signal-guard
 * Imported first by the primary and worker entry files, so it runs before any other module loads: with no listener,
 * SIGUSR1 starts Node's inspector on 127.0.0.1:9229 (anyone on the machine could then run code as Flint) and SIGUSR2
 * kills the process. These no-op listeners close that window early; the real handlers (reopen logs on USR1, log and
 * ignore USR2) are added once the process is wired. Runs in every Flint process.
 */
process.on('SIGUSR1', () => undefined);
process.on('SIGUSR2', () => undefined);
