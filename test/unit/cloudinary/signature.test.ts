import { describe, expect, it } from "vitest";
import { CloudinaryApiError } from "../../../src/cloudinary/api-error.js";
import { checkTimestamp, formatUtc, responseSignature, signParams, stringToSign, verifySignature } from "../../../src/cloudinary/signature.js";

describe("Cloudinary signatures", () => {
  it("verifies Cloudinary's published test vector", () => {
    expect(signParams({ public_id: "sample_image", timestamp: "1315060510" }, "abcd")).toBe("b4ad47fb4e25c7bf5f92a20089f9db59bc302313");
  });

  it("computes SHA-256 over the same string", () => {
    // sha256("public_id=sample_image&timestamp=1315060510abcd"), computed independently
    expect(signParams({ public_id: "sample_image", timestamp: "1315060510" }, "abcd", "sha256")).toBe(
      "e3c44b54e67a3ecc918f5d7236ca5faa36250ea8a8cd6cbabfd2d6bb2453acac",
    );
  });

  it("leaves out file, cloud_name, resource_type, api_key, signature and empty values; joins lists", () => {
    expect(
      stringToSign({
        timestamp: "1",
        file: "data:...",
        cloud_name: "demo",
        resource_type: "image",
        api_key: "k",
        signature: "x",
        folder: "",
        tags: ["a", "b"],
        eager: "w_100|h_50",
        public_id: "p",
      }),
    ).toBe("eager=w_100|h_50&public_id=p&tags=a,b&timestamp=1");
  });

  it("answers a wrong signature with 401 and the string to sign", () => {
    const attempt = () => verifySignature({ public_id: "x", timestamp: "5" }, "deadbeef".repeat(5), "secret");
    expect(attempt).toThrow(CloudinaryApiError);
    try {
      attempt();
    } catch (err) {
      expect((err as CloudinaryApiError).status).toBe(401);
      expect((err as CloudinaryApiError).message).toBe(`Invalid Signature ${"deadbeef".repeat(5)}. String to sign - 'public_id=x&timestamp=5'.`);
    }
  });

  it("accepts a correct SHA-1 and SHA-256 signature", () => {
    const params = { public_id: "x", timestamp: "5" };
    expect(() => verifySignature(params, signParams(params, "s"), "s")).not.toThrow();
    expect(() => verifySignature(params, signParams(params, "s", "sha256"), "s")).not.toThrow();
    expect(() => verifySignature(params, signParams(params, "other", "sha256"), "s")).toThrow(/Invalid Signature/);
  });

  it("refuses timestamps over an hour old with Cloudinary's text", () => {
    const now = 1315060510_000;
    expect(() => checkTimestamp("1315060510", now + 3600_000)).not.toThrow();
    expect(() => checkTimestamp("1315060510", now + 3601_000)).toThrow(
      "Stale request - reported time is 2011-09-03 14:35:10 +0000 which is more than 1 hour ago",
    );
    expect(() => checkTimestamp(undefined, now)).toThrow("Missing required parameter - timestamp");
    expect(formatUtc(0)).toBe("1970-01-01 00:00:00 +0000");
  });

  it("signs responses as public_id + version", () => {
    expect(responseSignature("sample", 1312461204, "abcd")).toBe(signParams({ public_id: "sample", version: "1312461204" }, "abcd"));
  });
});
