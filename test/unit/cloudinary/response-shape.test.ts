import { describe, expect, it } from "vitest";
import type { ResourceRecord } from "../../../src/cloudinary/resources.js";
import { adminResource, deliveryPath, escapePublicId, uploadResponse } from "../../../src/cloudinary/response-shape.js";
import { signParams } from "../../../src/cloudinary/signature.js";

const record: ResourceRecord = {
  asset_id: "a".repeat(32),
  public_id: "folder/sample cat",
  version: 1712345678,
  version_id: "b".repeat(32),
  format: "jpg",
  resource_type: "image",
  type: "upload",
  created_at: "2024-04-05T19:34:38Z",
  bytes: 1234,
  width: 640,
  height: 480,
  pages: 1,
  etag: "c".repeat(32),
  tags: ["media"],
  context: { alt: "a cat" },
  original_filename: "cat",
  content_type: "image/jpeg",
};
const urls = { cloudName: "demo", secureBaseUrl: "https://res.example:8443", baseUrl: "http://res.example:8080", apiKey: "key", apiSecret: "abcd" };

describe("response shaping", () => {
  it("builds the upload response with Cloudinary's fields and types", () => {
    const body = uploadResponse(urls, record);
    expect(body).toEqual({
      asset_id: record.asset_id,
      public_id: "folder/sample cat",
      version: 1712345678,
      version_id: record.version_id,
      signature: signParams({ public_id: "folder/sample cat", version: "1712345678" }, "abcd"),
      width: 640,
      height: 480,
      format: "jpg",
      resource_type: "image",
      created_at: "2024-04-05T19:34:38Z",
      tags: ["media"],
      pages: 1,
      bytes: 1234,
      type: "upload",
      etag: record.etag,
      placeholder: false,
      url: "http://res.example:8080/demo/image/upload/v1712345678/folder/sample%20cat.jpg",
      secure_url: "https://res.example:8443/demo/image/upload/v1712345678/folder/sample%20cat.jpg",
      folder: "folder",
      access_mode: "public",
      context: { custom: { alt: "a cat" } },
      original_filename: "cat",
      api_key: "key",
    });
  });

  it("leaves format out for raw files, whose public_id keeps the extension", () => {
    const raw: ResourceRecord = { ...record, resource_type: "raw", public_id: "docs/notes.txt", format: undefined, width: undefined, height: undefined, pages: undefined };
    const body = uploadResponse(urls, raw);
    expect(body).not.toHaveProperty("format");
    expect(body).not.toHaveProperty("width");
    expect(body.secure_url).toBe("https://res.example:8443/demo/raw/upload/v1712345678/docs/notes.txt");
  });

  it("lists admin resources with tags only when asked", () => {
    expect(adminResource(urls, record)).not.toHaveProperty("tags");
    expect(adminResource(urls, record, { tags: true })).toMatchObject({ tags: ["media"], public_id: "folder/sample cat", width: 640 });
  });

  it("escapes public_ids as the SDKs do", () => {
    expect(escapePublicId("a b/ü+c.jpg")).toBe("a%20b/%C3%BC%2Bc.jpg");
    expect(deliveryPath("demo", record, "w_100")).toBe("/demo/image/upload/w_100/v1712345678/folder/sample%20cat.jpg");
  });
});
