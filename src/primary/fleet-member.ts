/**
 * @module primary/fleet-member
 * The primary's side of the fleet: when `<Cluster><Nats>` is ON, loads src/fleet/ on demand (a standalone edge
 * never loads the nats client), starts it before the workers (so missed fleet purges are applied before this edge
 * reports ready), hands it the primary's own cache control and config reload, and implements the /fleet/* views:
 * 404 on a standalone edge, 503 (at once) while NATS is away, 400 for a request the fleet cannot take.
 * Runs only in the primary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetAnswer, FleetViews } from '../admin/fleet-routes.js';
import type { ClusterConfig, Config } from '../config/types.js';
import { loadConfigFromText, ruleFilesByVhost } from '../config/load.js';
import type { RuleFileText } from '../config/load.js';
import { ConfigError, FlintError } from '../errors.js';
import type { FleetNode } from '../fleet/fleet-node.js';
import type { FleetCommand, PushedConfig } from '../fleet/messages.js';
import type { Logger } from '../log.js';
import type { ControlCommand } from '../policy/purge-target.js';
import type { ConfigHistory } from './config-history.js';
import { historyDir } from './config-history.js';

/** What the fleet side needs from the primary. */
export interface FleetMemberDeps {
  config(): Config;
  readonly history: ConfigHistory;
  cacheControl(command: ControlCommand, urls: string): Promise<{ status: number; body: unknown }>;
  /** Tag purge (in vhost `host`, or all): the same call as /command/purge?tag=. */
  cacheControlTags(command: ControlCommand, tags: string, host: string | null): Promise<{ status: number; body: unknown }>;
  /** The primary's reload (as SIGHUP), recording the snapshot. */
  reload(): { ok: boolean; problems?: readonly string[] };
  stats(): Promise<unknown>;
  summary(): Promise<{ healthy: boolean; requestsPerSec: number; requestHitRatio: number }>;
}

const STANDALONE: FleetAnswer = { status: 404, body: { error: 'this edge is not in a fleet: set <Cluster><Nats Url="nats://...">ON</Nats></Cluster> in server.xml' } };

export class FleetMember {
  readonly #deps: FleetMemberDeps;
  readonly #log: Logger;
  #node: FleetNode | null = null;

  constructor(deps: FleetMemberDeps, log: Logger) {
    this.#deps = deps;
    this.#log = log;
  }

  /** Joins the fleet when configured; resolves after the catch-up (or after `<Wait>` when NATS is away). */
  async start(cluster: ClusterConfig | null): Promise<void> {
    if (cluster === null) return;
    const { FleetNode } = await import('../fleet/fleet-node.js');
    const deps = this.#deps;
    this.#node = new FleetNode(
      cluster,
      {
        applyPurge: (command, target) => ('tags' in target ? deps.cacheControlTags(command, target.tags, target.vhost) : deps.cacheControl(command, target.urls)),
        applyConfig: (config) => this.#applyPushed(config),
        stats: () => deps.stats(),
        summary: () => deps.summary(),
        stateFile: join(historyDir(deps.config()), 'fleet-version.json'),
      },
      this.#log,
    );
    await this.#node.start();
  }

  /**
   * A pushed config: validated against this node's own server.xml (paths and certificates resolve here), then
   * written with the config history and applied as SIGHUP would; the previous files come back if the reload fails.
   */
  #applyPushed(pushed: PushedConfig): { ok: true } | { ok: false; problems: readonly string[] } {
    const config = this.#deps.config();
    const rules: RuleFileText[] = pushed.rules.map((r) => {
      const [, dir = '', file = ''] = r.path.split('/');
      return { path: r.path, vhost: dir.toLowerCase(), file, text: r.text };
    });
    try {
      const serverXml = readFileSync(join(config.confDir, 'server.xml'), 'utf8');
      loadConfigFromText(config.confDir, serverXml, pushed.vhosts, { ruleFiles: ruleFilesByVhost(rules) });
    } catch (error) {
      if (error instanceof ConfigError) return { ok: false, problems: error.problems };
      return { ok: false, problems: [(error as Error).message] };
    }
    const written = this.#deps.history.writePushed(config.confDir, pushed.vhosts, pushed.rules);
    if (!written.ok) return { ok: false, problems: [written.error] };
    const result = this.#deps.reload();
    if (!result.ok) {
      written.undo();
      return { ok: false, problems: result.problems ?? ['reload failed'] };
    }
    return { ok: true };
  }

  /** Runs a fleet call: 404 standalone, 503 while NATS is away, 400 for a request it cannot take. */
  async #call(run: (node: FleetNode) => Promise<unknown>): Promise<FleetAnswer> {
    const node = this.#node;
    if (node === null) return STANDALONE;
    try {
      return { status: 200, body: await run(node) };
    } catch (error) {
      if (error instanceof FlintError && error.code === 'FLINT_ERR_FLEET_UNAVAILABLE') return { status: 503, body: { error: error.message } };
      if (error instanceof FlintError && error.code === 'FLINT_ERR_FLEET_REQUEST') return { status: 400, body: { error: error.message } };
      this.#log.error({ event: 'fleet.command_failed', err: error }, 'fleet command failed');
      return { status: 502, body: { error: 'the fleet command failed on NATS (see the process log)' } };
    }
  }

  readonly views: FleetViews = {
    purge: (command: FleetCommand, target, group, waitMs) => this.#call((node) => node.purge(command, target, group, waitMs)),
    push: (config, rollbackOf, group, waitMs) =>
      this.#call((node) => node.push(config === null ? null : { ...config, from: node.nodeName, time: Date.now() }, rollbackOf, group, waitMs)),
    stats: (group, waitMs) => this.#call((node) => node.gatherStats(group, waitMs)),
    status: (group) => this.#call(async (node) => ({ group, nodes: await node.status(group) })),
  };

  async close(): Promise<void> {
    await this.#node?.close();
  }
}
