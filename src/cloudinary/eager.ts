import { badRequest } from "./api-error.js";
import type { StandInContext } from "./context.js";
import { derivedImage } from "./derived.js";
import { chooseFormat } from "./image-render.js";
import type { ResourceRecord } from "./resources.js";
import { deliveryUrls } from "./response-shape.js";
import { isTransformationSegment, parseTransformation, type OutputFormat } from "./transformation.js";

const OUTPUT_FORMATS: ReadonlySet<string> = new Set(["jpg", "png", "webp", "avif", "gif", "tiff"]);

/** The original's format as a sharp output format (svg/heic render to png/jpg). */
export function renderFormatOf(record: ResourceRecord): OutputFormat {
  const format = record.format ?? "png";
  if (OUTPUT_FORMATS.has(format)) return format as OutputFormat;
  return format === "svg" ? "png" : "jpg";
}

/**
 * `eager` as the SDKs send it: transformations separated by "|", each optionally ending in
 * "/<format>" (`c_fill,w_100|e_grayscale/png`). Renders them now and reports them.
 */
export async function eagerResults(ctx: StandInContext, record: ResourceRecord, eager: string | undefined): Promise<Record<string, unknown>[]> {
  if (!eager) return [];
  if (record.resource_type !== "image") throw badRequest("Eager transformations are only implemented for images by the prodlike stand-in");
  const results: Record<string, unknown>[] = [];
  for (const entry of eager.split("|").filter(Boolean)) {
    const segments = entry.split("/");
    let extension: string | undefined;
    const last = segments.at(-1) ?? "";
    if (segments.length > 1 && !isTransformationSegment(last)) {
      extension = last;
      segments.pop();
    }
    if (extension !== undefined && !OUTPUT_FORMATS.has(extension.replace(/^jpeg$/, "jpg"))) throw badRequest(`Invalid format - ${extension}`);
    const transformation = segments.join("/");
    const steps = parseTransformation(transformation);
    const format = chooseFormat(steps, extension?.replace(/^jpeg$/, "jpg") as OutputFormat | undefined, renderFormatOf(record), "");
    const derived = await derivedImage(ctx, record, transformation, steps, format);
    results.push({
      transformation: extension ? `${transformation}/${extension}` : transformation,
      width: derived.width,
      height: derived.height,
      bytes: derived.data.length,
      format,
      ...deliveryUrls(ctx.urls(), { ...record, format }, transformation),
    });
  }
  return results;
}
