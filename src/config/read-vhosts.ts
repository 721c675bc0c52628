/**
 * @module config/read-vhosts
 * Reads vhosts.xml: each <Vhost> (its own rules, sub-paths, health checkers, origin TLS), the default vhost
 * and <URLRewrite>; checks names, aliases and VhostLink chains across vhosts.
 * Part of config validation; runs in the primary and in `flint check-config`.
 */
import { readCaFile } from './origin-ca.js';
import { RULE_KINDS, bypassRulesFromElements, bypassRulesFromText, queryRulesFromElements, queryRulesFromText, ttlRulesFromElements, ttlRulesFromText, KNOWN_RULE_FILES } from './rules.js';
import type { RuleElement } from './rules.js';
import { aclRulesFromText } from '../policy/edge-rules/acl-parse.js';
import { headerRulesFromText } from '../policy/edge-rules/header-parse.js';
import { compressionTargetsFromText } from '../transform/compression-targets.js';
import { throttleRulesFromText } from '../media/throttle/throttle-parse.js';
import { readThrottling } from './read-throttle.js';
import { getSetting } from './schema.js';
import { findLinkProblems } from './vhost-link.js';
import { findSubProblems } from './edge-routing.js';
import { checkUrlRewrite, subPathGlob } from '../policy/url-rewrite-parse.js';
import type { SubPath, UrlRewriteRule, HealthCheckerConfig, OriginTls, Vhost, VhostRules } from './types.js';
import { childElements } from './xml-tree.js';
import type { FileName, ListKind } from './xml-tree.js';
import { quote, INT, SECONDS_AS_MS, BOOL, ORIGIN_PROTOCOL, REWRITE_ACCESS_LOG, SUB_STATUS } from './value-types.js';
import { HOST_NAME, VHOST_REF, LINK_CONDITION, ALIAS, ORIGIN_ADDRESS, withDefaultPort, PATH, PROBE_TARGET, STATUS_LIST } from './value-types-net.js';
import type { Validator, Scope, VhostDefaults } from './validator.js';
import { readVhostSettings } from './read-vhost-settings.js';
import { readEdgePolicy, readDims } from './read-edge-dims.js';

/** `<URLRewrite>` rules of vhosts.xml, in order; each pattern and template checked (policy/url-rewrite-parse.ts). */
export function readUrlRewrites(v: Validator, scope: Scope): UrlRewriteRule[] {
  const rules: UrlRewriteRule[] = [];
  childElements(scope.element, 'URLRewrite').forEach((element, i) => {
    const source = `Vhosts/URLRewrite[${i + 1}]`;
    const at: Scope = { file: scope.file, element, where: source, prefix: 'Vhosts/URLRewrite' };
    v.one(at, 'Vhosts/URLRewrite@AccessLog', REWRITE_ACCESS_LOG);
    const pattern = childElements(element, 'Pattern')[0]?.text;
    const replace = childElements(element, 'Replace')[0]?.text;
    if (pattern === undefined || replace === undefined) {
      v.report(scope.file, source, `needs both <Pattern> and <Replace>`);
      return;
    }
    const checked = checkUrlRewrite(pattern, replace);
    if (checked.ok) rules.push({ source, pattern, replace });
    else v.report(scope.file, `${source}/${checked.error.startsWith('<Pattern>') ? 'Pattern' : 'Replace'}`, checked.error.replace(/^<(Pattern|Replace)>: /, ''));
  });
  return rules;
}

/** `<Sub Status><Path Vhost>` of one vhost (targets are checked once every vhost is known: findSubProblems). */
function readSub(v: Validator, scope: Scope): SubPath[] {
  const sub = childElements(scope.element, 'Sub')[0];
  if (sub === undefined) return [];
  const active = v.one(scope, 'Vhost/Sub@Status', SUB_STATUS) === 'Active';
  const paths: SubPath[] = [];
  childElements(sub, 'Path').forEach((element, i) => {
    const where = `${scope.where}/Sub/Path[${i + 1}]`;
    const target = element.attrs.get('Vhost');
    const glob = subPathGlob(element.text);
    if (target === undefined || target === '') v.report(scope.file, `${where}@Vhost`, 'missing; name the vhost that serves this path');
    else if (!glob.ok) v.report(scope.file, where, glob.error);
    else paths.push({ glob: glob.value, vhost: target.toLowerCase() });
  });
  return active ? paths : [];
}

/**
 * A vhost's rules: the inline <TTLRules>/<BypassRules>/<QueryStringRules> first, then the lines of
 * svc/<vhost>/ttl.txt, bypass.txt and querystring.txt when those files exist. Problems name the element or line.
 */
function readRules(v: Validator, scope: Scope, name: string | null, applyQueryString: boolean, throttleUnitBps: number): VhostRules {
  const elements = (container: string): RuleElement[] =>
    childElements(childElements(scope.element, container)[0], 'Rule').map((e, i) => ({ where: `${e.where}[${i + 1}]`, attrs: e.attrs, text: e.text }));
  const files = name === null ? {} : (v.ruleFiles[name] ?? {});
  const label = (file: string): string => `svc/${name ?? ''}/${file}`;
  const ttl = ttlRulesFromElements(scope.file, elements(RULE_KINDS.ttl.element));
  const bypass = bypassRulesFromElements(scope.file, elements(RULE_KINDS.bypass.element));
  const query = queryRulesFromElements(scope.file, elements(RULE_KINDS.querystring.element), applyQueryString);
  // STON's <MatchingList Target="ttl|bypass|querystring|acl">: txt lines embedded in the vhost, after the <Rule>s.
  const listed: Record<ListKind, string[]> = { ttl: [], bypass: [], querystring: [], acl: [], headers: [], compression: [], throttling: [] };
  const listLabels: Record<ListKind, string[]> = { ttl: [], bypass: [], querystring: [], acl: [], headers: [], compression: [], throttling: [] };
  // Both places: STON's vhost API writes it in the vhost, issue 20's contract inside <Options>.
  const matchingLists = [childElements(scope.element, 'MatchingList'), childElements(childElements(scope.element, 'Options')[0], 'MatchingList')];
  matchingLists.flatMap((list) => list.map((e, i) => [e, i] as const)).forEach(([e, i]) => {
    const target = (e.attrs.get('Target') ?? '').toLowerCase();
    if (target !== 'ttl' && target !== 'bypass' && target !== 'querystring' && target !== 'acl' && target !== 'headers' && target !== 'compression' && target !== 'throttling') {
      v.report(scope.file, `${e.where}[${i + 1}]@Target`, `${quote(e.attrs.get('Target') ?? '')} is not ttl, bypass, querystring, acl, headers, compression or throttling`);
      return;
    }
    listed[target].push(e.text);
    listLabels[target].push(`${scope.file}: ${e.where}[${i + 1}]`);
  });
  const fromText = <R>(kind: ListKind, parse: (label: string, text: string) => { rules: R[]; problems: string[] }): R[] => {
    const out: R[] = [];
    const sources = listed[kind].map((text, i) => [listLabels[kind][i] as string, text] as const);
    const fileName = kind === 'acl' || kind === 'headers' || kind === 'compression' || kind === 'throttling' ? `${kind}.txt` : RULE_KINDS[kind].file;
    const fileText = files[fileName];
    if (fileText !== undefined) sources.push([label(fileName), fileText] as const);
    for (const [where, text] of sources) {
      const parsed = parse(where, text);
      v.problems.push(...parsed.problems);
      out.push(...parsed.rules);
    }
    return out;
  };
  v.problems.push(...ttl.problems, ...bypass.problems, ...query.problems);
  // Nothing in svc/<vhost>/ is ignored silently: a file Flint does not read is an error, not a rule not enforced.
  for (const file of Object.keys(files)) {
    if (!KNOWN_RULE_FILES.includes(file)) v.problems.push(`${label(file)}: Flint does not understand this rule file (it reads ${KNOWN_RULE_FILES.join(', ')})`);
  }
  return {
    ttl: [...ttl.rules, ...fromText('ttl', ttlRulesFromText)],
    bypass: [...bypass.rules, ...fromText('bypass', bypassRulesFromText)],
    queryString: [...query.rules, ...fromText('querystring', (l, t) => queryRulesFromText(l, t, applyQueryString))],
    acl: fromText('acl', aclRulesFromText),
    headers: fromText('headers', headerRulesFromText),
    compression: fromText('compression', compressionTargetsFromText),
    throttling: fromText('throttling', (l, t) => throttleRulesFromText(l, t, throttleUnitBps)),
  };
}

/** Every <Origin><HealthChecker> of one vhost, each element read as its own scope (like <Disk>). */
function readHealthCheckers(v: Validator, scope: Scope): HealthCheckerConfig[] {
  const checkers: HealthCheckerConfig[] = [];
  for (const element of childElements(childElements(scope.element, 'Origin')[0], 'HealthChecker')) {
    const at: Scope = { file: scope.file, element, where: element.where, prefix: 'Vhost/Origin/HealthChecker' };
    const target = v.optional(at, 'Vhost/Origin/HealthChecker', PROBE_TARGET);
    const checker: HealthCheckerConfig = {
      target: target ?? '/',
      resCodes: v.one(at, 'Vhost/Origin/HealthChecker@ResCode', STATUS_LIST),
      timeoutMs: v.one(at, 'Vhost/Origin/HealthChecker@Timeout', SECONDS_AS_MS),
      cycleMs: v.one(at, 'Vhost/Origin/HealthChecker@Cycle', SECONDS_AS_MS),
      exclusion: v.one(at, 'Vhost/Origin/HealthChecker@Exclusion', INT),
      recovery: v.one(at, 'Vhost/Origin/HealthChecker@Recovery', INT),
      log: v.one(at, 'Vhost/Origin/HealthChecker@Log', BOOL),
    };
    if (target !== null) checkers.push(checker);
  }
  return checkers;
}

/** `<Origin Protocol>`, `<CA>` (read now) and `<TlsVerify>`; null for plain HTTP, where CA/TlsVerify are mistakes. */
function readOriginTls(v: Validator, scope: Scope): OriginTls | null {
  const https = v.one(scope, 'Vhost/Origin@Protocol', ORIGIN_PROTOCOL) === 'HTTPS';
  const caFile = v.optional(scope, 'Vhost/Origin/CA', PATH);
  const verify = v.one(scope, 'Vhost/Origin/TlsVerify', BOOL);
  if (!https) {
    for (const name of ['CA', 'TlsVerify']) {
      const found = v.locate(scope, getSetting(`Vhost/Origin/${name}`));
      if (found.length > 0) v.report(scope.file, found[0]?.where ?? scope.where, 'applies only to <Origin Protocol="HTTPS">');
    }
    return null;
  }
  if (caFile === null) return { verify, caFile: null, caPem: null };
  const ca = readCaFile(caFile);
  if (!ca.ok) v.report(scope.file, v.locate(scope, getSetting('Vhost/Origin/CA'))[0]?.where ?? `${scope.where}/Origin/CA`, ca.error);
  return { verify, caFile, caPem: ca.ok ? ca.pem : null };
}

/** Every <Vhost>, then the name/alias claims across them. */
export function readVhosts(v: Validator, scope: Scope, defaults: VhostDefaults): Vhost[] {
  const elements = childElements(scope.element, 'Vhost');
  if (scope.element !== undefined && elements.length === 0) v.report(scope.file, 'Vhosts/Vhost', 'missing; at least one vhost is required');
  const vhosts: Array<{ vhost: Vhost; where: string }> = [];
  for (const element of elements) {
    const vhostScope: Scope = { file: scope.file, element, where: element.where, prefix: 'Vhost' };
    const name = v.optional(vhostScope, 'Vhost@Name', HOST_NAME);
    const aliases = v.many(vhostScope, 'Vhost/Alias', ALIAS) ?? [];
    const tls = readOriginTls(v, vhostScope);
    const origins = withDefaultPort(v.many(vhostScope, 'Vhost/Origin/Address', ORIGIN_ADDRESS) ?? [], tls);
    const healthCheckers = readHealthCheckers(v, vhostScope);
    const standbyOrigins = withDefaultPort(v.many(vhostScope, 'Vhost/Origin/Address2', ORIGIN_ADDRESS) ?? [], tls);
    const vhostSettings = readVhostSettings(v, vhostScope, defaults);
    const settings = { ...vhostSettings, originOptions: { ...vhostSettings.originOptions, tls } };
    const { throttling, unitBps } = readThrottling(v, vhostScope);
    const rules = readRules(v, vhostScope, name, settings.options.applyQueryString, unitBps);
    if (rules.acl.length > 0 && !settings.options.accessControl.enabled) {
      v.report(scope.file, `${element.where}/Options/AccessControl`, `the vhost has ${rules.acl.length} acl rules but <AccessControl> is not ON: they would not be enforced (set <AccessControl>ON or remove them)`);
    }
    if (rules.throttling.length > 0 && throttling === null) {
      v.report(scope.file, `${element.where}/Options/BandwidthThrottling/Throttling`, `the vhost has ${rules.throttling.length} throttling rules but <Throttling> is not ON: they would not be enforced (set it ON or remove them)`);
    }
    const linkTarget = v.optional(vhostScope, 'Vhost/VhostLink', VHOST_REF);
    const link = linkTarget === null ? null : { target: linkTarget, condition: v.one(vhostScope, 'Vhost/VhostLink@Condition', LINK_CONDITION) };
    const edge = readEdgePolicy(v, vhostScope);
    const sub = readSub(v, vhostScope);
    const dims = readDims(v, vhostScope);
    if (name === null) continue;
    vhosts.push({ vhost: { name, aliases, origins, standbyOrigins, healthCheckers, ...settings, rules, link, ...edge, sub, dims, throttling }, where: element.where });
  }
  checkClaims(v, scope.file, vhosts);
  for (const problem of findSubProblems(vhosts.map((v) => v.vhost))) {
    const where = vhosts.find((v) => v.vhost.name === problem.vhost)?.where ?? 'Vhosts/Vhost';
    v.report(scope.file, `${where}/Sub/Path@Vhost`, problem.what);
  }
  // A svc/<dir>/ that names no vhost holds rules nothing would read: an error, not a silently ignored policy.
  const names = new Set(vhosts.map((v) => v.vhost.name));
  for (const dir of Object.keys(v.ruleFiles).sort()) {
    if (!names.has(dir)) v.problems.push(`svc/${dir}/: no vhost is named ${quote(dir)}, so its files (${Object.keys(v.ruleFiles[dir] ?? {}).sort().join(', ')}) would be ignored`);
  }
  for (const problem of findLinkProblems(vhosts.map((v) => v.vhost))) {
    const where = vhosts.find((v) => v.vhost.name === problem.vhost)?.where ?? 'Vhosts/Vhost';
    v.report(scope.file, `${where}/VhostLink`, problem.what);
  }
  return vhosts.map((v) => v.vhost);
}

/** A Name or Alias may belong to one vhost only (names compared case-insensitively; they are lower-cased). */
function checkClaims(v: Validator, file: FileName, vhosts: ReadonlyArray<{ vhost: Vhost; where: string }>): void {
  const owners = new Map<string, { name: string; position: number }>();
  vhosts.forEach(({ vhost, where }, position) => {
    const owner = owners.get(vhost.name);
    if (owner !== undefined) v.report(file, `${where}@Name`, `${quote(vhost.name)} is already the Name of another vhost (Vhost #${owner.position + 1})`);
    else owners.set(vhost.name, { name: vhost.name, position });
  });
  for (const { vhost, where } of vhosts) {
    for (const alias of vhost.aliases) {
      const owner = owners.get(alias);
      if (owner === undefined) owners.set(alias, { name: vhost.name, position: -1 });
      else if (owner.name !== vhost.name) v.report(file, `${where}/Alias`, `${quote(alias)} is already claimed by vhost ${owner.name}`);
    }
  }
}

export function readDefaultVhost(v: Validator, scope: Scope, vhosts: readonly Vhost[]): string | null {
  const name = v.optional(scope, 'Vhosts/Default', VHOST_REF);
  if (name === null || vhosts.some((v) => v.name === name)) return name;
  const names = [...new Set(vhosts.map((v) => v.name))].join(', ');
  v.report(scope.file, 'Vhosts/Default', `${quote(name)} is not the Name of any vhost (vhosts: ${names === '' ? 'none' : names})`);
  return null;
}
