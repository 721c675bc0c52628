/**
 * @module config/types-dims
 * <Options><Dims> (image transformation by URL) and the server-wide DIMS execution limits.
 * Types (and the value lists their unions come from) only; part of config/types.ts, which re-exports it. Used by
 * every process: the primary builds the Config (config/validate.ts), workers receive it over IPC.
 */
/** DIMS gravity (STON `<Composite Gravity>`): where an overlay sits on the image. */
export const DIMS_GRAVITIES = ['nw', 'n', 'ne', 'w', 'c', 'e', 'sw', 's', 'se'] as const;
export type DimsGravity = (typeof DIMS_GRAVITIES)[number];

/** Where and how an overlay (`<Composite>`, `<Annotation>`) is drawn: gravity, `Geometry="+x+y[%]"`, `Dissolve`. */
export interface DimsPlacement {
  readonly gravity: DimsGravity;
  /** Offset from the gravity's edge, pixels (or percent of the image with `percent`). */
  readonly x: number;
  readonly y: number;
  readonly percent: boolean;
  /** Opacity of the overlay, 0-100 (`Dissolve`). Default 100. */
  readonly dissolve: number;
}

/** `<Dims><Composite Name File Gravity Geometry Dissolve>`: a watermark for `composite/<name>`. */
export interface DimsCompositeConfig extends DimsPlacement {
  readonly name: string;
  readonly file: string;
  /** The file's bytes, base64, read at config load (a config must stay plain data for IPC and freezing). */
  readonly imageBase64: string;
}

/** `<Dims><Annotation Name Text FontSize FontColor BackgroundColor Gravity Geometry Dissolve>`: text for `annotation/<name>`. */
export interface DimsAnnotationConfig extends DimsPlacement {
  readonly name: string;
  /** Static text; null when it comes from the query (`$QUERYSTRING[key]`). */
  readonly text: string | null;
  /** Query parameter the text is read from; null for static text. */
  readonly queryKey: string | null;
  /** Pango font description (`sans`, `serif bold`). Default sans. */
  readonly font: string;
  /** Pixels. Default 24. */
  readonly fontSize: number;
  /** `#rrggbb`. Default #ffffff. */
  readonly fontColor: string;
  /** `#rrggbb` box behind the text; null = none. */
  readonly backgroundColor: string | null;
}

/** `<Dims><ByOriginal Name><Condition Width Height>/chain/</Condition>...`: a chain chosen by the source's size. */
export interface DimsByOriginalConfig {
  readonly name: string;
  /** In order; the first whose Width and Height the source reaches applies. */
  readonly conditions: ReadonlyArray<{ readonly width: number; readonly height: number; readonly chain: string }>;
}

/** `<Options><Dims Status="Active">` (issue 21, STON image.html): image transformation by URL. */
export interface DimsConfig {
  /** `Keyword`: the path segment that starts the chain. Default dims. */
  readonly keyword: string;
  /** `MaxSourceSize` (MiB in XML): larger originals are served as they are. Default 10 MiB. */
  readonly maxSourceBytes: number;
  /** `MaxPixels`: sources with more pixels (width x height x frames) are served as they are. Default 50 000 000. */
  readonly maxPixels: number;
  /** `FirstFrameOnly`: animated sources keep only their first frame unless the chain says otherwise. Default OFF. */
  readonly firstFrameOnly: boolean;
  readonly composites: readonly DimsCompositeConfig[];
  readonly annotations: readonly DimsAnnotationConfig[];
  readonly byOriginal: readonly DimsByOriginalConfig[];
}

/** `<Server><Cache><Dims>` (Flint's own): how much DIMS work one worker runs at once. */
export interface DimsLimits {
  /** `Concurrency`: conversions one worker runs at once (each takes a libuv pool thread). Default 2. */
  readonly concurrency: number;
  /** `Queue`: conversions waiting per worker; beyond it the request gets 503 + Retry-After. Default 32. */
  readonly queueLimit: number;
  /** `Timeout` (seconds in XML): one conversion's time limit, queueing included. Default 10 s. */
  readonly timeoutMs: number;
}
