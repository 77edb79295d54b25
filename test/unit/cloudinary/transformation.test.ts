import { describe, expect, it } from "vitest";
import { parseDeliveryPath } from "../../../src/cloudinary/delivery.js";
import { chooseFormat } from "../../../src/cloudinary/image-render.js";
import { canonicalTransformation, isTransformationSegment, parseTransformation } from "../../../src/cloudinary/transformation.js";

describe("parseTransformation", () => {
  it("parses a chained transformation", () => {
    expect(parseTransformation("w_100,h_100,c_fill,g_auto/e_grayscale/r_max/q_auto:eco,f_auto")).toEqual([
      { effects: [], width: 100, relativeWidth: false, height: 100, relativeHeight: false, crop: "fill", gravity: "auto" },
      { effects: [{ name: "grayscale" }] },
      { effects: [], radius: "max" },
      { effects: [], quality: "auto:eco", format: "auto" },
    ]);
  });

  it("reads relative sizes, aspect ratios, colours and offsets", () => {
    expect(parseTransformation("w_0.5,ar_16:9,c_pad,b_rgb:ff0000,x_10,y_-5,a_90,dpr_2.0")).toEqual([
      { effects: [], width: 0.5, relativeWidth: true, aspectRatio: 16 / 9, crop: "pad", background: "#ff0000", x: 10, y: -5, angle: 90, dpr: 2 },
    ]);
  });

  it.each([
    ["w_abc", "Invalid width - abc"],
    ["h_0", "Invalid height - 0"],
    ["zz_3", "Invalid transformation component - zz_3"],
    ["c_bogus", "Invalid transformation component - c_bogus"],
    ["q_101", "Invalid transformation component - q_101"],
    ["w_", "Invalid transformation component - w_"],
  ])("refuses %s with Cloudinary's text", (text, message) => {
    expect(() => parseTransformation(text)).toThrow(message);
  });

  it.each(["l_logo", "g_face", "c_imagga_crop", "e_sepia", "fl_attachment", "f_mp4", "dpr_auto"])("refuses %s as not implemented, never ignoring it", (text) => {
    expect(() => parseTransformation(text)).toThrow(/not implemented by the prodlike stand-in/);
  });

  it("recognises transformation segments but not folder names", () => {
    expect(isTransformationSegment("w_100,h_100")).toBe(true);
    expect(isTransformationSegment("zz_3")).toBe(false);
    expect(isTransformationSegment("my_folder")).toBe(false);
    expect(isTransformationSegment("sample")).toBe(false);
  });

  it("canonicalises parameter order for the cache key", () => {
    expect(canonicalTransformation("w_100,h_50,c_fill/e_grayscale")).toBe(canonicalTransformation("c_fill,h_50,w_100/e_grayscale"));
  });

  it("negotiates f_auto by Accept", () => {
    const steps = parseTransformation("f_auto");
    expect(chooseFormat(steps, undefined, "png", "image/avif,image/webp,*/*")).toBe("avif");
    expect(chooseFormat(steps, undefined, "png", "image/webp,*/*")).toBe("webp");
    expect(chooseFormat(steps, undefined, "png", "*/*")).toBe("png");
    expect(chooseFormat([], "jpg", "png", "")).toBe("jpg");
    expect(chooseFormat([], undefined, "gif", "")).toBe("gif");
  });
});

describe("parseDeliveryPath", () => {
  it("splits transformations, version and public_id", () => {
    expect(parseDeliveryPath(["image", "upload", "w_100,h_100,c_fill", "e_grayscale", "v1712", "folder", "my%20cat.jpg"])).toEqual({
      resourceType: "image",
      transformation: "w_100,h_100,c_fill/e_grayscale",
      version: 1712,
      file: "folder/my cat.jpg",
    });
    expect(parseDeliveryPath(["image", "upload", "s--abcdEFGH--", "sample.png"])).toMatchObject({ transformation: "", file: "sample.png" });
    expect(parseDeliveryPath(["raw", "upload", "v1", "my_folder", "notes.txt"])).toMatchObject({ file: "my_folder/notes.txt" });
  });

  it.each([
    [["image", "upload", "..", "meta", "x.json"]],
    [["image", "upload", "%2e%2e", "x"]],
    [["image", "upload", "v1", "..%2F..%2Fmeta"]],
    [["image", "upload", "%252e%252e", "x"]],
    [["image", "upload", "%2Fetc%2Fpasswd"]],
  ])("refuses traversal in %j", (segments) => {
    expect(() => parseDeliveryPath(segments)).toThrow(/Invalid public_id/);
  });

  it("refuses other delivery types and resource types", () => {
    expect(() => parseDeliveryPath(["image", "private", "x.png"])).toThrow(/not implemented/);
    expect(() => parseDeliveryPath(["videos", "upload", "x.png"])).toThrow(/Resource not found/);
  });

  it("reads the SDK's shortened (iu/) and url_suffix (images/, files/) forms as the long one", () => {
    expect(parseDeliveryPath(["iu", "w_10", "v5", "cat.png"])).toEqual({ resourceType: "image", transformation: "w_10", version: 5, file: "cat.png" });
    expect(parseDeliveryPath(["images", "c_fill,w_20", "v1", "shop", "dress", "red-summer-dress.jpg"])).toEqual({
      resourceType: "image",
      transformation: "c_fill,w_20",
      version: 1,
      file: "shop/dress.jpg",
    });
    expect(parseDeliveryPath(["images", "s--abcdEFGH--", "dress", "nice"])).toMatchObject({ file: "dress", signature: { value: "abcdEFGH", signed: "dress" } });
    expect(parseDeliveryPath(["files", "v1", "docs", "notes", "readme.txt"])).toMatchObject({ resourceType: "raw", file: "docs/notes.txt" });
    expect(() => parseDeliveryPath(["images", "dress.jpg"])).toThrow(/suffix/);
  });
});
