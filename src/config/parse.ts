/**
 * @module config/parse
 * XML text -> raw tree; the only importer of fast-xml-parser. The tree is `unknown` on purpose: config/validate.ts
 * narrows it. Shape: attributes as `@_Name` keys, element text as a string (or `#text` when the element also has
 * attributes), repeated elements (REPEATED_ELEMENTS) always as arrays; comments, the XML declaration and
 * processing instructions are dropped; values stay strings. Runs in the primary (and the check-config CLI).
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { REPEATED_ELEMENTS } from './schema.js';

/** A parsed file, or the one problem that stopped parsing (`server.xml: line 3, column 5: ...`). */
export type ParseResult = { readonly ok: true; readonly tree: unknown } | { readonly ok: false; readonly problem: string };

/** Prefix of attribute keys in the raw tree (`@_Port`). */
export const ATTRIBUTE_PREFIX = '@_';
/** Key of an element's text in the raw tree when the element also has attributes or children. */
export const TEXT_KEY = '#text';

const REPEATED = new Set(REPEATED_ELEMENTS);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTRIBUTE_PREFIX,
  textNodeName: TEXT_KEY,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (tagName: string, _jPath: unknown, _isLeaf: boolean, isAttribute: boolean) => !isAttribute && REPEATED.has(tagName),
});

/** Parses `text` (the contents of `fileName`, used only to name it in the problem). Never throws. */
export function parseXml(fileName: string, text: string): ParseResult {
  const xml = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (xml.trim() === '') return { ok: false, problem: `${fileName}: the file is empty` };
  // The validator reports line and column; the parser alone would accept some broken input silently.
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    const where = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    return { ok: false, problem: `${fileName}: ${where}: malformed XML: ${msg}` };
  }
  try {
    return { ok: true, tree: parser.parse(xml) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, problem: `${fileName}: malformed XML: ${message}` };
  }
}

const builder = new XMLBuilder({ format: true, ignoreAttributes: true, suppressEmptyNode: true });

/**
 * A plain JSON-like value as an XML document under `<root>` (the management API's `type=xml` answers; kept here
 * so fast-xml-parser has one importer): object keys become elements, arrays repeated elements of their key.
 */
export function buildXml(root: string, value: unknown): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: value }) as string}`;
}
