import { badRequest } from "./api-error.js";
import { targetSize } from "./image-render.js";
import type { TransformStep } from "./transformation.js";

/**
 * FACTS (Cloudinary, free plan), checked 2026-11-29:
 * - Each product environment has a maximum image resolution, reported by the Admin API `usage`
 *   call as `media_limits.image_max_px` (and `asset_max_total_px` for all frames/pages)
 *   (cloudinary/cloudinary_npm docs/upload-image.md, "Size limits"); the Console's Account page
 *   lists the plan's "max transformation resolution" (cloudinary.com/documentation/
 *   developer_onboarding_faq_usage_limits). The free plan's value, 25 megapixels, is the
 *   commonly cited one (not found verbatim in the docs this was checked against): a knob
 *   (maxPixels) with that default. It applies to the original and to every derived image.
 * - Delivery errors are a 400 with the reason in the `X-Cld-Error` header
 *   (cloudinary.com/documentation/ts_what_are_the_common_error_codes_returned_in_the_x_cld_error_header_when_delivering_assets).
 * - Limit messages read "<What> too large. Got <n>. Maximum is <max>." (seen for the file
 *   size: "File size too large. Got 12419652. Maximum is 10485760.", support.cloudinary.com
 *   community post 360007007940). The exact wording of the pixel message is unpublished; this
 *   stand-in uses the same shape.
 * - A maximum length of the transformation string is unpublished; 255 characters is the
 *   documented public_id limit. The stand-in refuses transformation strings over 2,048
 *   characters (far beyond any real one) so parsing work stays bounded.
 */
export const FREE_PLAN_MAX_IMAGE_PIXELS = 25_000_000;
export const MAX_TRANSFORMATION_LENGTH = 2_048;
/**
 * Time budget of one render (its process is killed past it; libvips' own timeout too). What
 * Cloudinary answers when a derived image takes too long is unpublished; the stand-in answers
 * 504 with the reason in x-cld-error.
 */
export const RENDER_TIME_BUDGET_SECONDS = 20;

export function checkTransformationLength(text: string): void {
  if (text.length > MAX_TRANSFORMATION_LENGTH) {
    throw badRequest(`Transformation too long. Got ${text.length} characters. Maximum is ${MAX_TRANSFORMATION_LENGTH}.`);
  }
}

function tooLarge(width: number, height: number, maxPixels: number): Error {
  const pixels = width * height;
  const got = Number.isSafeInteger(pixels) ? String(pixels) : pixels.toExponential(3);
  return badRequest(`Image too large. Got ${got} pixels (${width}x${height}). Maximum is ${maxPixels}.`);
}

function fitFactor(width: number | undefined, height: number | undefined, inputWidth: number, inputHeight: number): number {
  return Math.min(width === undefined ? Infinity : width / inputWidth, height === undefined ? Infinity : height / inputHeight);
}

function scaled(width: number, height: number, factor: number): { width: number; height: number } {
  return { width: Math.max(1, Math.ceil(width * factor)), height: Math.max(1, Math.ceil(height * factor)) };
}

/** The largest size one step can produce from an input of the given size (an upper bound). */
export function stepOutputBound(step: TransformStep, inputWidth: number, inputHeight: number): { width: number; height: number } {
  const upright = resizeBound(step, inputWidth, inputHeight);
  if (step.angle === undefined || step.angle % 360 === 0) return upright;
  // sharp may turn the image before it resizes: bound both orders, then the turn itself
  const turned = resizeBound(step, inputHeight, inputWidth);
  // (with c_pad sharp pads the turned image to more than the box: bound by the longest side)
  const longest = Math.max(upright.width, upright.height, turned.width, turned.height);
  if (step.angle % 90 === 0) return { width: longest, height: longest };
  const side = Math.ceil(Math.SQRT2 * longest);
  return { width: side, height: side };
}

function resizeBound(step: TransformStep, inputWidth: number, inputHeight: number): { width: number; height: number } {
  const { width, height } = targetSize(step, inputWidth, inputHeight);
  let out: { width: number; height: number };
  if (width === undefined && height === undefined) out = { width: inputWidth, height: inputHeight };
  else if (step.crop === "crop") out = { width: Math.min(width ?? inputWidth, inputWidth), height: Math.min(height ?? inputHeight, inputHeight) };
  else if (step.crop === "limit") out = scaled(inputWidth, inputHeight, Math.min(1, fitFactor(width, height, inputWidth, inputHeight)));
  else if (step.crop === "lfill" && width !== undefined && height !== undefined) {
    // covers the box when that shrinks the image, else leaves it as it is
    out = Math.max(width / inputWidth, height / inputHeight) <= 1 ? { width, height } : { width: inputWidth, height: inputHeight };
  } else if (width !== undefined && height !== undefined && step.crop !== "mfit") out = { width, height };
  else {
    // one side given (the other follows the ratio), or mfit (covers the box): scale by the larger factor
    const factor = Math.max(width === undefined ? 0 : width / inputWidth, height === undefined ? 0 : height / inputHeight);
    // mfit never shrinks
    out = scaled(inputWidth, inputHeight, step.crop === "mfit" ? Math.max(1, factor) : factor);
  }
  return out;
}

/**
 * Refuse, before any pixel is decoded, an original or a step whose output is over the
 * resolution limit: what Cloudinary answers, and what keeps one URL from pinning a core.
 */
export function checkRenderLimits(steps: readonly TransformStep[], inputWidth: number, inputHeight: number, maxPixels = FREE_PLAN_MAX_IMAGE_PIXELS): void {
  if (inputWidth * inputHeight > maxPixels) throw tooLarge(inputWidth, inputHeight, maxPixels);
  let width = inputWidth;
  let height = inputHeight;
  for (const step of steps) {
    ({ width, height } = stepOutputBound(step, width, height));
    if (!(width * height <= maxPixels)) throw tooLarge(width, height, maxPixels);
  }
}
