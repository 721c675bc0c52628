/**
 * @module admin/redact
 * What the User role must not see: file paths of the host (cache disks, conf and history directories, log files).
 * The paths come from the running config (every disk's `path`, and every setting whose name ends in `Path` or
 * `Dir`), so a setting added later is covered without a change here; each is replaced wherever it appears in an
 * answer body (raw, JSON- or XML-escaped, also as a prefix of a longer path): disk i becomes `disk<i>`, the others
 * `(hidden path)`. Applied to the whole text of an answer, so documents added to /stats later are covered too.
 * Pure; runs in the primary.
 */
import type { Config } from '../config/types.js';

const HIDDEN = '(hidden path)';

/** Absolute path values of settings named `...Path`, `...Dir` or `dir` anywhere in the config. */
function settingPaths(value: unknown, out: Set<string>, key = ''): void {
  if (typeof value === 'string') {
    if (/(?:Path|Dir)$|^dir$/.test(key) && value.startsWith('/') && value.length > 1) out.add(value);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) for (const item of value) settingPaths(item, out, key);
  else for (const [k, v] of Object.entries(value)) settingPaths(v, out, k);
}

const xmlEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

export class PathRedactor {
  /** [form as it may appear in a body, replacement], longest first (so `/a/b2` is not cut as `/a/b` + `2`). */
  readonly #pairs: Array<[string, string]> = [];

  constructor(config: Config) {
    const replacements = new Map<string, string>();
    config.server.storage.disks.forEach((disk, i) => replacements.set(disk.path, `disk${i}`));
    const others = new Set<string>([config.confDir]);
    settingPaths(config, others);
    for (const path of others) if (!replacements.has(path)) replacements.set(path, HIDDEN);
    for (const [path, label] of replacements) {
      for (const form of new Set([path, JSON.stringify(path).slice(1, -1), xmlEscape(path)])) this.#pairs.push([form, label]);
    }
    this.#pairs.sort((a, b) => b[0].length - a[0].length);
  }

  /** `text` with every known path replaced. */
  redact(text: string): string {
    let out = text;
    for (const [form, label] of this.#pairs) if (out.includes(form)) out = out.split(form).join(label);
    return out;
  }
}
