import { badRequest } from "./api-error.js";

/**
 * Delivery transformations: `w_100,h_100,c_fill/e_grayscale/f_auto` is a chain of steps,
 * "/" between steps, "," between the parameters of one step. The stand-in renders the
 * subset below with sharp; any other Cloudinary parameter is refused with a 400 that says
 * so, never silently ignored (a page that looks right locally must look right in production).
 */
export type CropMode = "scale" | "fit" | "limit" | "mfit" | "fill" | "lfill" | "thumb" | "crop" | "pad" | "lpad";
export type Gravity = "auto" | "center" | "north" | "north_east" | "east" | "south_east" | "south" | "south_west" | "west" | "north_west";
export type OutputFormat = "jpg" | "png" | "webp" | "avif" | "gif" | "tiff";
export type Effect = { readonly name: "grayscale" } | { readonly name: "blur"; readonly strength: number } | { readonly name: "negate" };

export interface TransformStep {
  width?: number;
  height?: number;
  /** true when width/height were given as a fraction of the input (w_0.5). */
  relativeWidth?: boolean;
  relativeHeight?: boolean;
  aspectRatio?: number;
  crop?: CropMode;
  gravity?: Gravity;
  x?: number;
  y?: number;
  quality?: number | "auto" | "auto:best" | "auto:good" | "auto:eco" | "auto:low";
  format?: OutputFormat | "auto";
  effects: Effect[];
  radius?: number | "max";
  background?: string;
  angle?: number;
  dpr?: number;
}

/** Every parameter key Cloudinary knows; a segment made of these is a transformation. */
const CLOUDINARY_KEYS: ReadonlySet<string> = new Set([
  "a", "ac", "af", "ar", "b", "bo", "br", "c", "co", "cs", "d", "dl", "dn", "dpr", "du", "e", "eo",
  "f", "fl", "fn", "fps", "g", "h", "ki", "l", "o", "p", "pg", "q", "r", "so", "sp", "t", "u", "vc",
  "vs", "w", "x", "y", "z", "if",
]);

const CROPS: ReadonlySet<string> = new Set(["scale", "fit", "limit", "mfit", "fill", "lfill", "thumb", "crop", "pad", "lpad"]);
const GRAVITIES: ReadonlySet<string> = new Set(["auto", "center", "north", "north_east", "east", "south_east", "south", "south_west", "west", "north_west"]);
const FORMATS: Readonly<Record<string, OutputFormat | "auto">> = {
  jpg: "jpg", jpeg: "jpg", png: "png", webp: "webp", avif: "avif", gif: "gif", tiff: "tiff", tif: "tiff", auto: "auto",
};
const QUALITIES: ReadonlySet<string> = new Set(["auto", "auto:best", "auto:good", "auto:eco", "auto:low"]);

export const SUPPORTED_SUMMARY =
  "w_, h_, ar_, c_ (scale, fit, limit, mfit, fill, lfill, thumb, crop, pad, lpad), g_ (auto, center, compass), x_, y_, " +
  "q_ (1-100, auto[:best|good|eco|low]), f_ (jpg, png, webp, avif, gif, tiff, auto), e_ (grayscale, blur[:n], negate), " +
  "r_ (px, max), b_ (colour), a_ (degrees), dpr_";

function componentKey(component: string): string | undefined {
  const underscore = component.indexOf("_");
  if (underscore <= 0) return undefined;
  return component.slice(0, underscore);
}

/** Whether a URL path segment is a transformation (every component a known `key_value`). */
export function isTransformationSegment(segment: string): boolean {
  const key = componentKey(segment.split(",")[0] ?? "");
  return key !== undefined && (CLOUDINARY_KEYS.has(key) || key.startsWith("$"));
}

function invalidComponent(component: string): Error {
  return badRequest(`Invalid transformation component - ${component}`);
}

function unsupported(component: string): Error {
  return badRequest(
    `Transformation parameter ${component} is valid on Cloudinary but not implemented by the prodlike stand-in; supported: ${SUPPORTED_SUMMARY}`,
  );
}

function parseDimension(value: string, component: string, name: string): { value: number; relative: boolean } {
  if (!/^\d+(\.\d+)?$/.test(value)) throw badRequest(`Invalid ${name} - ${value}`);
  const number = Number(value);
  if (number <= 0) throw badRequest(`Invalid ${name} - ${value}`);
  if (value.includes(".") && number <= 1) return { value: number, relative: true };
  if (!Number.isInteger(number)) throw invalidComponent(component);
  // w_11111111111111111111 is past what any image can be: a 400 here, never a render error
  if (!Number.isSafeInteger(number)) throw badRequest(`Invalid ${name} - ${value}`);
  return { value: number, relative: false };
}

function parseInteger(value: string, component: string): number {
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw invalidComponent(component);
  return Number(value);
}

function parseAspectRatio(value: string, component: string): number {
  const ratio = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(value);
  const result = ratio ? Number(ratio[1]) / Number(ratio[2]) : Number(value);
  if (!Number.isFinite(result) || result <= 0) throw invalidComponent(component);
  return result;
}

function parseEffect(value: string, component: string): Effect {
  const [name, argument] = value.split(":", 2);
  if (name === "grayscale" && argument === undefined) return { name: "grayscale" };
  if (name === "negate" && argument === undefined) return { name: "negate" };
  if (name === "blur") {
    const strength = argument === undefined ? 100 : Number(argument);
    if (!Number.isInteger(strength) || strength < 1 || strength > 2000) throw invalidComponent(component);
    return { name: "blur", strength };
  }
  throw unsupported(component);
}

function applyComponent(step: TransformStep, component: string): void {
  const key = componentKey(component);
  if (key === undefined) throw invalidComponent(component);
  const value = component.slice(key.length + 1);
  if (value === "") throw invalidComponent(component);
  switch (key) {
    case "w": {
      const width = parseDimension(value, component, "width");
      step.width = width.value;
      step.relativeWidth = width.relative;
      return;
    }
    case "h": {
      const height = parseDimension(value, component, "height");
      step.height = height.value;
      step.relativeHeight = height.relative;
      return;
    }
    case "ar":
      step.aspectRatio = parseAspectRatio(value, component);
      return;
    case "c":
      if (!CROPS.has(value)) throw CLOUDINARY_CROPS.has(value) ? unsupported(component) : invalidComponent(component);
      step.crop = value as CropMode;
      return;
    case "g":
      if (!GRAVITIES.has(value)) throw unsupported(component);
      step.gravity = value as Gravity;
      return;
    case "x":
      step.x = parseInteger(value, component);
      return;
    case "y":
      step.y = parseInteger(value, component);
      return;
    case "q": {
      if (QUALITIES.has(value)) step.quality = value as TransformStep["quality"];
      else {
        const quality = parseInteger(value, component);
        if (quality < 1 || quality > 100) throw invalidComponent(component);
        step.quality = quality;
      }
      return;
    }
    case "f": {
      const format = FORMATS[value];
      if (!format) throw unsupported(component);
      step.format = format;
      return;
    }
    case "e":
      step.effects.push(parseEffect(value, component));
      return;
    case "r": {
      if (value === "max") step.radius = "max";
      else {
        const radius = parseInteger(value, component);
        if (radius < 0) throw invalidComponent(component);
        step.radius = radius;
      }
      return;
    }
    case "b":
      step.background = parseColour(value, component);
      return;
    case "a":
      step.angle = parseInteger(value, component);
      return;
    case "dpr": {
      const dpr = Number(value);
      if (!Number.isFinite(dpr) || dpr <= 0 || dpr > 5) throw unsupported(component);
      step.dpr = dpr;
      return;
    }
    default:
      throw CLOUDINARY_KEYS.has(key) ? unsupported(component) : invalidComponent(component);
  }
}

const CLOUDINARY_CROPS: ReadonlySet<string> = new Set(["imagga_crop", "imagga_scale", "mpad", "fill_pad", "auto", "auto_pad"]);
const NAMED_COLOURS: ReadonlySet<string> = new Set(["white", "black", "red", "green", "blue", "yellow", "gray", "grey", "transparent"]);

function parseColour(value: string, component: string): string {
  const rgb = /^rgb:([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.exec(value);
  if (rgb) return `#${rgb[1]}`;
  if (NAMED_COLOURS.has(value)) return value === "transparent" ? "#00000000" : value;
  throw unsupported(component);
}

/** Parse one step ("w_100,h_100,c_fill"). Throws a CloudinaryApiError (400) on bad input. */
export function parseStep(segment: string): TransformStep {
  const step: TransformStep = { effects: [] };
  for (const component of segment.split(",")) applyComponent(step, component);
  return step;
}

/** Parse a chain ("c_fill,w_100/e_grayscale"). An empty string is the empty chain. */
export function parseTransformation(text: string): TransformStep[] {
  if (text === "") return [];
  return text.split("/").map((segment) => parseStep(segment));
}

/**
 * A canonical text for a chain, used as the cache key: parameters sorted inside each step so
 * `h_100,w_100` and `w_100,h_100` share one derived object.
 */
export function canonicalTransformation(text: string): string {
  if (text === "") return "";
  return text
    .split("/")
    .map((segment) => segment.split(",").sort().join(","))
    .join("/");
}
