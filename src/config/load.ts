/**
 * @module config/load
 * Reads `<confDir>/server.xml` and `<confDir>/vhosts.xml` (plus STON's rule files `svc/<vhost>/ttl.txt`,
 * `bypass.txt`, `querystring.txt` where present), parses both (config/parse.ts), hashes them and validates them
 * together (config/validate.ts). All problems of both files are reported in one ConfigError. Synchronous: it
 * runs at start and on SIGHUP reload in the primary, and in `flint check-config`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { parseXml } from './parse.js';
import { RULE_KINDS } from './rules.js';
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

/**
 * STON's per-vhost rule files, `<confDir>/svc/<vhost>/{ttl,bypass,querystring}.txt`, where present: vhost
 * directory name (lower-cased) -> file name -> contents. A missing svc/ or file is simply no rules.
 */
function readRuleFiles(dir: string, problems: string[]): Record<string, Record<string, string>> {
  const svc = path.join(dir, 'svc');
  let vhostDirs: string[];
  try {
    vhostDirs = readdirSync(svc, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return {};
  }
  const out: Record<string, Record<string, string>> = {};
  for (const vhost of vhostDirs) {
    const files: Record<string, string> = {};
    for (const kind of Object.values(RULE_KINDS)) {
      const filePath = path.join(svc, vhost, kind.file);
      try {
        files[kind.file] = readFileSync(filePath, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${filePath}: cannot read: ${(err as Error).message}`);
      }
    }
    if (Object.keys(files).length > 0) out[vhost.toLowerCase()] = files;
  }
  return out;
}

/** As loadConfig, with the two files' contents given (for tests and uploads); `confDir` still anchors paths. */
export function loadConfigFromText(confDir: string, serverXml: string, vhostsXml: string, opts: LoadOptions = {}): Config {
  const server = parseXml('server.xml', serverXml);
  const vhosts = parseXml('vhosts.xml', vhostsXml);
  const problems = [server, vhosts].flatMap((r) => (r.ok ? [] : [r.problem]));
  if (!server.ok || !vhosts.ok) throw new ConfigError(problems);
  const sha = createHash('sha1').update(serverXml).update('\0').update(vhostsXml);
  // Rule files change the config too (a reload must see them); without any the hash is the two files' as before.
  const ruleFiles = opts.ruleFiles ?? {};
  for (const vhost of Object.keys(ruleFiles).sort()) {
    const files = ruleFiles[vhost] ?? {};
    for (const file of Object.keys(files).sort()) sha.update(`\0svc/${vhost}/${file}\0`).update(files[file] ?? '');
  }
  const hash = sha.digest('hex');
  const sources = { confDir: path.resolve(confDir), hash, server: server.tree, vhosts: vhosts.tree, ruleFiles };
  return opts.cpuCount === undefined ? validateConfig(sources) : validateConfig(sources, opts.cpuCount);
}
