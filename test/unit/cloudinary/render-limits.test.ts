import fc from "fast-check";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { CloudinaryApiError } from "../../../src/cloudinary/api-error.js";
import { renderImage } from "../../../src/cloudinary/image-render.js";
import { checkRenderLimits, checkTransformationLength, stepOutputBound } from "../../../src/cloudinary/render-limits.js";
import { parseTransformation } from "../../../src/cloudinary/transformation.js";

function statusOf(action: () => void): number | undefined {
  try {
    action();
  } catch (err) {
    return err instanceof CloudinaryApiError ? err.status : -1;
  }
  return undefined;
}

describe("render limits", () => {
  it.each(["w_11111111111111111111", "h_99999999999999999999999", "x_11111111111111111111", "a_99999999999999999999"])(
    "refuses the absurd number in %s with a 400 while parsing",
    (text) => {
      expect(statusOf(() => parseTransformation(text))).toBe(400);
    },
  );

  it.each([
    ["w_100000,h_100000,c_scale", "Image too large. Got 10000000000 pixels (100000x100000). Maximum is 25000000."],
    ["w_30000,h_30000", "Image too large. Got 900000000 pixels (30000x30000). Maximum is 25000000."],
    ["w_20000", "Image too large. Got 266680000 pixels (20000x13334). Maximum is 25000000."],
    ["w_100/w_20000,h_2000,c_pad", "Image too large. Got 40000000 pixels (20000x2000). Maximum is 25000000."],
    ["c_mfit,w_3000,h_10000", "Image too large. Got 150000000 pixels (15000x10000). Maximum is 25000000."],
  ])("refuses %s on a 300x200 original before rendering, as Cloudinary does", (text, message) => {
    expect(() => checkRenderLimits(parseTransformation(text), 300, 200)).toThrow(message);
  });

  it.each(["w_4000,h_4000,c_fill", "c_limit,w_30000,h_30000", "c_lfill,w_30000,h_30000", "w_0.5", "e_grayscale", "c_crop,w_30000,h_30000"])(
    "lets %s through",
    (text) => {
      expect(() => checkRenderLimits(parseTransformation(text), 300, 200)).not.toThrow();
    },
  );

  it("refuses an original over the limit whatever the transformation", () => {
    expect(() => checkRenderLimits(parseTransformation("w_10"), 6000, 5000)).toThrow("Maximum is 25000000.");
  });

  it("refuses a transformation string past the length bound", () => {
    expect(statusOf(() => checkTransformationLength("w_1,".repeat(600)))).toBe(400);
    expect(statusOf(() => checkTransformationLength("w_100,h_100,c_fill"))).toBeUndefined();
  });

  it("bounds the real output of any step from above", async () => {
    const original = await sharp({ create: { width: 30, height: 20, channels: 3, background: "red" } }).png().toBuffer();
    const crops = ["scale", "fit", "limit", "mfit", "fill", "lfill", "thumb", "crop", "pad", "lpad"] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...crops),
        fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
        fc.constantFrom(undefined, 90, 45),
        async (crop, width, height, angle) => {
          const text = [`c_${crop}`, width && `w_${width}`, height && `h_${height}`, angle && `a_${angle}`].filter(Boolean).join(",");
          const [step] = parseTransformation(text);
          const bound = stepOutputBound(step!, 30, 20);
          const real = await renderImage(original, [step!], "png");
          expect(real.width * real.height).toBeLessThanOrEqual(bound.width * bound.height);
        },
      ),
      { numRuns: 60 },
    );
  });
});
