import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { checkUrlSignature, parseDeliveryPath } from "../../../src/cloudinary/delivery.js";
import { addParam, bool, list, paramsFromJson, paramsFromSearch, parseContext, str } from "../../../src/cloudinary/params.js";
import { stringToSign } from "../../../src/cloudinary/signature.js";

describe("request parameters", () => {
  it("folds key[] and key[0] lists into one list, signed joined by ','", () => {
    const params = paramsFromSearch(new URLSearchParams("tags[]=a&tags[]=b&public_ids[0]=x&public_ids[1]=y&timestamp=1"));
    expect(params).toEqual({ tags: ["a", "b"], public_ids: ["x", "y"], timestamp: "1" });
    expect(stringToSign(params)).toBe("public_ids=x,y&tags=a,b&timestamp=1");
    expect(str(params, "tags")).toBe("a,b");
  });

  it("reads Cloudinary booleans and comma lists", () => {
    const params = { a: "1", b: "false", c: "true", tags: "x, y,,z" };
    expect([bool(params, "a", false), bool(params, "b", true), bool(params, "c", false), bool(params, "missing", true)]).toEqual([true, false, true, true]);
    expect(list(params, "tags")).toEqual(["x", "y", "z"]);
  });

  it("takes JSON bodies with lists and scalars", () => {
    expect(paramsFromJson({ public_ids: ["a", "b"], all: true, max_results: 5, skip: null })).toEqual({ public_ids: ["a", "b"], all: "true", max_results: "5" });
    const params = {};
    addParam(params, "x", "1");
    addParam(params, "x[]", "2");
    expect(params).toEqual({ x: ["1", "2"] });
  });
});

describe("signed delivery URLs", () => {
  // the SDKs' sign_url: "s--" + urlsafe_b64(sha1("<transformation>/<public_id.ext>" + secret))[0:8] + "--"
  const sign = (text: string, secret: string) => createHash("sha1").update(text + secret).digest("base64url").slice(0, 8);

  it("accepts the SDK's signature and refuses another", () => {
    const good = sign("c_fill,h_100,w_100/folder/cat.png", "abcd");
    const request = parseDeliveryPath(["image", "upload", `s--${good}--`, "c_fill,h_100,w_100", "v12", "folder", "cat.png"]);
    expect(request.signature).toEqual({ value: good, signed: "c_fill,h_100,w_100/folder/cat.png" });
    expect(() => checkUrlSignature(request.signature!, "abcd")).not.toThrow();
    expect(() => checkUrlSignature(request.signature!, "other")).toThrow("Invalid URL signature");
  });
});

describe("context", () => {
  it("parses key=value pairs separated by |, with escapes", () => {
    expect(parseContext("alt=a cat|caption=x\\|y|bad|k=v=w")).toEqual({ alt: "a cat", caption: "x|y", k: "v=w" });
    expect(parseContext("")).toBeUndefined();
  });
});
