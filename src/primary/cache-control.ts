/**
 * @module primary/cache-control
 * Runs /command/purge|expire|expireafter|hardpurge (and the PURGE/EXPIRE/HARDPURGE methods workers forward) in the
 * primary, off the workers' hot path. Per target: page through the key index under the target's prefix
 * (CONTROL_BATCH keys a page), keep the keys the glob matches, and apply the command to them in one LMDB write
 * transaction per page, yielding to the event loop between pages so workers' commits interleave. Fills in flight
 * under the target are reached first, through their lease records (CacheIndex.controlFills): whatever they fetched
 * may predate the command, so they commit it stale (or not at all, for hardpurge) and followers stop joining them;
 * doing fills before objects leaves no order in which a fill commits fresh after the command. Then every
 * worker drops matching hot-tier entries and acknowledges; the call returns only after that, so no worker serves
 * a purged copy once it returned. Result `{"Count","Size","Time"}` as STON. Tag purges (runTags) read the objects
 * carrying a tag from the tag index (cache/tag-index.ts) instead of a key range, CONTROL_BATCH a page likewise, and
 * reach every fill of the vhost (a fill's tags are known only at its commit, which applies the command if the
 * response carries the tag). Runs only in the primary.
 */
import type { Config } from '../config/types.js';
import type { CacheIndex, ControlResult } from '../cache/index.js';
import { currentAge } from '../cache/freshness.js';
import type { ControlCommand, PurgeScope, TaggedScope } from '../policy/purge-target.js';
import { guardedCommand, parseTargets, scopeMatcher } from '../policy/purge-target.js';
import { VhostRouter } from '../policy/vhost.js';
import { parseTagList } from '../cache/tags.js';

/** Keys read and changed per write transaction: small enough that a worker's commit waits at most a few ms. */
const CONTROL_BATCH = 500;

/** STON's result, plus what Flint adds: the targets that were denied or not understood. */
export interface ControlResponse {
  readonly status: number;
  readonly body: { Count: number; Size: number; Time: number; Denied?: string[]; Errors?: string[] };
  /** Fills in flight the command reached (logged; not in STON's body, whose Count is of stored objects). */
  readonly fills: number;
}

export interface CacheControlDeps {
  /** Every disk's index (the evictor's). */
  indexes(): readonly CacheIndex[];
  /** Tells every worker to drop hot-tier entries of these scopes; resolves when all acknowledged. */
  notifyWorkers(scopes: readonly PurgeScope[], tagged?: TaggedScope): Promise<void>;
}

export class CacheControl {
  readonly #deps: CacheControlDeps;

  constructor(deps: CacheControlDeps) {
    this.#deps = deps;
  }

  /** Runs `command` on every target in `urls` (`|`-separated); `sec` is expireafter's delay. */
  async run(config: Config, command: ControlCommand, urls: string, sec: number): Promise<ControlResponse> {
    const started = performance.now();
    const parsed = parseTargets(config, urls);
    if (parsed.length === 0) return { status: 400, body: { Count: 0, Size: 0, Time: 0, Errors: ['no target: give url=host/path (a glob, or several joined by |)'] }, fills: 0 };
    const total: ControlResult & { fills: number } = { count: 0, size: 0, fills: 0 };
    const denied: string[] = [];
    const errors: string[] = [];
    const applied: PurgeScope[] = [];
    for (const target of parsed) {
      if (!target.ok) {
        errors.push(`${target.text}: ${target.error}`);
        continue;
      }
      const vhost = config.vhosts.find((v) => v.name === target.scope.vhost);
      if (vhost === undefined) continue;
      const guarded = guardedCommand(vhost, target.scope, command);
      if ('denied' in guarded) {
        denied.push(`${target.text}: ${guarded.denied}`);
        continue;
      }
      for (const index of this.#deps.indexes()) {
        const result = await applyToScope(index, target.scope, guarded.command, sec);
        total.count += result.count;
        total.size += result.size;
        total.fills += result.fills;
      }
      applied.push(target.scope);
    }
    if (applied.length > 0) await this.#deps.notifyWorkers(applied);
    const body: ControlResponse['body'] = { Count: total.count, Size: total.size, Time: Math.round(performance.now() - started) };
    if (denied.length > 0) body.Denied = denied;
    if (errors.length > 0) body.Errors = errors;
    // STON answers 200 for a denied target (<ResCodeDenyCtrlTarget>); a target that cannot be read is the caller's error.
    return { status: errors.length > 0 && applied.length === 0 && denied.length === 0 ? 400 : 200, body, fills: total.fills };
  }

  /**
   * Runs `command` on every object tagged with one of `tags` (separated by spaces or commas, as in the tag fields),
   * all variants, in the vhost `host` (a Name or Alias) or, when null, in every vhost. The purge guards apply as to
   * a glob (<Purge2Expire>PATTERN turns it into expire). The fleet runs it the same way as `run`.
   */
  async runTags(config: Config, command: ControlCommand, tags: string, host: string | null, sec: number): Promise<ControlResponse> {
    const started = performance.now();
    const fail = (error: string): ControlResponse => ({ status: 400, body: { Count: 0, Size: 0, Time: 0, Errors: [error] }, fills: 0 });
    const parsed = parseTagList(tags);
    if (!parsed.ok) return fail(parsed.error);
    const list = parsed.tags;
    let vhosts = config.vhosts;
    if (host !== null) {
      const vhost = new VhostRouter(config.vhosts, null).route(host);
      if (vhost === null) return fail(`no vhost has the name or alias ${host}`);
      vhosts = [vhost];
    }
    const total = { count: 0, size: 0, fills: 0 };
    const denied: string[] = [];
    const primaries = new Set<string>();
    const reached: string[] = [];
    for (const vhost of vhosts) {
      const guarded = guardedCommand(vhost, { kind: 'pattern' }, command);
      if ('denied' in guarded) {
        denied.push(`${vhost.name}: ${guarded.denied}`);
        continue;
      }
      reached.push(vhost.name);
      for (const tag of list) {
        for (const index of this.#deps.indexes()) {
          const result = await applyToTag(index, vhost.name, tag, guarded.command, sec, primaries);
          total.count += result.count;
          total.size += result.size;
          total.fills += result.fills;
        }
      }
    }
    if (reached.length > 0) await this.#deps.notifyWorkers([], { primaries: [...primaries], vhosts: reached });
    const body: ControlResponse['body'] = { Count: total.count, Size: total.size, Time: Math.round(performance.now() - started) };
    if (denied.length > 0) body.Denied = denied;
    return { status: 200, body, fills: total.fills };
  }
}

/** Pages through the objects tagged `tag` in `vhost` and applies the command batch by batch; adds their primary keys to `primaries`. */
async function applyToTag(index: CacheIndex, vhost: string, tag: string, command: ControlCommand, sec: number, primaries: Set<string>): Promise<ControlResult & { fills: number }> {
  // Fills first, as for URL targets (see the module header): every fill of the vhost, applied at commit if tagged.
  const total = { count: 0, size: 0, fills: index.controlFills(`${vhost}\n`, `${vhost}\n\uffff`, () => true, command, sec, tag) };
  let after: Buffer | null = null;
  for (;;) {
    const page = index.tagMembers(vhost, tag, after, CONTROL_BATCH);
    if (page.length === 0) break;
    after = (page[page.length - 1] as { cursor: Buffer }).cursor;
    for (const { primary } of page) primaries.add(primary);
    const now = Date.now();
    const result = await index.applyControl(
      page.map((entry) => entry.hash),
      command,
      now,
      sec,
      (meta) => currentAge(meta, now),
    );
    total.count += result.count;
    total.size += result.size;
    if (page.length < CONTROL_BATCH) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return total;
}

/** The range of full keys (`primary \0 variant`) a scope can reach; its matcher picks within it. */
function keyRange(scope: PurgeScope): [string, string] {
  if (scope.primary === null) return [scope.prefix, `${scope.prefix}\uffff`];
  // Collective: `primary \0 ...` up to `primary ? ...` (the characters between are filtered by the matcher).
  return [`${scope.primary}\0`, scope.collective ? `${scope.primary}?\uffff` : `${scope.primary}\u0001`];
}

/** Pages through the keys under the scope's prefix and applies the command batch by batch. */
async function applyToScope(index: CacheIndex, scope: PurgeScope, command: ControlCommand, sec: number): Promise<ControlResult & { fills: number }> {
  const matches = scopeMatcher(scope);
  const [start, end] = keyRange(scope);
  // Fills first (see the module header), then the stored objects.
  const total = { count: 0, size: 0, fills: index.controlFills(start, end, matches, command, sec) };
  let after: string | null = null;
  for (;;) {
    const page = index.scanKeys(start, end, after, CONTROL_BATCH);
    if (page.length === 0) break;
    after = (page[page.length - 1] as { key: string }).key;
    const hashes = page.filter((entry) => matches(entry.key.slice(0, entry.key.indexOf('\0')))).map((entry) => entry.hash);
    if (hashes.length > 0) {
      const now = Date.now();
      const result = await index.applyControl(hashes, command, now, sec, (meta) => currentAge(meta, now));
      total.count += result.count;
      total.size += result.size;
    }
    if (page.length < CONTROL_BATCH) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return total;
}
