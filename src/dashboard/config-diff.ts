/**
 * @module dashboard/config-diff
 * A line diff between two config snapshots (primary/config-history.ts) for the dashboard: per file (server.xml,
 * vhosts.xml, svc rule files), added, removed or changed, with the changed lines and CONTEXT lines around them.
 * Common head and tail are trimmed first; the middle is diffed by longest common subsequence, bounded: above
 * MAX_CELLS comparisons the middle is shown as removed then added (configs are small; the bound keeps a huge file
 * from stalling the primary). The manager token is masked in every line (a screenshot of the page must not leak it).
 * Pure; runs in the primary.
 */

/** Unchanged lines shown around a change. */
const CONTEXT = 3;
/** Largest LCS table (lines x lines) computed. */
const MAX_CELLS = 4_000_000;

export interface DiffLine {
  /** ' ' unchanged, '-' only in `from`, '+' only in `to`, '~' a run of unchanged lines left out. */
  readonly op: ' ' | '-' | '+' | '~';
  readonly text: string;
}

export interface FileDiff {
  readonly file: string;
  readonly status: 'added' | 'removed' | 'changed';
  readonly lines: readonly DiffLine[];
}

/** `Token="..."` (the <Manager> attribute) with its value masked. */
export function maskSecrets(line: string): string {
  return line.replace(/(\bToken\s*=\s*)("[^"]*"|'[^']*')/gi, '$1"(hidden)"');
}

/** The files that differ between two snapshots, by relative path, in path order. */
export function diffConfigs(from: ReadonlyMap<string, string>, to: ReadonlyMap<string, string>): FileDiff[] {
  const names = [...new Set([...from.keys(), ...to.keys()])].sort();
  const out: FileDiff[] = [];
  for (const file of names) {
    const a = from.get(file);
    const b = to.get(file);
    if (a === b) continue;
    const status = a === undefined ? 'added' : b === undefined ? 'removed' : 'changed';
    out.push({ file, status, lines: withContext(diffLines(splitLines(a ?? ''), splitLines(b ?? ''))) });
  }
  return out;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map(maskSecrets);
}

/** Every line of the two texts with its op, in order. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const out: DiffLine[] = a.slice(0, head).map((text) => ({ op: ' ', text }));
  if (midA.length * midB.length > MAX_CELLS) {
    for (const text of midA) out.push({ op: '-', text });
    for (const text of midB) out.push({ op: '+', text });
  } else {
    out.push(...lcsDiff(midA, midB));
  }
  for (const text of a.slice(a.length - tail)) out.push({ op: ' ', text });
  return out;
}

function lcsDiff(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  // lengths[i][j] = LCS of a[i..] and b[j..], in one typed array.
  const width = m + 1;
  const lengths = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * width + j] = a[i] === b[j] ? (lengths[(i + 1) * width + j + 1] as number) + 1 : Math.max(lengths[(i + 1) * width + j] as number, lengths[i * width + j + 1] as number);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i] as string });
      i++;
      j++;
    } else if ((lengths[(i + 1) * width + j] as number) >= (lengths[i * width + j + 1] as number)) out.push({ op: '-', text: a[i++] as string });
    else out.push({ op: '+', text: b[j++] as string });
  }
  while (i < n) out.push({ op: '-', text: a[i++] as string });
  while (j < m) out.push({ op: '+', text: b[j++] as string });
  return out;
}

/** Keeps CONTEXT unchanged lines around each change; longer unchanged runs become one '~' line saying how many. */
function withContext(lines: readonly DiffLine[]): DiffLine[] {
  const keep = new Uint8Array(lines.length);
  lines.forEach((line, index) => {
    if (line.op === ' ') return;
    for (let k = Math.max(0, index - CONTEXT); k <= Math.min(lines.length - 1, index + CONTEXT); k++) keep[k] = 1;
  });
  const out: DiffLine[] = [];
  let skipped = 0;
  lines.forEach((line, index) => {
    if (keep[index] === 1) {
      if (skipped > 0) out.push({ op: '~', text: `${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
      skipped = 0;
      out.push(line);
    } else skipped++;
  });
  if (skipped > 0) out.push({ op: '~', text: `${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
  return out;
}
