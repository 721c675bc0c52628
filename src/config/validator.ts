/**
 * @module config/validator
 * The Validator: collects problems (file, element path, what is wrong), checks each element against the
 * known shapes, and reads one setting at a time with its schema default (`one`, `optional`, `many`). The
 * readers (config/read-*.ts) use it to build each part of the Config. Runs in the primary and in `flint check-config`.
 */
import { getSetting } from './schema.js';
import type { Setting } from './schema.js';
import type { HttpsConfig, ListenAddress, OriginOptions, MediaConfig, VhostClientLimits, VhostLog, VhostOptions } from './types.js';
import { isRecord, toElement, childElements } from './xml-tree.js';
import type { FileName, XmlElement } from './xml-tree.js';
import { SHAPES, REPEATED, closest } from './known-elements.js';
import { quote } from './value-types.js';
import type { ValueType } from './value-types.js';

/**
 * Where settings are read from: `element` is the element the setting paths starting with `prefix` are relative to
 * (`Vhost/...` settings against one <Vhost> or against <VHostDefault>). `element` undefined = absent in the file.
 */
export interface Scope {
  readonly file: FileName;
  readonly element: XmlElement | undefined;
  readonly where: string;
  readonly prefix: string;
}

/** The settings <VHostDefault> provides and each vhost inherits. */
export interface VhostDefaults {
  readonly listen: readonly ListenAddress[];
  readonly https: HttpsConfig | null;
  readonly redirectHttpToHttps: 301 | 302 | 307 | 308 | null;
  readonly originOptions: OriginOptions;
  readonly options: VhostOptions;
  readonly log: VhostLog;
  readonly clientLimits: VhostClientLimits;
  readonly media: MediaConfig;
}

export interface Found {
  readonly text: string;
  readonly where: string;
}

export class Validator {
  /** Every problem found so far, in the order found. */
  readonly problems: string[] = [];
  readonly installDir: string;
  readonly ruleFiles: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** `<ServiceAccess GeoIP>` is present (whether or not its file could be opened). */
  geoIpNamed = false;

  constructor(installDir: string, ruleFiles: Readonly<Record<string, Readonly<Record<string, string>>>>) {
    this.installDir = installDir;
    this.ruleFiles = ruleFiles;
  }

  report(file: FileName, where: string, what: string): void {
    this.problems.push(`${file}: ${where}: ${what}`);
  }

  /** The root element of a raw tree if it is the one expected. */
  root(file: FileName, raw: unknown, expected: string): XmlElement | undefined {
    const names = isRecord(raw) ? Object.keys(raw) : [];
    if (names.length !== 1 || names[0] !== expected) {
      const found = names.length === 0 ? 'no root element' : `root element ${names.map((n) => `<${n}>`).join(', ')}`;
      this.problems.push(`${file}: found ${found}; expected exactly one root element <${expected}>`);
      return undefined;
    }
    const value = isRecord(raw) ? raw[expected] : undefined;
    if (!Array.isArray(value)) return toElement(value, expected, '', '', 1);
    // The parser turns repeated same-named elements into an array, roots included.
    if (value.length !== 1) {
      this.problems.push(`${file}: found ${value.length} root elements <${expected}>; expected exactly one`);
      return undefined;
    }
    return toElement(value[0], expected, '', '', 1);
  }

  /** Reports unknown elements and attributes, text where none belongs, and repeats of single elements. */
  checkShape(file: FileName, element: XmlElement): void {
    const shape = SHAPES.get(element.shapePath);
    if (shape === undefined) return;
    for (const attr of element.attrs.keys()) {
      if (shape.attrs.has(attr)) continue;
      let hint: string;
      if (shape.children.has(attr)) hint = `${attr} is an element here: write <${attr}>...</${attr}> inside <${element.name}>`;
      else if (shape.attrs.size === 0) hint = `<${element.name}> takes no attributes`;
      else {
        const near = closest(attr, shape.attrs);
        hint = near !== undefined ? `did you mean ${near}?` : `expected one of ${[...shape.attrs].join(', ')}`;
      }
      this.report(file, `${element.where}@${attr}`, `unknown attribute; ${hint}`);
    }
    if (element.text !== '' && !shape.takesText) {
      const shown = element.text.length > 40 ? `${element.text.slice(0, 40)}...` : element.text;
      this.report(file, element.where, `unexpected text ${quote(shown)}; <${element.name}> holds only elements`);
    }
    const counts = new Map<string, number>();
    for (const child of element.children) {
      const count = (counts.get(child.name) ?? 0) + 1;
      counts.set(child.name, count);
      if (!shape.children.has(child.name)) {
        let hint: string;
        if (shape.attrs.has(child.name)) hint = `${child.name} is an attribute here: <${element.name} ${child.name}="...">`;
        else if (shape.children.size === 0) hint = `<${element.name}> takes no child elements`;
        else {
          const near = closest(child.name, shape.children);
          hint = near !== undefined ? `did you mean <${near}>?` : `expected one of ${[...shape.children].map((c) => `<${c}>`).join(', ')}`;
        }
        if (count === 1) this.report(file, child.where, `unknown element; ${hint}`);
        continue;
      }
      if (count === 2 && !REPEATED.has(child.shapePath)) {
        const total = element.children.filter((c) => c.name === child.name).length;
        this.report(file, child.where, `appears ${total} times; only one is allowed`);
      }
      this.checkShape(file, child);
    }
  }

  /** Every value of `setting` present in `scope` (elements' text or attributes), in document order. */
  locate(scope: Scope, setting: Setting): Found[] {
    const rest = setting.path.slice(scope.prefix.length);
    if (!setting.path.startsWith(scope.prefix) || !(rest === '' || rest.startsWith('/') || rest.startsWith('@'))) {
      throw new Error(`config/validate: ${setting.path} read in ${scope.prefix} scope`);
    }
    const [elementRel = '', attr] = rest.split('@');
    let elements = scope.element === undefined ? [] : [scope.element];
    for (const segment of elementRel.split('/').filter((s) => s !== '')) {
      elements = elements.flatMap((e) => childElements(e, segment));
    }
    if (attr === undefined) return elements.map((e) => ({ text: e.text, where: e.where }));
    return elements.flatMap((e) => {
      const text = e.attrs.get(attr);
      return text === undefined ? [] : [{ text, where: `${e.where}@${attr}` }];
    });
  }

  /** Where a missing setting would have been. */
  missingWhere(scope: Scope, setting: Setting): string {
    return `${scope.where}${setting.path.slice(scope.prefix.length)}`;
  }

  #parse<T>(scope: Scope, found: Found, setting: Setting, type: ValueType<T>): T | undefined {
    if (found.text === '') {
      this.report(scope.file, found.where, 'is empty');
      return undefined;
    }
    const parsed = type.parse(found.text, setting, this.installDir);
    if (parsed.ok) return parsed.value;
    this.report(scope.file, found.where, parsed.error);
    return undefined;
  }

  #setting(settingPath: string, type: ValueType<unknown>): Setting {
    const setting = getSetting(settingPath);
    if (setting.type !== type.type) throw new Error(`config/validate: ${settingPath} is ${setting.type}, read as ${type.type}`);
    return setting;
  }

  /** The schema default of a setting, parsed (the first one for repeated settings). */
  #defaultOf<T>(setting: Setting, type: ValueType<T>): T {
    const text = typeof setting.default === 'string' ? setting.default : setting.default?.[0];
    const parsed = text === undefined ? undefined : type.parse(text, setting, this.installDir);
    if (parsed === undefined || !parsed.ok) throw new Error(`config/validate: no valid default for ${setting.path}`);
    return parsed.value;
  }

  /** A single-valued setting: the value in `scope`, else `inherited` (when given), else the schema default. */
  one<T>(scope: Scope, settingPath: string, type: ValueType<T>, inherited?: T): T {
    const setting = this.#setting(settingPath, type);
    const found = this.locate(scope, setting)[0];
    const value = found === undefined ? undefined : this.#parse(scope, found, setting, type);
    if (value !== undefined) return value;
    return inherited !== undefined ? inherited : this.#defaultOf(setting, type);
  }

  /** A single-valued setting without a default: null when absent (or reported missing when required). */
  optional<T>(scope: Scope, settingPath: string, type: ValueType<T>): T | null {
    const setting = this.#setting(settingPath, type);
    const found = this.locate(scope, setting)[0];
    if (found === undefined) {
      if (setting.required === true) this.report(scope.file, this.missingWhere(scope, setting), 'missing; it is required');
      return null;
    }
    return this.#parse(scope, found, setting, type) ?? null;
  }

  /** A repeated setting: the valid values present in `scope`, or undefined when none is present at all. */
  many<T>(scope: Scope, settingPath: string, type: ValueType<T>): T[] | undefined {
    const setting = this.#setting(settingPath, type);
    const found = this.locate(scope, setting);
    if (found.length === 0) {
      if (setting.required === true) this.report(scope.file, this.missingWhere(scope, setting), 'missing; at least one is required');
      return undefined;
    }
    const values: T[] = [];
    for (const item of found) {
      const value = this.#parse(scope, item, setting, type);
      if (value !== undefined) values.push(value);
    }
    return values;
  }

  /** Every schema default of a repeated setting, parsed. */
  defaultsOf<T>(settingPath: string, type: ValueType<T>): T[] {
    const setting = this.#setting(settingPath, type);
    const texts = Array.isArray(setting.default) ? setting.default : [];
    return texts.map((text: string) => {
      const parsed = type.parse(text, setting, this.installDir);
      if (!parsed.ok) throw new Error(`config/validate: invalid default ${text} for ${settingPath}`);
      return parsed.value;
    });
  }
}
