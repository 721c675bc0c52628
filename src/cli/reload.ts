/**
 * @module cli/reload
 * `flint reload [--conf DIR]`: asks the running Flint to reload its config (same as SIGHUP) and prints the
 * validation result. Exit 0 when the new config was applied, 1 when it was refused (the old one keeps running).
 */
import { callManager, errorText } from './manager-client.js';

interface ReloadBody {
  readonly ok?: boolean;
  readonly problems?: readonly string[];
  readonly needsRestart?: readonly string[];
}

export async function reloadCommand(confDir: string): Promise<number> {
  const reply = await callManager(confDir, '/conf/reload', { method: 'POST' });
  let body: ReloadBody;
  try {
    body = JSON.parse(reply.text) as ReloadBody;
  } catch {
    console.error(`flint: unexpected answer (${reply.status}): ${errorText(reply.text)}`);
    return 1;
  }
  if (body.ok === true) {
    console.log('flint: configuration reloaded');
    for (const setting of body.needsRestart ?? []) console.log(`  takes effect after a restart: ${setting}`);
    return 0;
  }
  console.error(`flint: reload refused, the running configuration is kept:\n${(body.problems ?? [errorText(reply.text)]).map((p) => `  ${p}`).join('\n')}`);
  return 1;
}
