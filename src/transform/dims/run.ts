/**
 * @module transform/dims/run
 * Runs one parsed DIMS chain (url.ts) over a source image with sharp (libvips) and encodes the result. sharp keeps
 * a fixed order of operations inside one pipeline (extract, resize, extend, ...), so each chain step is its own
 * pipeline over the previous step's raw pixels; the first step reads the encoded source (JPEG shrink-on-load) and
 * the last one encodes. Every pipeline runs on libuv's thread pool, never on the event loop; the caller
 * (limiter.ts) bounds how many run at once. Guards: the header's pixel count against MaxPixels before any decode
 * (and sharp's limitInputPixels while decoding), every intermediate and the output against MaxPixels, and a
 * deadline checked between steps and passed to sharp's own timeout. Runs in workers.
 */
import sharp from 'sharp';
import type { Metadata, OverlayOptions, Sharp, SharpOptions } from 'sharp';
import type { DimsAnnotationConfig, DimsPlacement } from '../../config/types.js';
import type { Size } from './geometry.js';
import { boxSize, cropRegion, resizedSize } from './geometry.js';
import type { DimsChain, DimsNames, DimsStep, OutputFormat } from './url.js';
import { parseChainText } from './url.js';
import { DimsError } from './failure.js';
import { annotationText } from './query-text.js';

// libvips' operation cache keeps recent results in memory; an edge converts each variant once, so it only costs.
sharp.cache(false);

/** A composite's overlay, decoded once per runtime. */
export interface CompositeAsset extends DimsPlacement {
  readonly image: Buffer;
}

/** What a chain may refer to, and the limits, from the vhost's `<Dims>`. */
export interface RunContext {
  readonly names: DimsNames;
  readonly maxPixels: number;
  readonly firstFrameOnly: boolean;
  readonly composites: ReadonlyMap<string, CompositeAsset>;
  readonly annotations: ReadonlyMap<string, DimsAnnotationConfig>;
  readonly byOriginal: ReadonlyMap<string, ReadonlyArray<{ readonly width: number; readonly height: number; readonly chain: string }>>;
  /** The request's query (for `$QUERYSTRING[key]` annotations), without `?`. */
  readonly query: string;
  /** Absolute deadline (ms since epoch). */
  readonly deadline: number;
}

/** A finished conversion. */
export interface DimsResult {
  readonly body: Buffer;
  readonly format: OutputFormat;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
  /** Source format and size as read from its header, for the image log. */
  readonly sourceFormat: string;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
}

export const CONTENT_TYPES: Readonly<Record<OutputFormat, string>> = { jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif' };

/** Pixels in one raw step's buffer (current image between pipelines). */
interface RawImage {
  readonly data: Buffer;
  readonly width: number;
  /** Height of one frame. */
  readonly pageHeight: number;
  readonly pages: number;
  readonly channels: 1 | 2 | 3 | 4;
}

/** The current image: still the encoded source (before the first step) or raw pixels. */
type Current = { readonly kind: 'source'; readonly size: Size } | { readonly kind: 'raw'; readonly raw: RawImage };

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };

/** The source formats Flint re-encodes without an explicit format/ op (others need one). */
function sourceFormatOf(meta: Metadata): OutputFormat | null {
  if (meta.format === 'jpeg' || meta.format === 'png' || meta.format === 'gif' || meta.format === 'webp') return meta.format;
  if (meta.format === 'heif' && meta.compression === 'av1') return 'avif';
  return null;
}

/** Converts `source` by `chain` into `format` (null = the source's format). Throws DimsError. */
export async function runChain(source: Buffer, chain: DimsChain, format: OutputFormat | null, ctx: RunContext): Promise<DimsResult> {
  let meta: Metadata;
  try {
    meta = await sharp(source, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new DimsError('corrupt', (err as Error).message);
  }
  const sourceFormat = sourceFormatOf(meta);
  const outFormat = format ?? sourceFormat;
  if (outFormat === null) throw new DimsError('unsupported-format', `source format ${meta.format}`);
  const totalPages = meta.pages ?? 1;
  const frameHeight = meta.pageHeight ?? meta.height;
  const wanted = chain.frames === 0 ? totalPages : (chain.frames ?? (ctx.firstFrameOnly ? 1 : totalPages));
  // Only GIF and WebP carry animation; anything else gets the first frame (sharp would write a tall strip).
  const pages = outFormat === 'gif' || outFormat === 'webp' ? Math.min(wanted, totalPages) : 1;
  if (meta.width * frameHeight * pages > ctx.maxPixels) throw new DimsError('too-many-pixels', `${meta.width}x${frameHeight}x${pages} > ${ctx.maxPixels}`);
  const oriented = chain.autorotate ? meta.autoOrient : { width: meta.width, height: frameHeight };
  const { steps, quality } = expandByOriginal(chain, oriented, ctx);
  const input: SharpOptions = { limitInputPixels: ctx.maxPixels, failOn: 'error', autoOrient: chain.autorotate, ...(totalPages > 1 ? { pages } : {}) };

  let current: Current = { kind: 'source', size: oriented };
  const open = (): Sharp => pipelineOf(current, source, input, ctx);
  try {
    for (let i = 0; i < steps.length; i++) {
      checkDeadline(ctx);
      const step = steps[i] as DimsStep;
      const image = await applyStep(open(), step, sizeOf(current), ctx, pages);
      if (image === null) continue;
      const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
      const pageHeight = info.pageHeight ?? info.height;
      if (info.width * info.height > ctx.maxPixels) throw new DimsError('output-too-large', `${info.width}x${info.height}`);
      current = { kind: 'raw', raw: { data, width: info.width, pageHeight, pages: Math.max(1, Math.round(info.height / pageHeight)), channels: info.channels } };
    }
    checkDeadline(ctx);
    const { data, info } = await encode(open(), outFormat, quality, chain.optimize).toBuffer({ resolveWithObject: true });
    return {
      body: data,
      format: outFormat,
      contentType: CONTENT_TYPES[outFormat],
      width: info.width,
      height: info.pageHeight ?? info.height,
      sourceFormat: sourceFormat ?? String(meta.format),
      sourceWidth: meta.width,
      sourceHeight: frameHeight,
    };
  } catch (err) {
    if (err instanceof DimsError) throw err;
    const message = (err as Error).message;
    if (/timeout/i.test(message)) throw new DimsError('timeout', message);
    if (/pixel limit/i.test(message)) throw new DimsError('too-many-pixels', message);
    if (/premature|truncat|corrupt|invalid|unsupported image format|bad|unexpected end/i.test(message)) throw new DimsError('corrupt', message);
    throw new DimsError('failed', message);
  }
}

function checkDeadline(ctx: RunContext): void {
  if (Date.now() >= ctx.deadline) throw new DimsError('timeout', 'time limit reached');
}

function sizeOf(current: Current): Size {
  return current.kind === 'source' ? current.size : { width: current.raw.width, height: current.raw.pageHeight };
}

/** A sharp pipeline reading the current image, with sharp's timeout set to what is left of the deadline. */
function pipelineOf(current: Current, source: Buffer, input: SharpOptions, ctx: RunContext): Sharp {
  const seconds = Math.max(1, Math.ceil((ctx.deadline - Date.now()) / 1000));
  if (current.kind === 'source') return sharp(source, input).timeout({ seconds });
  const { data, width, pageHeight, pages, channels } = current.raw;
  const raw = { width, height: pageHeight * pages, channels, ...(pages > 1 ? { pageHeight } : {}) };
  return sharp(data, { raw, limitInputPixels: false }).timeout({ seconds });
}

/**
 * Replaces each `byoriginal/<name>` by the chain of its first condition the source reaches (or nothing); a
 * condition's quality applies when the URL sets none.
 */
function expandByOriginal(chain: DimsChain, source: Size, ctx: RunContext): { steps: DimsStep[]; quality: number | null } {
  const steps: DimsStep[] = [];
  let quality = chain.quality;
  for (const step of chain.steps) {
    if (step.op !== 'byoriginal') {
      steps.push(step);
      continue;
    }
    const condition = ctx.byOriginal.get(step.name)?.find((c) => source.width >= c.width && source.height >= c.height);
    if (condition === undefined) continue;
    const chosen = parseChainText(condition.chain, ctx.names);
    // Validated at config load (config/dims.ts): image steps and quality, no nested byoriginal.
    if (typeof chosen === 'string') continue;
    steps.push(...chosen.steps.filter((s) => s.op !== 'byoriginal'));
    quality ??= chosen.quality;
  }
  return { steps, quality };
}

/** Applies one step to `image` (whose frame size is `size`); null when the step leaves the image as it is. */
async function applyStep(image: Sharp, step: DimsStep, size: Size, ctx: RunContext, pages: number): Promise<Sharp | null> {
  const guard = (target: Size): void => {
    if (target.width * target.height * pages > ctx.maxPixels) throw new DimsError('output-too-large', `${target.width}x${target.height}`);
  };
  switch (step.op) {
    case 'resize':
    case 'thumbnail': {
      const target = resizedSize(size, step.geometry);
      if (target.width === size.width && target.height === size.height) return null;
      guard(target);
      return image.resize(target.width, target.height, { fit: 'fill' });
    }
    case 'resizef': {
      const box = boxSize(size, step.geometry);
      guard(box);
      return image.resize(box.width, box.height, { fit: 'fill' });
    }
    case 'resizecrop': {
      const box = boxSize(size, step.geometry);
      guard(box);
      return image.resize(box.width, box.height, { fit: 'cover', position: 'centre' });
    }
    case 'resizec': {
      const box = boxSize(size, step.geometry);
      guard(box);
      if (box.width >= size.width && box.height >= size.height) return extendTo(image, size, box);
      return image.resize(box.width, box.height, { fit: 'inside' });
    }
    case 'extent': {
      const box = boxSize(size, step.geometry);
      guard(box);
      return extentTo(image, size, box);
    }
    case 'crop':
    case 'cropcenter': {
      const region = cropRegion(size, step.geometry, step.op === 'cropcenter');
      if (region === null) throw new DimsError('empty-region', `${step.op}/${step.arg} lies outside ${size.width}x${size.height}`);
      return image.extract(region);
    }
    case 'trim':
      return image.trim({ background: '#ffffff', threshold: step.threshold });
    case 'grayscale':
      return image.grayscale();
    case 'invert':
      return image.negate({ alpha: false });
    case 'flip':
      return image.flip();
    case 'flop':
      return image.flop();
    case 'rotate': {
      const rad = (step.degrees * Math.PI) / 180;
      guard({ width: Math.ceil(Math.abs(size.width * Math.cos(rad)) + Math.abs(size.height * Math.sin(rad))), height: Math.ceil(Math.abs(size.width * Math.sin(rad)) + Math.abs(size.height * Math.cos(rad))) });
      return image.rotate(step.degrees, { background: WHITE });
    }
    case 'bright':
      return image.modulate({ brightness: 1 + step.percent / 100 });
    case 'sepia':
      return image.pipelineColourspace('srgb').recomb(sepiaMatrix(step.amount)).toColourspace('srgb');
    case 'round':
      return roundCorners(image, size, step.radius);
    case 'composite': {
      const asset = ctx.composites.get(step.name);
      if (asset === undefined) return null;
      return overlay(image, size, await fitOverlay(asset.image, size, asset.dissolve), asset);
    }
    case 'annotation': {
      const layers: OverlayOptions[] = [];
      for (const name of step.names) {
        const note = ctx.annotations.get(name);
        const text = note === undefined ? null : annotationText(note, ctx.query);
        if (note === undefined || text === null || text === '') continue;
        const rendered = await renderText(note, text);
        const fitted = await fitOverlay(rendered, size, note.dissolve);
        layers.push(placed(fitted, size, note));
      }
      return layers.length === 0 ? null : image.composite(layers);
    }
    case 'byoriginal':
      return null;
  }
}

/** Grows the canvas to `box`, the image centred (resizec when enlarging). */
function extendTo(image: Sharp, size: Size, box: Size): Sharp {
  const dx = box.width - size.width;
  const dy = box.height - size.height;
  return image.extend({ left: Math.floor(dx / 2), right: Math.ceil(dx / 2), top: Math.floor(dy / 2), bottom: Math.ceil(dy / 2), background: WHITE });
}

/** Sets the canvas to `box` without scaling: crops a larger side, pads a smaller one, centred (extent). */
function extentTo(image: Sharp, size: Size, box: Size): Sharp {
  const cutW = Math.max(0, size.width - box.width);
  const cutH = Math.max(0, size.height - box.height);
  let out = image;
  if (cutW > 0 || cutH > 0) out = out.extract({ left: Math.floor(cutW / 2), top: Math.floor(cutH / 2), width: size.width - cutW, height: size.height - cutH });
  const padW = Math.max(0, box.width - size.width);
  const padH = Math.max(0, box.height - size.height);
  if (padW > 0 || padH > 0) out = out.extend({ left: Math.floor(padW / 2), right: Math.ceil(padW / 2), top: Math.floor(padH / 2), bottom: Math.ceil(padH / 2), background: WHITE });
  return out;
}

/** Sepia tone blended with the identity by `amount` (0..1): the classic sepia matrix. */
function sepiaMatrix(amount: number): [[number, number, number], [number, number, number], [number, number, number]] {
  const sepia = [
    [0.393, 0.769, 0.189],
    [0.349, 0.686, 0.168],
    [0.272, 0.534, 0.131],
  ];
  const row = (r: number): [number, number, number] => [0, 1, 2].map((c) => (1 - amount) * (r === c ? 1 : 0) + amount * (sepia[r]?.[c] ?? 0)) as [number, number, number];
  return [row(0), row(1), row(2)];
}

/** Rounded corners of `radius` pixels: the image masked by a rounded rectangle (transparent corners). */
function roundCorners(image: Sharp, size: Size, radius: number): Sharp {
  const r = Math.min(radius, Math.floor(Math.min(size.width, size.height) / 2));
  const mask = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${size.width}" height="${size.height}"><rect width="${size.width}" height="${size.height}" rx="${r}" ry="${r}"/></svg>`);
  return image.ensureAlpha().composite([{ input: mask, blend: 'dest-in' }]);
}

/** An overlay scaled down to fit inside the image (sharp refuses larger ones) with its opacity multiplied by `dissolve`%. */
async function fitOverlay(input: Buffer, size: Size, dissolve: number): Promise<{ data: Buffer; width: number; height: number }> {
  let layer = sharp(input, { limitInputPixels: 4096 * 4096 }).ensureAlpha().resize(size.width, size.height, { fit: 'inside', withoutEnlargement: true });
  if (dissolve < 100) {
    const alpha = Math.round((255 * dissolve) / 100);
    const flat = await layer.png().toBuffer();
    layer = sharp(flat).composite([{ input: Buffer.from([255, 255, 255, alpha]), raw: { width: 1, height: 1, channels: 4 }, tile: true, blend: 'dest-in' }]);
  }
  const { data, info } = await layer.png().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The overlay's top-left corner from its gravity and `+x+y` offset (offsets push inward from the gravity's edges). */
function placed(layer: { data: Buffer; width: number; height: number }, size: Size, at: DimsPlacement): OverlayOptions {
  const dx = at.percent ? Math.round((size.width * at.x) / 100) : at.x;
  const dy = at.percent ? Math.round((size.height * at.y) / 100) : at.y;
  const g = at.gravity;
  const left = g.endsWith('w') ? dx : g.endsWith('e') ? size.width - layer.width - dx : Math.floor((size.width - layer.width) / 2) + dx;
  const top = g.startsWith('n') ? dy : g.startsWith('s') ? size.height - layer.height - dy : Math.floor((size.height - layer.height) / 2) + dy;
  const clamp = (v: number, max: number): number => Math.max(0, Math.min(max, v));
  return { input: layer.data, left: clamp(left, size.width - layer.width), top: clamp(top, size.height - layer.height) };
}

function overlay(image: Sharp, size: Size, layer: { data: Buffer; width: number; height: number }, at: DimsPlacement): Sharp {
  return image.composite([placed(layer, size, at)]);
}

const MARKUP_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Renders the text with Pango (markup-escaped: the text may come from the client's query). */
async function renderText(note: DimsAnnotationConfig, text: string): Promise<Buffer> {
  const escaped = text.replace(/[&<>"']/g, (c) => MARKUP_ESCAPES[c] ?? c);
  const markup = `<span foreground="${note.fontColor}" size="${note.fontSize * 768}">${escaped}</span>`;
  const rendered = await sharp({ text: { text: markup, font: note.font, rgba: true, dpi: 96 } }).png().toBuffer();
  if (note.backgroundColor === null) return rendered;
  return sharp(rendered).flatten({ background: note.backgroundColor }).ensureAlpha().png().toBuffer();
}

/** The encoder of `format` at `quality` (null = the encoder's default); `optimize` spends more effort on size. */
function encode(image: Sharp, format: OutputFormat, quality: number | null, optimize: boolean): Sharp {
  const q = quality ?? undefined;
  switch (format) {
    case 'jpeg':
      return image.flatten({ background: WHITE }).jpeg({ quality: q, mozjpeg: optimize });
    case 'png':
      return image.png({ compressionLevel: optimize ? 9 : 6 });
    case 'gif':
      return image.gif();
    case 'webp':
      return image.webp({ quality: q, effort: optimize ? 6 : 4 });
    case 'avif':
      // effort 2 (of 0-9): AVIF encoding at the default 4 takes several times longer, which an edge pays per miss.
      return image.avif({ quality: q, effort: optimize ? 4 : 2 });
  }
}
