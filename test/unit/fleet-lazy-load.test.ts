/**
 * A standalone edge never loads the NATS client: walks the static imports (`import ... from`, `export ... from`,
 * `import '...'`) of the built entry points (the flint command and the worker) and checks that none reaches the
 * `nats` package; src/fleet/ modules that use it are reached only through the primary's dynamic import, made
 * only when <Cluster><Nats> is ON (primary/fleet-member.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../../', import.meta.url));
/** Static import/export-from specifiers; `import(...)` (dynamic) does not match. */
const STATIC_IMPORT = /^\s*(?:import|export)\s+(?:[^'"()]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

function staticGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (graph.has(file)) continue;
    const specifiers = [...readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)].map((m) => m[1] as string);
    graph.set(file, specifiers);
    for (const specifier of specifiers) {
      if (!specifier.startsWith('.')) continue;
      const target = join(dirname(file), specifier);
      if (existsSync(target)) queue.push(target);
    }
  }
  return graph;
}

test('neither the flint command nor a worker statically imports the nats client', () => {
  for (const entry of ['src/main.js', 'workers/edge.js']) {
    const graph = staticGraph(join(DIST, entry));
    assert.ok(graph.size > 20, `${entry}: the walk found its imports (${graph.size})`);
    const natsImporters = [...graph].filter(([, specifiers]) => specifiers.some((s) => s === 'nats' || s.startsWith('nats/'))).map(([file]) => relative(DIST, file));
    assert.deepEqual(natsImporters, [], `${entry} reaches the nats client statically`);
  }
  // The walk does see the fleet modules that import it when started from them.
  const fleet = staticGraph(join(DIST, 'src/fleet/fleet-node.js'));
  assert.ok([...fleet.values()].some((specifiers) => specifiers.includes('nats')));
});
