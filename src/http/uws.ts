/**
 * @module http/uws
 * The only importer of uWebSockets.js (runs in workers). The npm package silently falls back to a slow pure-Node
 * server when its native binary fails to load; Flint refuses that: we load the binary directly and throw a clear
 * FlintError, then double-check a symbol only the native module exports (spikes.md item 1). Once loaded, uWS is
 * told to stop stamping `uWebSockets: 20` on responses: what identifies the server is the operator's choice
 * (`<ServerHeader>`, `<ViaHeader>`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as UWS from 'uWebSockets.js';
import { FlintError } from '../errors.js';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

const require = createRequire(import.meta.url);

/**
 * The native binary for this platform, arch and Node ABI. It sits beside the package's main file; the package's
 * `exports` field blocks requiring it as a subpath (`uWebSockets.js/uws_linux_x64_115.node`), so we resolve the
 * main file and look next to it (spikes.md item 8).
 */
export const UWS_BINARY = join(
  dirname(require.resolve('uWebSockets.js')),
  `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
);

/** The native module's undocumented settings call (absent from its type definitions). */
type UwsConfigure = (setting: string) => void;

/**
 * Load the native uWS module or throw FLINT_ERR_UWS_NATIVE; never returns the fallback. The returned module no
 * longer writes its `uWebSockets` response header (`_cfg('silent')`); it always writes `Date` (README "Known limits").
 */
export function loadNativeUws(binary: string = UWS_BINARY): typeof UWS {
  let mod: typeof UWS;
  try {
    mod = require(binary) as typeof UWS;
  } catch (cause) {
    throw new FlintError(
      'FLINT_ERR_UWS_NATIVE',
      `uWebSockets.js native binary failed to load (${binary}); refusing to start with the slow pure-Node fallback: ` +
        `${(cause as Error).message}. Reinstall dependencies (npm ci) on a supported platform (see README "Known limits").`,
      { source: 'internal', cause },
    );
  }
  // The fallback exports only App/_cfg/...; the native module has numeric listen-option constants.
  if (typeof (mod as { LIBUS_LISTEN_EXCLUSIVE_PORT?: unknown }).LIBUS_LISTEN_EXCLUSIVE_PORT !== 'number') {
    throw new FlintError('FLINT_ERR_UWS_NATIVE', `${binary} loaded but is not the native uWebSockets.js module; refusing to start`, {
      source: 'internal',
    });
  }
  const configure = (mod as unknown as { _cfg?: UwsConfigure })._cfg;
  if (typeof configure !== 'function') {
    throw new FlintError('FLINT_ERR_UWS_NATIVE', `${binary} has no _cfg(): it would stamp "uWebSockets: 20" on every response; refusing to start`, {
      source: 'internal',
    });
  }
  configure.call(mod, 'silent');
  return mod;
}
