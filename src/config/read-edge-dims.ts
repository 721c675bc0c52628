/**
 * @module config/read-edge-dims
 * Reads the per-vhost edge policy blocks (<SignedUrl>, <Cors>, <ErrorPage>) and <Options><Dims>.
 * Part of config validation; runs in the primary and in `flint check-config`.
 */
import type { DIMS_GRAVITIES } from './types.js';
import type { DimsConfig, CorsConfig, ErrorPageConfig, SignedUrlConfig } from './types.js';
import { parseMethodList, readErrorPage } from './edge-policy.js';
import { checkConditionChain, readCompositeFile } from './dims.js';
import { childElements } from './xml-tree.js';
import type { XmlElement } from './xml-tree.js';
import { quote, INT, BOOL, NAME_LIST, TOKEN, QUERY_PARAM, ORIGIN_LIST, URL_GLOB, SIGNED_URL_STATUS, DIMS_KEYWORD, DIMS_NAME, DIMS_OFFSET, DIMS_COLOUR, DIMS_TEXT, DIMS_GRAVITY, PLAIN_TEXT } from './value-types.js';
import { PATH, STATUS_LIST } from './value-types-net.js';
import type { Validator, Scope } from './validator.js';

/** `<Options><SignedUrl>`, `<Cors>` and `<ErrorPage>` of one vhost (issue 20; not inherited from VHostDefault). */
export function readEdgePolicy(v: Validator, scope: Scope): { signedUrl: SignedUrlConfig | null; cors: CorsConfig | null; errorPages: ErrorPageConfig[] } {
  const options = childElements(scope.element, 'Options')[0];
  let signedUrl: SignedUrlConfig | null = null;
  const keys = v.many(scope, 'Vhost/Options/SignedUrl/Key', TOKEN) ?? [];
  const paths = v.many(scope, 'Vhost/Options/SignedUrl/Path', URL_GLOB) ?? v.defaultsOf('Vhost/Options/SignedUrl/Path', URL_GLOB);
  const param = v.one(scope, 'Vhost/Options/SignedUrl@Param', QUERY_PARAM);
  const expiresParam = v.one(scope, 'Vhost/Options/SignedUrl@ExpiresParam', QUERY_PARAM);
  const bindClientIp = v.one(scope, 'Vhost/Options/SignedUrl@BindClientIp', BOOL);
  if (v.one(scope, 'Vhost/Options/SignedUrl@Status', SIGNED_URL_STATUS) === 'Active') {
    const where = `${scope.where}/Options/SignedUrl`;
    const found = childElements(childElements(options, 'SignedUrl')[0], 'Key').length;
    if (found === 0) v.report(scope.file, `${where}/Key`, 'missing; Status="Active" needs at least one key');
    if (param === expiresParam) v.report(scope.file, `${where}@ExpiresParam`, `${quote(param)} is also Param; the two must differ`);
    signedUrl = { keys, paths, param, expiresParam, bindClientIp };
  }
  let cors: CorsConfig | null = null;
  const allowOrigins = v.one(scope, 'Vhost/Options/Cors@AllowOrigin', ORIGIN_LIST);
  const maxAgeSec = v.one(scope, 'Vhost/Options/Cors@MaxAge', INT);
  const methodNames = v.one(scope, 'Vhost/Options/Cors@AllowMethods', NAME_LIST);
  const methods = parseMethodList(methodNames);
  if (!methods.ok) v.report(scope.file, `${scope.where}/Options/Cors@AllowMethods`, methods.error);
  if (v.one(scope, 'Vhost/Options/Cors', BOOL)) cors = { allowOrigins, maxAgeSec, allowMethods: methods.ok ? methods.value : [] };
  const errorPages: ErrorPageConfig[] = [];
  for (const element of childElements(options, 'ErrorPage')) {
    const at: Scope = { file: scope.file, element, where: element.where, prefix: 'Vhost/Options/ErrorPage' };
    const statuses = v.one(at, 'Vhost/Options/ErrorPage@ResCode', STATUS_LIST);
    const file = v.optional(at, 'Vhost/Options/ErrorPage', PATH);
    if (file === null) continue;
    const page = readErrorPage(file);
    if (page.ok) errorPages.push({ statuses, file, ...page.value });
    else v.report(scope.file, element.where, page.error);
  }
  return { signedUrl, cors, errorPages };
}

/** `<Options><Dims Status="Active">` with its Composite, Annotation and ByOriginal elements (issue 21); null = off. */
export function readDims(v: Validator, scope: Scope): DimsConfig | null {
  const dimsElement = childElements(childElements(scope.element, 'Options')[0], 'Dims')[0];
  const active = v.one(scope, 'Vhost/Options/Dims@Status', SIGNED_URL_STATUS) === 'Active';
  const keyword = v.one(scope, 'Vhost/Options/Dims@Keyword', DIMS_KEYWORD);
  const maxSourceBytes = v.one(scope, 'Vhost/Options/Dims@MaxSourceSize', INT) * 1024 * 1024;
  const maxPixels = v.one(scope, 'Vhost/Options/Dims@MaxPixels', INT);
  const firstFrameOnly = v.one(scope, 'Vhost/Options/Dims@FirstFrameOnly', BOOL);
  const at = (element: XmlElement, prefix: string): Scope => ({ file: scope.file, element, where: element.where, prefix });
  const seen = new Map<string, Set<string>>();
  const named = (element: XmlElement, prefix: string, kind: string): string | null => {
    const name = v.optional(at(element, prefix), `${prefix}@Name`, DIMS_NAME);
    if (name === null) {
      if (!element.attrs.has('Name')) v.report(scope.file, `${element.where}@Name`, 'missing; it is required');
      return null;
    }
    const names = seen.get(kind) ?? new Set<string>();
    seen.set(kind, names);
    if (names.has(name)) v.report(scope.file, `${element.where}@Name`, `${quote(name)} is already the Name of another <${kind}>`);
    names.add(name);
    return name;
  };
  const placement = (element: XmlElement, prefix: string): { gravity: (typeof DIMS_GRAVITIES)[number]; x: number; y: number; percent: boolean; dissolve: number } => ({
    gravity: v.one(at(element, prefix), `${prefix}@Gravity`, DIMS_GRAVITY),
    ...v.one(at(element, prefix), `${prefix}@Geometry`, DIMS_OFFSET),
    dissolve: v.one(at(element, prefix), `${prefix}@Dissolve`, INT),
  });
  const composites: DimsConfig['composites'][number][] = [];
  for (const element of childElements(dimsElement, 'Composite')) {
    const prefix = 'Vhost/Options/Dims/Composite';
    const name = named(element, prefix, 'Composite');
    const file = v.optional(at(element, prefix), `${prefix}@File`, PATH);
    if (file === null && !element.attrs.has('File')) v.report(scope.file, `${element.where}@File`, 'missing; it is required');
    const image = file === null ? null : readCompositeFile(file);
    if (image !== null && !image.ok) v.report(scope.file, `${element.where}@File`, image.error);
    const where = placement(element, prefix);
    if (name !== null && file !== null && image !== null && image.ok) composites.push({ name, file, imageBase64: image.value, ...where });
  }
  const annotations: DimsConfig['annotations'][number][] = [];
  for (const element of childElements(dimsElement, 'Annotation')) {
    const prefix = 'Vhost/Options/Dims/Annotation';
    const s = at(element, prefix);
    const name = named(element, prefix, 'Annotation');
    const text = v.optional(s, `${prefix}@Text`, DIMS_TEXT);
    if (text === null && !element.attrs.has('Text')) v.report(scope.file, `${element.where}@Text`, 'missing; it is required');
    const note = {
      font: v.one(s, `${prefix}@Font`, PLAIN_TEXT),
      fontSize: v.one(s, `${prefix}@FontSize`, INT),
      fontColor: v.one(s, `${prefix}@FontColor`, DIMS_COLOUR),
      backgroundColor: v.optional(s, `${prefix}@BackgroundColor`, DIMS_COLOUR),
      ...placement(element, prefix),
    };
    if (name !== null && text !== null) annotations.push({ name, ...text, ...note });
  }
  const byOriginalElements = childElements(dimsElement, 'ByOriginal');
  const names = {
    keyword,
    composites: new Set(composites.map((c) => c.name)),
    annotations: new Set(annotations.map((a) => a.name)),
    byOriginal: new Set(byOriginalElements.map((e) => e.attrs.get('Name') ?? '')),
  };
  const byOriginal: DimsConfig['byOriginal'][number][] = [];
  for (const element of byOriginalElements) {
    const name = named(element, 'Vhost/Options/Dims/ByOriginal', 'ByOriginal');
    const conditions: Array<{ width: number; height: number; chain: string }> = [];
    for (const condition of childElements(element, 'Condition')) {
      const prefix = 'Vhost/Options/Dims/ByOriginal/Condition';
      const s = at(condition, prefix);
      const chain = v.optional(s, prefix, PLAIN_TEXT);
      const problem = chain === null ? 'missing its chain (/op/arg/...)' : checkConditionChain(chain, names);
      if (problem !== null) v.report(scope.file, condition.where, problem);
      else if (chain !== null) conditions.push({ width: v.one(s, `${prefix}@Width`, INT), height: v.one(s, `${prefix}@Height`, INT), chain });
    }
    if (name !== null) byOriginal.push({ name, conditions });
  }
  return active ? { keyword, maxSourceBytes, maxPixels, firstFrameOnly, composites, annotations, byOriginal } : null;
}
