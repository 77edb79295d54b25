import { describe, expect, it } from "vitest";
import { encodeCursor, escapeHtml, parseBrowseQuery, renderBrowsePage } from "../../../src/cloudinary/browse-page.js";
import type { ResourceRecord } from "../../../src/cloudinary/resources.js";

function record(overrides: Partial<ResourceRecord>): ResourceRecord {
  return {
    asset_id: "a".repeat(32),
    public_id: "cat",
    version: 1712345678,
    version_id: "b".repeat(32),
    format: "png",
    resource_type: "image",
    type: "upload",
    created_at: "2024-04-05T19:34:38Z",
    bytes: 2048,
    width: 64,
    height: 48,
    etag: "c".repeat(32),
    tags: [],
    content_type: "image/png",
    ...overrides,
  };
}

const query = parseBrowseQuery(new URL("http://x/"));

describe("browse page", () => {
  it("escapes public_ids and tags so they cannot inject markup", () => {
    const html = renderBrowsePage({
      cloudName: "demo",
      query,
      records: [record({ public_id: `q"uote'd/x onerror=alert(1)`, tags: ["<script>alert(1)</script>", `"><img src=x>`] })],
    });
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain(`"><img src=x>`);
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    expect(html).toContain(`q&#34;uote&#39;d/x onerror=alert(1)`);
    // the only <img> is the thumbnail, and its src is the escaped delivery path
    expect(html.match(/<img /g)).toHaveLength(1);
    expect(html).toContain(`src="/demo/image/upload/c_fill,w_120,h_120/v1712345678/q%22uote%27d/x%20onerror%3Dalert%281%29.png"`);
  });

  it("shows format, size and created_at, thumbnails only for images, and links the next page", () => {
    const html = renderBrowsePage({
      cloudName: "demo",
      query,
      records: [record({ public_id: "a", bytes: 1536 }), record({ public_id: "doc.txt", resource_type: "raw", format: undefined, bytes: 10 })],
      nextCursor: encodeCursor("doc.txt"),
    });
    expect(html).toContain(`<tr data-public-id="a">`);
    expect(html).toContain("1.5 KB");
    expect(html).toContain(`<time datetime="2024-04-05T19:34:38Z">`);
    expect(html.match(/class="thumb"/g)).toHaveLength(1);
    expect(html).toContain(`href="/?type=image&#38;next_cursor=${encodeCursor("doc.txt")}"`);
    expect(html).not.toContain("First page");
  });

  it("parses paging parameters and refuses bad ones with Cloudinary's messages", () => {
    expect(parseBrowseQuery(new URL(`http://x/?type=raw&prefix=a/&max_results=5&next_cursor=${encodeCursor("a/b")}`))).toEqual({
      resourceType: "raw",
      prefix: "a/",
      limit: 5,
      after: "a/b",
    });
    expect(() => parseBrowseQuery(new URL("http://x/?type=font"))).toThrow(/Invalid resource type font/);
    expect(() => parseBrowseQuery(new URL("http://x/?max_results=0"))).toThrow(/Invalid max_results - 0/);
    expect(() => parseBrowseQuery(new URL(`http://x/?next_cursor=${encodeCursor("../etc")}`))).toThrow(/Invalid next_cursor/);
  });

  it("escapes the five HTML-significant characters", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;");
  });
});
