/**
 * @module cli/sign-url
 * `flint sign-url URL --expires SECONDS [--client-ip IP] [--conf DIR]`: prints URL signed for its vhost's
 * `<SignedUrl>` (policy/signed-url.ts) with the first `<Key>`, valid for SECONDS from now. URL is
 * `http[s]://host/path[?query]` or `host/path[?query]`; the path is signed in Flint's normal form (cache/key.ts),
 * which is also the form printed. Reads the config only; no running Flint needed. Exit 0 signed, 1 refused, 2 usage.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { normalisePath } from '../cache/key.js';
import { VhostRouter } from '../policy/vhost.js';
import { SignedUrlPolicy } from '../policy/signed-url.js';

const USAGE = 'usage: flint sign-url URL --expires SECONDS [--client-ip IP] [--conf DIR]';

export function signUrlCommand(argv: readonly string[], defaultConf: string, nowSec = Math.floor(Date.now() / 1000)): number {
  let confDir = defaultConf;
  let url: string | null = null;
  let expires: string | null = null;
  let clientIp: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--conf' || arg === '--expires' || arg === '--client-ip') {
      const value = argv[++i];
      if (value === undefined) return usage(`${arg} needs a value`);
      if (arg === '--conf') confDir = value;
      else if (arg === '--expires') expires = value;
      else clientIp = value;
    } else if (!arg.startsWith('-') && url === null) url = arg;
    else return usage(`unknown argument: ${arg}`);
  }
  if (url === null) return usage('no URL given');
  if (expires === null || !/^\d{1,9}$/.test(expires) || Number(expires) < 1) return usage('--expires needs a whole number of seconds >= 1');
  if (clientIp !== null && isIP(clientIp) === 0) return usage(`--client-ip ${JSON.stringify(clientIp)} is not an IP address`);
  let target: URL;
  try {
    target = new URL(/^https?:\/\//i.test(url) ? url : `http://${url}`);
  } catch {
    return usage(`${JSON.stringify(url)} is not a URL`);
  }
  let config;
  try {
    config = loadConfig(resolve(confDir));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`flint: invalid configuration in ${confDir}:\n${error.problems.map((p) => `  ${p}`).join('\n')}`);
    return 1;
  }
  const vhost = new VhostRouter(config.vhosts, null).route(target.host);
  if (vhost === null) {
    console.error(`flint: no vhost serves ${JSON.stringify(target.host)}`);
    return 1;
  }
  if (vhost.signedUrl === null) {
    console.error(`flint: vhost ${vhost.name} has no <SignedUrl Status="Active">`);
    return 1;
  }
  const policy = new SignedUrlPolicy(vhost.signedUrl);
  if (policy.bindClientIp && clientIp === null) return usage(`vhost ${vhost.name} binds links to the client address: give --client-ip`);
  const path = normalisePath(target.pathname) as string;
  if (!policy.covers(path)) console.error(`flint: note: ${path} is outside every <SignedUrl><Path> of ${vhost.name}; the link works without a signature too`);
  const signed = policy.sign(path, target.search.slice(1), nowSec + Number(expires), clientIp);
  console.log(`${target.protocol}//${target.host}${signed}`);
  return 0;
}

function usage(message: string): number {
  console.error(`flint: ${message}\n${USAGE}`);
  return 2;
}
