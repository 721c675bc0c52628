/**
 * @module transform/dims/url
 * DIMS URLs (STON image.html): `<original path>/<Keyword>/<op>/<arg>/<op>/<arg>.../` -> the original's path and
 * a checked operation chain, or a refusal (400) for anything malformed. Strict on purpose, since the URL is the
 * attacker's: ops are lower-case names from one table, each takes exactly one argument of a bounded form, output
 * settings (format, quality, ...) may appear once, a chain holds at most MAX_STEPS image operations, and an
 * argument is percent-decoded once and must then be plain (an encoded `/` or `..` is refused, never re-split).
 * The chain's canonical text keys the variant, so `/resize/200x/` and `/resize/200x` share one cached result.
 * Pure; runs in workers.
 */
import type { Geometry } from './geometry.js';
import { parseGeometry } from './geometry.js';

/** Image operations one chain may hold (STON sets none; 16 covers any sensible chain and bounds the work). */
export const MAX_STEPS = 16;
/** Longest DIMS part of a path (after the keyword) that is parsed at all. */
export const MAX_DIMS_PATH = 1024;
/** Most frames `limit/N` may keep. */
export const MAX_FRAMES = 1000;
/** Most annotations one `annotation/a*b*c` may draw. */
const MAX_ANNOTATIONS = 4;

/** Output formats a chain may ask for; `jpg` is written `jpeg` in the canonical form. */
export const OUTPUT_FORMATS = ['jpeg', 'png', 'gif', 'webp', 'avif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** One image operation, in chain order. */
export type DimsStep =
  | { readonly op: 'resize' | 'thumbnail' | 'resizec' | 'resizef' | 'resizecrop' | 'extent' | 'cropcenter' | 'crop'; readonly geometry: Geometry; readonly arg: string }
  | { readonly op: 'trim'; readonly threshold: number }
  | { readonly op: 'grayscale' | 'invert' | 'flip' | 'flop' }
  | { readonly op: 'rotate'; readonly degrees: number }
  | { readonly op: 'bright'; readonly percent: number }
  | { readonly op: 'sepia'; readonly amount: number }
  | { readonly op: 'round'; readonly radius: number }
  | { readonly op: 'composite' | 'byoriginal'; readonly name: string }
  | { readonly op: 'annotation'; readonly names: readonly string[] };

/** A parsed chain: the image operations in order and the output settings. */
export interface DimsChain {
  readonly steps: readonly DimsStep[];
  /** Output format; null = the source's; 'auto' = chosen from the client's Accept (format-choice.ts). */
  readonly format: OutputFormat | 'auto' | null;
  /** 1..100; null = the encoder's default. */
  readonly quality: number | null;
  readonly autorotate: boolean;
  readonly strip: boolean;
  readonly optimize: boolean;
  /** Frames of an animated source kept: null = the vhost's FirstFrameOnly default, 0 = all (firstframeonly/off). */
  readonly frames: number | null;
  /** The chain in normal form (`resize/200x/format/webp/`): the variant's name beside the original. */
  readonly canonical: string;
}

/** A path's DIMS reading: not a DIMS URL, a refusal, or the original's path and the chain. */
export type DimsParse =
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly problem: string }
  | { readonly kind: 'dims'; readonly originalPath: string; readonly chain: DimsChain };

/** What the parser needs from the vhost's `<Dims>`: the keyword and the names its elements define. */
export interface DimsNames {
  readonly keyword: string;
  readonly composites: ReadonlySet<string>;
  readonly annotations: ReadonlySet<string>;
  readonly byOriginal: ReadonlySet<string>;
}

type Kind = 'geometry' | 'crop' | 'bool' | 'flipflop' | 'rotate' | 'percent' | 'sepia' | 'round' | 'trim' | 'format' | 'quality' | 'frames' | 'composite' | 'annotation' | 'byoriginal';

/** Every op, the form of its argument, and whether it is an output setting (at most once per chain). */
const OPS: Readonly<Record<string, { readonly kind: Kind; readonly setting: boolean }>> = {
  resize: { kind: 'geometry', setting: false },
  thumbnail: { kind: 'geometry', setting: false },
  resizec: { kind: 'geometry', setting: false },
  resizef: { kind: 'geometry', setting: false },
  resizecrop: { kind: 'geometry', setting: false },
  extent: { kind: 'geometry', setting: false },
  cropcenter: { kind: 'geometry', setting: false },
  crop: { kind: 'crop', setting: false },
  trim: { kind: 'trim', setting: false },
  grayscale: { kind: 'bool', setting: false },
  invert: { kind: 'bool', setting: false },
  flipflop: { kind: 'flipflop', setting: false },
  rotate: { kind: 'rotate', setting: false },
  bright: { kind: 'percent', setting: false },
  sepia: { kind: 'sepia', setting: false },
  round: { kind: 'round', setting: false },
  composite: { kind: 'composite', setting: false },
  annotation: { kind: 'annotation', setting: false },
  byoriginal: { kind: 'byoriginal', setting: false },
  format: { kind: 'format', setting: true },
  quality: { kind: 'quality', setting: true },
  autorotate: { kind: 'bool', setting: true },
  strip: { kind: 'bool', setting: true },
  optimize: { kind: 'bool', setting: true },
  limit: { kind: 'frames', setting: true },
  firstframeonly: { kind: 'bool', setting: true },
};

/** Characters an argument may hold once decoded: geometry, numbers, names, `*` between annotation names. */
const ARG_FORM = /^[A-Za-z0-9._+\-%@!<>^*]{1,64}$/;
const NAME_FORM = /^[A-Za-z0-9_-]{1,64}$/;
const TRUE = new Set(['true', 'on', '1', 'yes']);
const FALSE = new Set(['false', 'off', '0', 'no']);
const FORMAT_ALIASES: Readonly<Record<string, OutputFormat | 'auto'>> = { jpg: 'jpeg', jpeg: 'jpeg', png: 'png', gif: 'gif', webp: 'webp', avif: 'avif', auto: 'auto' };

/**
 * Splits `path` (normalised, without query) at its last `/<keyword>/` and parses the chain after it. A path
 * without the keyword, or whose original part would be empty, is not a DIMS URL.
 */
export function parseDimsPath(path: string, names: DimsNames): DimsParse {
  const marker = `/${names.keyword}/`;
  const at = path.lastIndexOf(marker);
  if (at <= 0) return { kind: 'none' };
  const rest = path.slice(at + marker.length);
  if (rest.length > MAX_DIMS_PATH) return { kind: 'invalid', problem: 'DIMS part too long' };
  const parts = rest.split('/');
  if (parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0) return { kind: 'invalid', problem: 'no operation' };
  if (parts.length % 2 !== 0) return { kind: 'invalid', problem: `operation ${JSON.stringify(parts[parts.length - 1])} has no argument` };
  const chain = parseChain(parts, names);
  return typeof chain === 'string' ? { kind: 'invalid', problem: chain } : { kind: 'dims', originalPath: path.slice(0, at), chain };
}

/** Parses a chain written as a path (`/quality/50/`, a `<ByOriginal><Condition>` body); a problem as text. */
export function parseChainText(text: string, names: DimsNames): DimsChain | string {
  const parts = text.split('/').filter((p, i, all) => !(p === '' && (i === 0 || i === all.length - 1)));
  if (parts.length === 0 || parts.length % 2 !== 0) return 'not a chain of op/arg pairs';
  return parseChain(parts, names);
}

/** Mutable state while a chain is read. */
interface Draft {
  steps: DimsStep[];
  format: OutputFormat | 'auto' | null;
  quality: number | null;
  autorotate: boolean;
  strip: boolean;
  optimize: boolean;
  frames: number | null;
  canonical: string[];
}

function parseChain(parts: readonly string[], names: DimsNames): DimsChain | string {
  const draft: Draft = { steps: [], format: null, quality: null, autorotate: false, strip: false, optimize: false, frames: null, canonical: [] };
  const settingsSeen = new Set<string>();
  for (let i = 0; i < parts.length; i += 2) {
    const op = parts[i] as string;
    const spec = Object.hasOwn(OPS, op) ? OPS[op] : undefined;
    if (spec === undefined) return `unknown operation ${JSON.stringify(op.slice(0, 32))}`;
    const arg = decodeArg(parts[i + 1] as string);
    if (arg === null) return `operation ${op}: malformed argument`;
    if (spec.setting) {
      if (settingsSeen.has(op)) return `operation ${op} given twice`;
      settingsSeen.add(op);
    }
    const problem = applyOp(draft, op, spec.kind, arg, names);
    if (problem !== null) return `operation ${op}: ${problem}`;
    if (draft.steps.length > MAX_STEPS) return `more than ${MAX_STEPS} operations`;
  }
  const settings: string[] = [];
  if (draft.autorotate) settings.push('autorotate/on');
  if (draft.frames !== null) settings.push(`limit/${draft.frames === 0 ? 'all' : draft.frames}`);
  if (draft.format !== null) settings.push(`format/${draft.format}`);
  if (draft.quality !== null) settings.push(`quality/${draft.quality}`);
  if (draft.strip) settings.push('strip/true');
  if (draft.optimize) settings.push('optimize/true');
  const canonical = [...draft.canonical, ...settings].join('/');
  return { steps: draft.steps, format: draft.format, quality: draft.quality, autorotate: draft.autorotate, strip: draft.strip, optimize: draft.optimize, frames: draft.frames, canonical: canonical === '' ? '' : `${canonical}/` };
}

/** Percent-decodes one argument once; null when it is malformed or holds anything but ARG_FORM characters. */
function decodeArg(raw: string): string | null {
  let text = raw;
  if (raw.includes('%')) {
    try {
      text = decodeURIComponent(raw);
    } catch {
      return null;
    }
  }
  return ARG_FORM.test(text) && text !== '.' && text !== '..' ? text : null;
}

function readInt(arg: string, min: number, max: number): number | null {
  if (!/^\d{1,6}$/.test(arg)) return null;
  const n = Number(arg);
  return n >= min && n <= max ? n : null;
}

function readBool(arg: string): boolean | null {
  const lower = arg.toLowerCase();
  return TRUE.has(lower) ? true : FALSE.has(lower) ? false : null;
}

/** Applies one op to the draft; the problem as text, or null. */
function applyOp(draft: Draft, op: string, kind: Kind, arg: string, names: DimsNames): string | null {
  const step = (s: DimsStep, canonicalArg: string): null => {
    draft.steps.push(s);
    draft.canonical.push(`${op}/${canonicalArg}`);
    return null;
  };
  switch (kind) {
    case 'geometry':
    case 'crop': {
      const geometry = parseGeometry(arg);
      if (typeof geometry === 'string') return geometry;
      if (kind === 'geometry' && op !== 'cropcenter' && geometry.x !== null) return 'takes no offset';
      if (kind === 'crop' && (geometry.area || geometry.exact || geometry.fill || geometry.onlyShrink || geometry.onlyEnlarge)) return 'a crop takes only WxH+X+Y and %';
      if (op === 'extent' || op === 'resizecrop' || op === 'resizef' || op === 'resizec') {
        if (!geometry.percent && (geometry.width === null || geometry.height === null)) return 'needs WxH';
      }
      return step({ op: op as 'resize', geometry, arg }, arg);
    }
    case 'trim': {
      const on = readBool(arg);
      const threshold = on === true ? 10 : on === false ? null : readInt(arg, 0, 255);
      if (on === false) return null;
      if (threshold === null) return 'takes true or a threshold 0-255';
      return step({ op: 'trim', threshold }, String(threshold));
    }
    case 'bool': {
      const on = readBool(arg);
      if (on === null) return 'takes true or false';
      if (op === 'autorotate') draft.autorotate = on;
      else if (op === 'strip') draft.strip = on;
      else if (op === 'optimize') draft.optimize = on;
      else if (op === 'firstframeonly') draft.frames = on ? 1 : 0;
      else if (on) return step({ op: op as 'grayscale' }, 'true');
      return null;
    }
    case 'flipflop': {
      const lower = arg.toLowerCase();
      if (lower !== 'vertical' && lower !== 'horizontal') return 'takes vertical or horizontal';
      return step({ op: lower === 'vertical' ? 'flip' : 'flop' }, lower);
    }
    case 'rotate': {
      const degrees = readInt(arg, 0, 360);
      if (degrees === null) return 'takes degrees 0-360';
      return degrees % 360 === 0 ? null : step({ op: 'rotate', degrees }, String(degrees));
    }
    case 'percent': {
      const percent = readInt(arg, 0, 100);
      if (percent === null) return 'takes 0-100';
      return percent === 0 ? null : step({ op: 'bright', percent }, String(percent));
    }
    case 'sepia': {
      if (!/^(0(\.\d{1,3})?|1(\.0{1,3})?)$/.test(arg)) return 'takes 0-1';
      const amount = Number(arg);
      return amount === 0 ? null : step({ op: 'sepia', amount }, String(amount));
    }
    case 'round': {
      const radius = readInt(arg, 0, 90);
      if (radius === null) return 'takes 0-90';
      return radius === 0 ? null : step({ op: 'round', radius }, String(radius));
    }
    case 'composite':
    case 'byoriginal': {
      const set = kind === 'composite' ? names.composites : names.byOriginal;
      if (!NAME_FORM.test(arg) || !set.has(arg)) return `no ${kind === 'composite' ? '<Composite>' : '<ByOriginal>'} is named ${JSON.stringify(arg)}`;
      return step({ op: kind, name: arg }, arg);
    }
    case 'annotation': {
      const list = arg.split('*');
      if (list.length > MAX_ANNOTATIONS) return `more than ${MAX_ANNOTATIONS} annotations`;
      for (const name of list) if (!NAME_FORM.test(name) || !names.annotations.has(name)) return `no <Annotation> is named ${JSON.stringify(name)}`;
      return step({ op: 'annotation', names: list }, arg);
    }
    case 'format': {
      const format = Object.hasOwn(FORMAT_ALIASES, arg.toLowerCase()) ? FORMAT_ALIASES[arg.toLowerCase()] : undefined;
      if (format === undefined) return 'takes jpg, png, gif, webp, avif or auto';
      draft.format = format;
      return null;
    }
    case 'quality': {
      const quality = readInt(arg, 0, 100);
      if (quality === null) return 'takes 0-100';
      draft.quality = Math.max(1, quality);
      return null;
    }
    case 'frames': {
      const frames = readInt(arg, 1, MAX_FRAMES);
      if (frames === null) return `takes 1-${MAX_FRAMES} frames`;
      draft.frames = frames;
      return null;
    }
  }
}
