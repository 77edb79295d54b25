import { describe, expect, it } from "vitest";
import { checkPublicId, folderOf, resolvePublicId, splitFilename } from "../../../src/cloudinary/public-id.js";

describe("public_id checks", () => {
  it.each(["../x", "a/../b", "a/./b", "..", "/abs", "a//b", "a/", "a\\b", "a%2Fb", "a?b", "a#b", "a<b", "x\u0000y", "x".repeat(256), "   "])(
    "refuses %j",
    (id) => {
      expect(() => checkPublicId(id)).toThrow(/^Invalid public_id/);
    },
  );

  it.each(["sample", "folder/sub/sample", "my.photo", "über-bild", "a b", "..hidden", "v1"])("accepts %j", (id) => {
    expect(checkPublicId(id)).toBe(id);
  });

  it("trims surrounding whitespace", () => {
    expect(checkPublicId("  sample ")).toBe("sample");
  });
});

describe("resolvePublicId", () => {
  const fixed = (length: number) => "r".repeat(length);

  it("uses public_id and prefixes the folder", () => {
    expect(resolvePublicId({ publicId: "cat", folder: "/pets/", useFilename: false, uniqueFilename: true, keepExtension: false }, fixed)).toBe("pets/cat");
  });

  it("uses the filename when asked, with a 6-character suffix unless unique_filename is false", () => {
    const base = { filename: "My Holiday.JPG", useFilename: true, keepExtension: false };
    expect(resolvePublicId({ ...base, uniqueFilename: true }, fixed)).toBe("My_Holiday_rrrrrr");
    expect(resolvePublicId({ ...base, uniqueFilename: false }, fixed)).toBe("My_Holiday");
  });

  it("makes a random 20-character id otherwise, keeping raw extensions", () => {
    expect(resolvePublicId({ filename: "a.png", useFilename: false, uniqueFilename: true, keepExtension: false }, fixed)).toBe("r".repeat(20));
    expect(resolvePublicId({ filename: "notes.txt", useFilename: false, uniqueFilename: true, keepExtension: true }, fixed)).toBe(`${"r".repeat(20)}.txt`);
  });

  it("refuses traversal in folder and public_id", () => {
    expect(() => resolvePublicId({ publicId: "x", folder: "../..", useFilename: false, uniqueFilename: true, keepExtension: false })).toThrow();
    expect(() => resolvePublicId({ publicId: "../x", useFilename: false, uniqueFilename: true, keepExtension: false })).toThrow();
  });

  it("splits filenames safely", () => {
    expect(splitFilename("C:\\Users\\me\\pic.png")).toEqual({ base: "pic", ext: "png" });
    expect(splitFilename("../../etc/passwd")).toEqual({ base: "passwd", ext: "" });
    expect(folderOf("a/b/c")).toBe("a/b");
    expect(folderOf("c")).toBe("");
  });
});
