/**
 * @module policy/url-glob
 * URL path globs (STON's `$URL[...]` and ttl.txt/bypass.txt patterns) compiled once into one automaton per rule
 * list, so a request costs a walk over its own path segments, not one regex test per rule (the trie idea of
 * seed 003: the work depends on the path, not on how many rules there are).
 *
 * Glob syntax, matched against the normalised request path (never the query string):
 *   `/`              exactly the root; `*.html` does not cover it (as in STON)
 *   `/img/logo.png`  exactly that path
 *   `*` in a segment any run of characters inside one segment: `/img/*.jpg`, `/v*\/app.js`
 *   trailing `/*`    everything below (any depth), as STON's `/script/*`
 *   `**` segment     any number of segments (zero included): `/a/**\/b.js`
 *   no leading `/`   matches at any depth: `*.jpg` = `/**\/*.jpg` (an extension index answers these), `*` = all
 *
 * Structure: a trie over path segments (exact children in a Map, wildcard segments as a short list per node, `**`
 * as a node that may consume any number of segments) plus a Map from extension to the rules that are only
 * `*.ext`. `match` returns the indexes of the matching globs in ascending order, so callers that check further
 * conditions (status, method, headers) keep "first rule wins" by trying them in that order. Pure; runs in workers
 * (and in the primary to validate).
 */

/** Why a glob cannot be compiled, or null when it is fine. */
export function globProblem(glob: string): string | null {
  if (glob === '') return 'the URL pattern is empty';
  if (/\s/.test(glob) || [...glob].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return `the URL pattern ${JSON.stringify(glob)} contains whitespace or control characters`;
  if (glob.includes('?')) return `the URL pattern ${JSON.stringify(glob)} contains '?': patterns match the path only, never the query string`;
  if (glob.includes('#')) return `the URL pattern ${JSON.stringify(glob)} contains '#'`;
  return null;
}

interface Wild {
  readonly source: string;
  readonly test: RegExp;
  readonly node: Node;
}

interface Node {
  /** Exact segment -> child. */
  readonly exact: Map<string, Node>;
  /**
   * Segments with `*` inside, bucketed by their literal prefix (the text before the first `*`): a lookup tries only
   * the buckets whose prefix the segment starts with (one Map probe per distinct prefix length), so `v1*`..`v999*`
   * under one node cost a few probes, not a thousand regex tests. `wildLengths` lists the prefix lengths in use.
   */
  readonly wild: Map<string, Wild[]>;
  readonly wildLengths: number[];
  /** The `**` child: consumes any number of segments. */
  deep: Node | null;
  /** Indexes of the globs that end here. */
  readonly ends: number[];
  /** Indexes of the globs ending in `/*` here: they match one or more further segments (anything below). */
  readonly below: number[];
}

function newNode(): Node {
  return { exact: new Map(), wild: new Map(), wildLengths: [], deep: null, ends: [], below: [] };
}

/** Regex source of a glob where `*` is any run of characters and every other character is literal (not anchored). */
export function globSource(glob: string): string {
  return glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
}

/** One segment with `*` -> an anchored regex (other characters literal). */
function segmentRegex(segment: string, caseSensitive: boolean): RegExp {
  return new RegExp(`^${globSource(segment)}$`, caseSensitive ? '' : 'i');
}

/** A compiled set of globs; `match` answers which of them match a path. */
export class UrlGlobSet {
  readonly #root = newNode();
  /** Extension (after the last '.', lower-cased unless case-sensitive) -> indexes of `*.ext` globs. */
  readonly #byExtension = new Map<string, number[]>();
  /** Globs that match every path (`*`, `/*`, `**`). */
  readonly #all: number[] = [];
  readonly #caseSensitive: boolean;
  readonly size: number;

  /** Compiles `globs` (index = position); throws on a glob globProblem rejects (validation catches those first). */
  constructor(globs: readonly string[], caseSensitive: boolean) {
    this.#caseSensitive = caseSensitive;
    this.size = globs.length;
    globs.forEach((glob, index) => this.#add(glob, index));
  }

  #add(raw: string, index: number): void {
    const problem = globProblem(raw);
    if (problem !== null) throw new Error(problem);
    const glob = this.#caseSensitive ? raw : raw.toLowerCase();
    if (glob === '*' || glob === '/*' || glob === '**' || glob === '/**') {
      this.#all.push(index);
      return;
    }
    // Only a one-dot suffix is an extension: a request's is looked up after its last dot, so `*.tar.gz` goes
    // through the trie as `/**/*.tar.gz` instead (keyed `tar.gz`, it could never match).
    const ext = /^\*\.([^/*.]+)$/.exec(glob);
    if (ext !== null) {
      const key = ext[1] as string;
      const list = this.#byExtension.get(key);
      if (list === undefined) this.#byExtension.set(key, [index]);
      else list.push(index);
      return;
    }
    const rooted = glob.startsWith('/') ? glob : `/**/${glob}`;
    const segments = rooted.slice(1).split('/');
    let node = this.#root;
    if (segments.length > 1 && segments[segments.length - 1] === '*') {
      segments.pop();
      for (const segment of segments) node = this.#step(node, segment);
      node.below.push(index);
      return;
    }
    for (const segment of segments) node = this.#step(node, segment);
    node.ends.push(index);
  }

  /** The child of `node` for one pattern segment, created if new. */
  #step(node: Node, segment: string): Node {
    if (segment === '**') {
      node.deep ??= newNode();
      return node.deep;
    }
    const star = segment.indexOf('*');
    if (star >= 0) {
      const prefix = segment.slice(0, star);
      let bucket = node.wild.get(prefix);
      if (bucket === undefined) {
        bucket = [];
        node.wild.set(prefix, bucket);
        if (!node.wildLengths.includes(prefix.length)) node.wildLengths.push(prefix.length);
      }
      const existing = bucket.find((w) => w.source === segment);
      if (existing !== undefined) return existing.node;
      const child = newNode();
      bucket.push({ source: segment, test: segmentRegex(segment, this.#caseSensitive), node: child });
      return child;
    }
    let child = node.exact.get(segment);
    if (child === undefined) {
      child = newNode();
      node.exact.set(segment, child);
    }
    return child;
  }

  /** Indexes of the globs matching `path` (a normalised absolute path), ascending; [] when none. Read-only. */
  match(path: string): number[] {
    const p = this.#caseSensitive ? path : path.toLowerCase();
    if (this.#byExtension.size === 0 && this.#all.length === 0 && this.#root.exact.size === 0 && this.#root.wild.size === 0 && this.#root.deep === null) return NONE;
    const out: number[] = this.#all.length === 0 ? [] : this.#all.slice();
    if (this.#byExtension.size > 0) {
      const slash = p.lastIndexOf('/');
      const dot = p.lastIndexOf('.');
      if (dot > slash) {
        const list = this.#byExtension.get(p.slice(dot + 1));
        if (list !== undefined) for (const i of list) out.push(i);
      }
    }
    const root = this.#root;
    if (root.exact.size > 0 || root.wild.size > 0 || root.deep !== null) walk(root, p.slice(1).split('/'), 0, out);
    if (out.length === 0) return NONE;
    if (out.length < 2) return out;
    out.sort((a, b) => a - b);
    let w = 1;
    for (let r = 1; r < out.length; r++) if (out[r] !== out[w - 1]) out[w++] = out[r] as number;
    out.length = w;
    return out;
  }
}

/** The shared empty result (never mutated by callers: `match` is documented read-only). */
const NONE: number[] = [];

function walk(node: Node, segments: readonly string[], i: number, out: number[]): void {
  if (node.deep !== null) for (let j = i; j <= segments.length; j++) walk(node.deep, segments, j, out);
  if (i === segments.length) {
    for (const e of node.ends) out.push(e);
    return;
  }
  for (const b of node.below) out.push(b);
  const segment = segments[i] as string;
  const child = node.exact.get(segment);
  if (child !== undefined) walk(child, segments, i + 1, out);
  for (const length of node.wildLengths) {
    if (length > segment.length) continue;
    const bucket = node.wild.get(segment.slice(0, length));
    if (bucket !== undefined) for (const w of bucket) if (w.test.test(segment)) walk(w.node, segments, i + 1, out);
  }
}
