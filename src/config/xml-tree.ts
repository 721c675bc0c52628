/**
 * @module config/xml-tree
 * The raw tree of an XML file (config/parse.ts output) narrowed to `XmlElement`s that carry their path for
 * problem messages. Part of config validation; runs in the primary and in `flint check-config`.
 */
import { ATTRIBUTE_PREFIX, TEXT_KEY } from './parse.js';
import type { RULE_KINDS } from './rules.js';

export type FileName = 'server.xml' | 'vhosts.xml';
/** The lists a `<MatchingList Target>` may hold. */
export type ListKind = keyof typeof RULE_KINDS | 'acl' | 'headers' | 'compression' | 'throttling';

/** One element of a raw tree, narrowed from `unknown`. */
export interface XmlElement {
  readonly name: string;
  /** Path for problems, with vhosts labelled: `Vhosts/Vhost[Name=a.com]/Origin`. */
  readonly where: string;
  /** Path in schema terms (no labels): `Vhosts/Vhost/Origin`. */
  readonly shapePath: string;
  readonly attrs: ReadonlyMap<string, string>;
  /** Trimmed text content; '' when none. */
  readonly text: string;
  readonly children: readonly XmlElement[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function scalarText(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

/** Narrows one raw element; `index` is its 1-based position among same-named siblings (labels an unnamed Vhost). */
export function toElement(raw: unknown, name: string, parentWhere: string, parentShape: string, index: number): XmlElement {
  const attrs = new Map<string, string>();
  let text = '';
  const rawChildren: Array<[string, unknown]> = [];
  if (isRecord(raw)) {
    for (const [key, value] of Object.entries(raw)) {
      if (key.startsWith(ATTRIBUTE_PREFIX)) attrs.set(key.slice(ATTRIBUTE_PREFIX.length), scalarText(value));
      else if (key === TEXT_KEY) text = scalarText(value);
      else rawChildren.push([key, value]);
    }
  } else {
    text = scalarText(raw);
  }
  let label = name;
  if (name === 'Vhost') {
    const vhostName = attrs.get('Name');
    label = vhostName !== undefined && vhostName !== '' ? `Vhost[Name=${vhostName}]` : `Vhost[${index}]`;
  }
  const where = parentWhere === '' ? label : `${parentWhere}/${label}`;
  const shapePath = parentShape === '' ? name : `${parentShape}/${name}`;
  const children: XmlElement[] = [];
  for (const [childName, value] of rawChildren) {
    const items: readonly unknown[] = Array.isArray(value) ? value : [value];
    items.forEach((item, i) => children.push(toElement(item, childName, where, shapePath, i + 1)));
  }
  return { name, where, shapePath, attrs, text, children };
}

export function childElements(parent: XmlElement | undefined, name: string): XmlElement[] {
  return parent === undefined ? [] : parent.children.filter((c) => c.name === name);
}
