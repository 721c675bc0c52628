/**
 * @module config/known-elements
 * Known elements and attributes, derived from the schema table (config/schema.ts), with a "did you mean"
 * suggestion for typos. Part of config validation; runs in the primary and in `flint check-config`.
 */
import { SETTINGS } from './schema.js';
import type { Setting } from './schema.js';

export interface Shape {
  readonly children: Set<string>;
  readonly attrs: Set<string>;
  /** Some setting is this element's text. */
  takesText: boolean;
}

/** Where a schema path can appear in the files: `Vhost/...` is under `Vhosts/Vhost` and, if inherited, VHostDefault. */
export function concretePaths(setting: Setting): string[] {
  if (setting.path.startsWith('Server/') || setting.path.startsWith('Vhosts/')) return [setting.path];
  const inVhost = `Vhosts/${setting.path}`;
  return setting.inherit === true ? [inVhost, `Server/VHostDefault${setting.path.slice('Vhost'.length)}`] : [inVhost];
}

export function buildShapes(): ReadonlyMap<string, Shape> {
  const shapes = new Map<string, Shape>();
  const shapeAt = (p: string): Shape => {
    let shape = shapes.get(p);
    if (shape === undefined) {
      shape = { children: new Set(), attrs: new Set(), takesText: false };
      shapes.set(p, shape);
    }
    return shape;
  };
  for (const setting of SETTINGS) {
    for (const concrete of concretePaths(setting)) {
      const [elementPath = '', attr] = concrete.split('@');
      const segments = elementPath.split('/');
      for (let i = 0; i < segments.length; i++) {
        const here = shapeAt(segments.slice(0, i + 1).join('/'));
        const next = segments[i + 1];
        if (next !== undefined) here.children.add(next);
      }
      if (attr === undefined) shapeAt(elementPath).takesText = true;
      else shapeAt(elementPath).attrs.add(attr);
    }
  }
  return shapes;
}

export const SHAPES = buildShapes();
/**
 * Element paths that may repeat. By path, not by name: `<Key>` repeats in `<SignedUrl>` but not in `<Https>`, where
 * a second one is still reported.
 */
export const REPEATED = new Set(['Vhosts/Vhost', 'Vhosts/URLRewrite', ...SETTINGS.filter((s) => s.repeated === true).flatMap((s) => concretePaths(s).map((p) => p.split('@')[0] ?? p))]);

/** Optimal string alignment distance (an adjacent swap counts 1), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= s.length; i++) {
    const row = d[i];
    if (row === undefined) continue;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(s.length, t.length);
}

/** The known name closest to `name`, if it is near enough to be a typo. */
export function closest(name: string, known: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
