import { describe, expect, it } from "vitest";
import { parseFetchPath } from "../../../src/cloudinary/fetch-delivery.js";

describe("parseFetchPath", () => {
  it("splits transformations from the remote URL as the SDK writes it (smart_escape keeps : and /)", () => {
    expect(parseFetchPath(["image", "fetch", "c_fill,h_20,w_20", "f_png", "https:", "", "example.com", "a%20b.jpg%3Fx%3D1"])).toEqual({
      remote: "https://example.com/a b.jpg?x=1",
      transformation: "c_fill,h_20,w_20/f_png",
    });
    expect(parseFetchPath(["image", "fetch", "http:", "", "127.0.0.1:8080", "pic.png"])).toEqual({ remote: "http://127.0.0.1:8080/pic.png", transformation: "" });
  });

  it("mends a scheme whose // was merged, and keeps the signed text as in the URL", () => {
    expect(parseFetchPath(["image", "fetch", "s--abcdEFGH--", "w_10", "https:", "example.com", "a.png"])).toEqual({
      remote: "https://example.com/a.png",
      transformation: "w_10",
      signature: { value: "abcdEFGH", signed: "w_10/https:/example.com/a.png" },
    });
  });

  it("refuses other schemes and other resource types", () => {
    expect(() => parseFetchPath(["image", "fetch", "ftp:", "", "example.com", "a.png"])).toThrow(/Invalid fetch URL/);
    expect(() => parseFetchPath(["image", "fetch", "file:", "", "", "etc", "passwd"])).toThrow(/Invalid fetch URL/);
    expect(() => parseFetchPath(["video", "fetch", "https:", "", "example.com", "a.mp4"])).toThrow(/only image\/fetch/);
  });
});
