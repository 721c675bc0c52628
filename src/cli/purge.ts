/**
 * @module cli/purge
 * `flint purge|expire|hardpurge URL... [--conf DIR]` and `flint expireafter SEC URL...`: one cache-control call for
 * all the URLs (joined by `|`, as STON takes them; each may be a glob like example.com/img/*.jpg); with
 * `--tag TAG... [--vhost NAME]`, for every object carrying one of the tags (issue 24). Prints the STON result
 * (Count, Size, Time) and any denied or unreadable target. Exit 0 when the call ran, 1 otherwise.
 */
import { CliError, callManager, errorText } from './manager-client.js';

interface ControlBody {
  readonly Count?: number;
  readonly Size?: number;
  readonly Time?: number;
  readonly Denied?: readonly string[];
  readonly Errors?: readonly string[];
}

export async function purgeCommand(confDir: string, command: 'purge' | 'expire' | 'hardpurge' | 'expireafter', args: readonly string[]): Promise<number> {
  let urls = args;
  let query = '';
  if (command === 'expireafter') {
    const [sec, ...rest] = args;
    if (sec === undefined || !/^\d+$/.test(sec)) throw new CliError('usage: flint expireafter SECONDS URL...');
    query = `sec=${sec}&`;
    urls = rest;
  }
  let body: string;
  if (urls.includes('--tag')) {
    const tags: string[] = [];
    let vhost: string | null = null;
    for (let i = 0; i < urls.length; i++) {
      const arg = urls[i] as string;
      if (arg === '--vhost') vhost = urls[++i] ?? null;
      else if (arg !== '--tag') tags.push(arg);
    }
    if (tags.length === 0 || (urls.includes('--vhost') && vhost === null)) throw new CliError(`usage: flint ${command} --tag TAG... [--vhost NAME]`);
    body = `${query}tag=${encodeURIComponent(tags.join(' '))}${vhost === null ? '' : `&vhost=${encodeURIComponent(vhost)}`}`;
  } else {
    if (urls.length === 0) throw new CliError(`usage: flint ${command} URL... (host/path, or a glob like example.com/img/*.jpg)`);
    // STON reads url= to the end of the body, so the targets go unescaped apart from what a form body cannot hold.
    body = `${query}url=${urls.map((u) => u.replace(/%/g, '%25').replace(/&/g, '%26')).join('|')}`;
  }
  const reply = await callManager(confDir, `/command/${command}`, { method: 'POST', body });
  let result: ControlBody;
  try {
    result = JSON.parse(reply.text) as ControlBody;
  } catch {
    console.error(`flint: unexpected answer (${reply.status}): ${errorText(reply.text)}`);
    return 1;
  }
  if (reply.status !== 200 && result.Count === undefined) {
    console.error(`flint: ${command} failed (${reply.status}): ${errorText(reply.text)}`);
    return 1;
  }
  console.log(`${command}: ${result.Count ?? 0} object(s), ${result.Size ?? 0} bytes, ${result.Time ?? 0} ms`);
  for (const denied of result.Denied ?? []) console.error(`  denied: ${denied}`);
  for (const error of result.Errors ?? []) console.error(`  error: ${error}`);
  return reply.status === 200 && (result.Errors ?? []).length === 0 ? 0 : 1;
}
