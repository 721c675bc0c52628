/**
 * @module transform/dims/geometry
 * ImageMagick-style geometry strings as DIMS URLs carry them (`200x150`, `200`, `x150`, `50%`, `40000@`,
 * `200x150!`, `200x150>`, `200x150<`, `200x150^`, `100x100+10+20`) and the size arithmetic of ImageMagick's
 * `-resize`/`-thumbnail` over them. Pure; the parser (url.ts) reads them, the runner (run.ts) sizes with them.
 * Invariant: a parsed geometry never names a side above MAX_SIDE, so the arithmetic stays in safe integers.
 */

/** Largest width or height a DIMS URL may ask for (libvips' WebP limit; JPEG's is 65 500). */
export const MAX_SIDE = 16_383;
/** Largest percentage a geometry may scale by (10x). */
export const MAX_PERCENT = 1000;

/** One parsed geometry. `width`/`height` null = not given. Flags as in ImageMagick's geometry syntax. */
export interface Geometry {
  readonly width: number | null;
  readonly height: number | null;
  /** Offset (`+X+Y`, `-X-Y`), pixels; null = none given. */
  readonly x: number | null;
  readonly y: number | null;
  /** `%`: width and height are percentages of the current size. */
  readonly percent: boolean;
  /** `@`: width is an area in pixels the result must not exceed. */
  readonly area: boolean;
  /** `!`: exactly width x height, aspect ratio ignored. */
  readonly exact: boolean;
  /** `>`: only shrink an image larger than the geometry. */
  readonly onlyShrink: boolean;
  /** `<`: only enlarge an image smaller than the geometry. */
  readonly onlyEnlarge: boolean;
  /** `^`: the geometry is the minimum size (fill), not the maximum (fit). */
  readonly fill: boolean;
}

const FORM = /^(\d{1,9})?(?:x(\d{1,5})?)?(?:([+-]\d{1,5})([+-]\d{1,5}))?([%@!<>^]{0,5})$/;

/** Parses a geometry; returns the problem as text for a malformed or out-of-range one. */
export function parseGeometry(text: string): Geometry | string {
  const m = FORM.exec(text);
  if (m === null) return 'not a geometry (WxH, W, xH, with optional +X+Y and flags % @ ! < > ^)';
  const flags = m[5] ?? '';
  if (new Set(flags).size !== flags.length) return 'a geometry flag is repeated';
  const width = m[1] === undefined ? null : Number(m[1]);
  const height = m[2] === undefined ? null : Number(m[2]);
  if (width === null && height === null) return 'a geometry needs a width or a height';
  const g: Geometry = {
    width,
    height,
    x: m[3] === undefined ? null : Number(m[3]),
    y: m[4] === undefined ? null : Number(m[4]),
    percent: flags.includes('%'),
    area: flags.includes('@'),
    exact: flags.includes('!'),
    onlyShrink: flags.includes('>'),
    onlyEnlarge: flags.includes('<'),
    fill: flags.includes('^'),
  };
  if (g.onlyShrink && g.onlyEnlarge) return 'flags < and > exclude each other';
  if (g.area && (g.percent || g.exact || g.fill || height !== null)) return 'an area geometry (N@) takes no height and no % ! ^';
  if ((g.exact || g.fill) && g.percent) return 'flags ! and ^ do not combine with %';
  if (g.area) return width === 0 ? 'the area must be at least 1' : g;
  const limit = g.percent ? MAX_PERCENT : MAX_SIDE;
  for (const side of [width, height]) {
    if (side === null) continue;
    if (side === 0) return 'a side of 0';
    if (side > limit) return g.percent ? `more than ${MAX_PERCENT}%` : `a side above ${MAX_SIDE} pixels`;
  }
  return g;
}

/** A size in pixels. */
export interface Size {
  readonly width: number;
  readonly height: number;
}

const atLeastOne = (n: number): number => Math.max(1, Math.round(n));

/**
 * The size ImageMagick's `-resize <geometry>` gives an image of `source`: fit inside (or cover with `^`), keeping
 * the aspect ratio unless `!`; `%` scales, `@` bounds the area; `>`/`<` may leave the image as it is.
 */
export function resizedSize(source: Size, g: Geometry): Size {
  const { width: sw, height: sh } = source;
  if (g.area) {
    const area = g.width ?? 1;
    const scale = Math.sqrt(area / (sw * sh));
    return scale >= 1 ? source : { width: Math.max(1, Math.floor(sw * scale)), height: Math.max(1, Math.floor(sh * scale)) };
  }
  let target: Size;
  if (g.percent) {
    const px = g.width ?? g.height ?? 100;
    const py = g.height ?? px;
    target = { width: atLeastOne((sw * px) / 100), height: atLeastOne((sh * py) / 100) };
  } else if (g.width !== null && g.height !== null && g.exact) {
    target = { width: g.width, height: g.height };
  } else {
    const sx = g.width === null ? null : g.width / sw;
    const sy = g.height === null ? null : g.height / sh;
    const scale = sx === null ? (sy as number) : sy === null ? sx : g.fill ? Math.max(sx, sy) : Math.min(sx, sy);
    target = { width: atLeastOne(sw * scale), height: atLeastOne(sh * scale) };
  }
  const boxW = g.percent ? target.width : (g.width ?? target.width);
  const boxH = g.percent ? target.height : (g.height ?? target.height);
  if (g.onlyShrink && sw <= boxW && sh <= boxH) return source;
  if (g.onlyEnlarge && (sw >= boxW || sh >= boxH)) return source;
  return target;
}

/** The box a geometry names for canvas operations (extent, cropcenter, resizec, resizecrop): `%` of `source`. */
export function boxSize(source: Size, g: Geometry): Size {
  if (g.percent) return resizedSize(source, { ...g, exact: true });
  if (g.area) return resizedSize(source, g);
  return { width: g.width ?? atLeastOne((source.width * (g.height as number)) / source.height), height: g.height ?? atLeastOne((source.height * (g.width as number)) / source.width) };
}

/** A rectangle inside an image. */
export interface Region {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The region `crop/<geometry>` cuts from an image of `source`: the box at +X+Y (centred when `center` or when no
 * offset is given with cropcenter), clipped to the image; null when nothing of it lies inside.
 */
export function cropRegion(source: Size, g: Geometry, center: boolean): Region | null {
  const box = boxSize(source, g);
  let left = center ? Math.floor((source.width - box.width) / 2) + (g.x ?? 0) : (g.x ?? 0);
  let top = center ? Math.floor((source.height - box.height) / 2) + (g.y ?? 0) : (g.y ?? 0);
  let right = left + box.width;
  let bottom = top + box.height;
  left = Math.max(0, left);
  top = Math.max(0, top);
  right = Math.min(source.width, right);
  bottom = Math.min(source.height, bottom);
  if (right <= left || bottom <= top) return null;
  return { left, top, width: right - left, height: bottom - top };
}
