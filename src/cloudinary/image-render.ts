import sharp, { type OutputInfo, type Sharp } from "sharp";
import { CloudinaryApiError } from "./api-error.js";
import { FREE_PLAN_MAX_IMAGE_PIXELS, RENDER_TIME_BUDGET_SECONDS } from "./render-limits.js";
import type { Gravity, OutputFormat, TransformStep } from "./transformation.js";

/** sharp over bytes in memory, never decoding more than the resolution limit allows. */
function load(input: Buffer, options: { animated?: boolean } = {}): Sharp {
  return sharp(input, { ...options, limitInputPixels: FREE_PLAN_MAX_IMAGE_PIXELS });
}

/** Encode with libvips' own time budget: past it libvips stops the pipeline and sharp rejects. */
async function budgeted(image: Sharp): Promise<{ data: Buffer; info: OutputInfo }> {
  try {
    return await image.timeout({ seconds: RENDER_TIME_BUDGET_SECONDS }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    if (err instanceof Error && /timeout/i.test(err.message)) {
      throw new CloudinaryApiError(504, `Transformation timed out after ${RENDER_TIME_BUDGET_SECONDS} s in the prodlike stand-in`);
    }
    throw err;
  }
}

export interface RenderedImage {
  readonly data: Buffer;
  readonly format: OutputFormat;
  readonly width: number;
  readonly height: number;
}

const POSITIONS: Record<Exclude<Gravity, "auto">, string> = {
  center: "centre",
  north: "north",
  north_east: "northeast",
  east: "east",
  south_east: "southeast",
  south: "south",
  south_west: "southwest",
  west: "west",
  north_west: "northwest",
};

/** The output format of a chain: the last f_ wins, then the URL extension, then the original. */
export function chooseFormat(steps: readonly TransformStep[], requested: OutputFormat | undefined, original: OutputFormat, accept: string): OutputFormat {
  let format: OutputFormat | "auto" | undefined = requested;
  for (const step of steps) if (step.format) format = step.format;
  if (format !== "auto") return format ?? original;
  // f_auto: the most efficient format the client says it takes, as Cloudinary negotiates it.
  if (/image\/avif/.test(accept)) return "avif";
  if (/image\/webp/.test(accept)) return "webp";
  return original === "png" || original === "gif" ? original : "jpg";
}

function position(gravity: Gravity | undefined): string | number {
  if (gravity === "auto") return sharp.strategy.attention;
  return POSITIONS[gravity ?? "center"];
}

export function targetSize(step: TransformStep, inputWidth: number, inputHeight: number): { width?: number; height?: number } {
  const dpr = step.dpr ?? 1;
  let width = step.width === undefined ? undefined : step.relativeWidth ? step.width * inputWidth : step.width;
  let height = step.height === undefined ? undefined : step.relativeHeight ? step.height * inputHeight : step.height;
  if (step.aspectRatio !== undefined) {
    if (width !== undefined && height === undefined) height = width / step.aspectRatio;
    else if (height !== undefined && width === undefined) width = height * step.aspectRatio;
    else if (width === undefined && height === undefined) {
      // ar_ alone crops the original to that ratio
      const inputRatio = inputWidth / inputHeight;
      if (inputRatio > step.aspectRatio) {
        height = inputHeight;
        width = inputHeight * step.aspectRatio;
      } else {
        width = inputWidth;
        height = inputWidth / step.aspectRatio;
      }
    }
  }
  const round = (value: number | undefined) => (value === undefined ? undefined : Math.max(1, Math.round(value * dpr)));
  return { width: round(width), height: round(height) };
}

function resize(image: Sharp, step: TransformStep, inputWidth: number, inputHeight: number): Sharp {
  const { width, height } = targetSize(step, inputWidth, inputHeight);
  if (width === undefined && height === undefined) return image;
  const crop = step.crop ?? (step.aspectRatio !== undefined && step.width === undefined && step.height === undefined ? "crop" : "scale");
  const background = step.background ?? "white";
  switch (crop) {
    case "scale":
      return image.resize({ width, height, fit: width !== undefined && height !== undefined ? "fill" : "inside" });
    case "fit":
      return image.resize({ width, height, fit: "inside" });
    case "limit":
      return image.resize({ width, height, fit: "inside", withoutEnlargement: true });
    case "mfit":
      return image.resize({ width, height, fit: "outside", withoutReduction: true });
    case "fill":
    case "thumb":
      return image.resize({ width, height, fit: "cover", position: position(step.gravity) });
    case "lfill":
      return image.resize({ width, height, fit: "cover", position: position(step.gravity), withoutEnlargement: true });
    case "pad":
      return image.resize({ width, height, fit: "contain", position: position(step.gravity === "auto" ? "center" : step.gravity), background });
    case "lpad":
      return image.resize({ width, height, fit: "contain", background, withoutEnlargement: true });
    case "crop": {
      const cropWidth = Math.min(width ?? inputWidth, inputWidth);
      const cropHeight = Math.min(height ?? inputHeight, inputHeight);
      const { left, top } = cropOrigin(step, inputWidth, inputHeight, cropWidth, cropHeight);
      return image.extract({ left, top, width: cropWidth, height: cropHeight });
    }
  }
}

function cropOrigin(step: TransformStep, inputWidth: number, inputHeight: number, width: number, height: number): { left: number; top: number } {
  const clamp = (value: number, max: number) => Math.min(Math.max(0, Math.round(value)), max);
  if (step.x !== undefined || step.y !== undefined) {
    return { left: clamp(step.x ?? 0, inputWidth - width), top: clamp(step.y ?? 0, inputHeight - height) };
  }
  const gravity = step.gravity === "auto" || step.gravity === undefined ? "center" : step.gravity;
  const horizontal = gravity.includes("west") ? 0 : gravity.includes("east") ? inputWidth - width : (inputWidth - width) / 2;
  const vertical = gravity.includes("north") ? 0 : gravity.includes("south") ? inputHeight - height : (inputHeight - height) / 2;
  return { left: clamp(horizontal, inputWidth - width), top: clamp(vertical, inputHeight - height) };
}

async function roundCorners(input: Buffer, radius: number | "max"): Promise<Buffer> {
  const { width = 1, height = 1 } = await load(input).metadata();
  const r = radius === "max" ? Math.min(width, height) / 2 : Math.min(radius, Math.min(width, height) / 2);
  const mask = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      (radius === "max"
        ? `<ellipse cx="${width / 2}" cy="${height / 2}" rx="${width / 2}" ry="${height / 2}"/>`
        : `<rect x="0" y="0" width="${width}" height="${height}" rx="${r}" ry="${r}"/>`) +
      `</svg>`,
  );
  return (await budgeted(load(input).ensureAlpha().composite([{ input: mask, blend: "dest-in" }]).png())).data;
}

/** The sharp pipeline of one step (resize, effects, rotation), not yet encoded. */
async function stepPipeline(input: Buffer, step: TransformStep): Promise<Sharp> {
  const meta = await load(input).metadata();
  const width = meta.autoOrient?.width ?? meta.width ?? 1;
  const height = meta.autoOrient?.height ?? meta.height ?? 1;
  let image = load(input, { animated: false }).rotate(); // honour EXIF orientation, as Cloudinary does
  image = resize(image, step, width, height);
  for (const effect of step.effects) {
    if (effect.name === "grayscale") image = image.grayscale();
    else if (effect.name === "negate") image = image.negate({ alpha: false });
    else image = image.blur(Math.max(0.3, effect.strength / 20));
  }
  if (step.angle !== undefined && step.angle % 360 !== 0) image = image.rotate(step.angle, { background: step.background ?? "white" });
  return image;
}

async function applyStep(input: Buffer, step: TransformStep): Promise<Buffer> {
  // a lossless intermediate; the final encode happens once, at the end
  let output: Buffer = (await budgeted((await stepPipeline(input, step)).png())).data;
  if (step.radius !== undefined && step.radius !== 0) output = await roundCorners(output, step.radius);
  return output;
}

function qualityFor(steps: readonly TransformStep[], format: OutputFormat): number | undefined {
  let quality: TransformStep["quality"];
  for (const step of steps) if (step.quality !== undefined) quality = step.quality;
  if (quality === undefined) return undefined;
  if (typeof quality === "number") return quality;
  const auto = { "auto": 80, "auto:good": 80, "auto:best": 90, "auto:eco": 70, "auto:low": 60 }[quality];
  return format === "avif" ? Math.round(auto * 0.65) : auto;
}

function encode(image: Sharp, format: OutputFormat, quality: number | undefined): Sharp {
  switch (format) {
    case "jpg":
      return image.flatten({ background: "white" }).jpeg({ quality: quality ?? 80, mozjpeg: true });
    case "png":
      return image.png(quality === undefined ? {} : { quality, palette: quality < 100 });
    case "webp":
      return image.webp({ quality: quality ?? 80 });
    case "avif":
      return image.avif({ quality: quality ?? 50, effort: 2 });
    case "gif":
      return image.gif();
    case "tiff":
      return image.tiff({ quality: quality ?? 80 });
  }
}

/** Render a chain over an image held in memory (Cloudinary caps images at a few MB). */
export async function renderImage(original: Buffer, steps: readonly TransformStep[], format: OutputFormat): Promise<RenderedImage> {
  const quality = qualityFor(steps, format);
  const imageSteps = steps.filter((step) => hasPixelWork(step));
  let image: Sharp;
  const only = imageSteps.length === 1 ? imageSteps[0] : undefined;
  if (imageSteps.length === 0) {
    image = load(original, { animated: format === "gif" }).rotate();
  } else if (only && (only.radius === undefined || only.radius === 0)) {
    // the common case (w_,h_,c_ …) in one pipeline, decoded and encoded once
    image = await stepPipeline(original, only);
  } else {
    let current = original;
    for (const step of imageSteps) current = await applyStep(current, step);
    image = load(current);
  }
  const { data, info } = await budgeted(encode(image, format, quality));
  return { data, format, width: info.width, height: info.pageHeight ?? info.height };
}

function hasPixelWork(step: TransformStep): boolean {
  return (
    step.width !== undefined ||
    step.height !== undefined ||
    step.aspectRatio !== undefined ||
    step.effects.length > 0 ||
    step.radius !== undefined ||
    step.angle !== undefined
  );
}
