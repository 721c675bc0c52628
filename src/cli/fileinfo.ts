/**
 * @module cli/fileinfo
 * `flint fileinfo URL [--json] [--conf DIR]`: what the cache holds for one URL, one block per Vary variant (state,
 * size, blocks, TTL left, validators, last access, hits, stored headers). `--json` prints the API document as is.
 * Exit 0 when something is cached, 1 when nothing is (or the call failed).
 */
import { callManager, errorText } from './manager-client.js';

interface Variant {
  readonly [field: string]: unknown;
  readonly Headers?: Record<string, string | string[]>;
}

export async function fileinfoCommand(confDir: string, args: readonly string[]): Promise<number> {
  const json = args.includes('--json');
  const url = args.find((a) => a !== '--json');
  if (url === undefined) {
    console.error('flint: usage: flint fileinfo URL [--json]');
    return 1;
  }
  const reply = await callManager(confDir, `/monitoring/fileinfo?url=${encodeURIComponent(url)}`);
  if (reply.status === 404) {
    console.error(`flint: ${url} is not in the cache`);
    return 1;
  }
  if (reply.status !== 200) {
    console.error(`flint: fileinfo failed (${reply.status}): ${errorText(reply.text)}`);
    return 1;
  }
  if (json) {
    process.stdout.write(reply.text);
    return 0;
  }
  const body = JSON.parse(reply.text) as { Url: string; Vhost: string; Variants: Variant[] };
  console.log(`${body.Url} (vhost ${body.Vhost}): ${body.Variants.length} variant(s)`);
  for (const v of body.Variants) {
    const variant = String(v.Variant ?? '').trim().replace(/\n/g, '; ');
    console.log(`\n  variant   ${variant === '' ? '(none)' : variant}`);
    const rows: Array<[string, unknown]> = [
      ['state', v.State],
      ['status', v.ResCode],
      ['size', v.Size === undefined ? undefined : `${String(v.Size)} bytes (${v.Inline === true ? 'inline' : `${String(v.BlocksPresent)}/${String(v.BlocksTotal)} blocks of ${String(v.BlockSize)}`})`],
      ['ttl left', v['TTL-Left'] === undefined ? undefined : `${String(v['TTL-Left'])} s of ${String(v.TTL)} s (${String(v.TTLSource)})`],
      ['etag', v.ETag],
      ['modified', v.LMT],
      ['stored', v.UpdateTime],
      ['accessed', v.LastAccess],
      ['hits', v.HitCount],
      ['purged', v.Purge],
    ];
    for (const [name, value] of rows) if (value !== undefined && value !== null) console.log(`  ${name.padEnd(9)} ${String(value)}`);
    for (const [name, value] of Object.entries(v.Headers ?? {})) console.log(`  header    ${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
  }
  return 0;
}
