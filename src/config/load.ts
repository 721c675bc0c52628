/**
 * @module config/load
 * Reads `<confDir>/server.xml` and `<confDir>/vhosts.xml` (plus STON's rule files `svc/<vhost>/*.txt`:
 * ttl, bypass, querystring, acl; any other one is a config error), parses both (config/parse.ts), hashes them and validates them
 * together (config/validate.ts). All problems of both files are reported in one ConfigError. Synchronous: it
 * runs at start and on SIGHUP reload in the primary, and in `flint check-config`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { parseXml } from './parse.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

/** Options of loadConfig / loadConfigFromText. */
export interface LoadOptions {
  /** What `<Workers>0` resolves to; default os.availableParallelism(). */
  readonly cpuCount?: number;
  /** Rule txt files by vhost and file name (loadConfig reads them from svc/); none when absent. */
  readonly ruleFiles?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Reads, parses and validates the conf directory (relative to the cwd if not absolute). Throws ConfigError. */
export function loadConfig(confDir: string, opts: LoadOptions = {}): Config {
  const dir = path.resolve(confDir);
  const problems: string[] = [];
  const read = (file: string): string => {
    const filePath = path.join(dir, file);
    try {
      return readFileSync(filePath, 'utf8');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      problems.push(`${filePath}: cannot read: ${reason}`);
      return '';
    }
  };
  const serverXml = read('server.xml');
  const vhostsXml = read('vhosts.xml');
  const ruleFiles = readRuleFiles(dir, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return loadConfigFromText(dir, serverXml, vhostsXml, { ...opts, ruleFiles });
}

/** One rule txt file present in the conf directory: its path relative to it (`svc/<dir>/<file>`) and contents. */
export interface RuleFileText {
  /** `svc/<vhost dir as on disk>/<file>`, with `/` separators. */
  readonly path: string;
  /** The vhost directory name, lower-cased (the key of LoadOptions.ruleFiles). */
  readonly vhost: string;
  readonly file: string;
  readonly text: string;
}

/**
 * STON's per-vhost rule files, every `<confDir>/svc/<vhost>/*.txt` present, in the order
 * the hash takes them (vhost directory, then file). A missing svc/ or file is simply no rules; any other read
 * error is pushed onto `problems`. Also used by primary/config-history.ts, so snapshots hold the same set.
 */
export function listRuleFiles(confDir: string, problems: string[]): RuleFileText[] {
  const svc = path.join(confDir, 'svc');
  let vhostDirs: string[];
  try {
    vhostDirs = readdirSync(svc, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
  const out: RuleFileText[] = [];
  for (const vhost of vhostDirs) {
    // Every `*.txt`, not only the ones Flint reads: validation reports the others (nothing is ignored silently).
    let names: string[];
    try {
      names = readdirSync(path.join(svc, vhost), { withFileTypes: true }).filter((d) => d.isFile() && d.name.endsWith('.txt')).map((d) => d.name).sort();
    } catch (err) {
      problems.push(`${path.join(svc, vhost)}: cannot list: ${(err as Error).message}`);
      continue;
    }
    for (const file of names) {
      const filePath = path.join(svc, vhost, file);
      try {
        out.push({ path: `svc/${vhost}/${file}`, vhost: vhost.toLowerCase(), file, text: readFileSync(filePath, 'utf8') });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${filePath}: cannot read: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

/** Rule files by lower-cased vhost directory name -> file name -> contents (per file, a later directory of the same lower-cased name wins). */
export function ruleFilesByVhost(files: readonly RuleFileText[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const f of files) {
    const forVhost = out[f.vhost] ?? {};
    forVhost[f.file] = f.text;
    out[f.vhost] = forVhost;
  }
  return out;
}

function readRuleFiles(dir: string, problems: string[]): Record<string, Record<string, string>> {
  return ruleFilesByVhost(listRuleFiles(dir, problems));
}

/**
 * The config hash (Config.hash): sha1 of server.xml, vhosts.xml and the rule files. Without rule files it is the
 * two files' hash as before rule files were read.
 */
export function hashConfigText(serverXml: string, vhostsXml: string, ruleFiles: Readonly<Record<string, Readonly<Record<string, string>>>>): string {
  const sha = createHash('sha1').update(serverXml).update('\0').update(vhostsXml);
  for (const vhost of Object.keys(ruleFiles).sort()) {
    const files = ruleFiles[vhost] ?? {};
    for (const file of Object.keys(files).sort()) sha.update(`\0svc/${vhost}/${file}\0`).update(files[file] ?? '');
  }
  return sha.digest('hex');
}

/** As loadConfig, with the two files' contents given (for tests and uploads); `confDir` still anchors paths. */
export function loadConfigFromText(confDir: string, serverXml: string, vhostsXml: string, opts: LoadOptions = {}): Config {
  const server = parseXml('server.xml', serverXml);
  const vhosts = parseXml('vhosts.xml', vhostsXml);
  const problems = [server, vhosts].flatMap((r) => (r.ok ? [] : [r.problem]));
  if (!server.ok || !vhosts.ok) throw new ConfigError(problems);
  // Rule files change the config too (a reload must see them).
  const ruleFiles = opts.ruleFiles ?? {};
  const hash = hashConfigText(serverXml, vhostsXml, ruleFiles);
  const sources = { confDir: path.resolve(confDir), hash, server: server.tree, vhosts: vhosts.tree, ruleFiles };
  return opts.cpuCount === undefined ? validateConfig(sources) : validateConfig(sources, opts.cpuCount);
}
