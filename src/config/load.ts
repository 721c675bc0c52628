/**
 * @module config/load
 * Reads `<confDir>/server.xml` and `<confDir>/vhosts.xml`, parses both (config/parse.ts), hashes them and validates
 * them together (config/validate.ts). All problems of both files are reported in one ConfigError. Synchronous: it
 * runs at start and on SIGHUP reload in the primary, and in `flint check-config`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { parseXml } from './parse.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

/** Options of loadConfig / loadConfigFromText. */
export interface LoadOptions {
  /** What `<Workers>0` resolves to; default os.availableParallelism(). */
  readonly cpuCount?: number;
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
  if (problems.length > 0) throw new ConfigError(problems);
  return loadConfigFromText(dir, serverXml, vhostsXml, opts);
}

/** As loadConfig, with the two files' contents given (for tests and uploads); `confDir` still anchors paths. */
export function loadConfigFromText(confDir: string, serverXml: string, vhostsXml: string, opts: LoadOptions = {}): Config {
  const server = parseXml('server.xml', serverXml);
  const vhosts = parseXml('vhosts.xml', vhostsXml);
  const problems = [server, vhosts].flatMap((r) => (r.ok ? [] : [r.problem]));
  if (!server.ok || !vhosts.ok) throw new ConfigError(problems);
  const hash = createHash('sha1').update(serverXml).update('\0').update(vhostsXml).digest('hex');
  const sources = { confDir: path.resolve(confDir), hash, server: server.tree, vhosts: vhosts.tree };
  return opts.cpuCount === undefined ? validateConfig(sources) : validateConfig(sources, opts.cpuCount);
}
