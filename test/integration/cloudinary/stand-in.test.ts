import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudinaryStandIn, signParams, type CloudinaryStandIn } from "../../../src/cloudinary/index.js";
import { startMinio, type MinioProcess } from "../../helpers/minio-process.js";

const CLOUD = "demo-cloud";
const KEY = "123456789012345";
const SECRET = "test-secret-abcdef";
const basic = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString("base64")}`;

let minio: MinioProcess;
let standIn: CloudinaryStandIn;
let base: string;

const now = () => String(Math.floor(Date.now() / 1000));

async function png(width: number, height: number, colour = "red"): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer();
}

/** A signed multipart upload, as the SDKs send it. */
async function upload(fields: Record<string, string>, file: Buffer | string, options: { resourceType?: string; filename?: string; sign?: boolean } = {}): Promise<{ status: number; body: any }> {
  const params = { timestamp: now(), ...fields };
  const form = new FormData();
  for (const [key, value] of Object.entries(params)) form.append(key, value);
  if (options.sign !== false) {
    form.append("api_key", KEY);
    form.append("signature", signParams(params, SECRET));
  }
  if (typeof file === "string") form.append("file", file);
  else form.append("file", new Blob([file]), options.filename ?? "upload.png");
  const response = await fetch(`${base}/v1_1/${CLOUD}/${options.resourceType ?? "image"}/upload`, { method: "POST", body: form });
  return { status: response.status, body: await response.json() };
}

async function signedPost(action: string, fields: Record<string, string>, resourceType = "image"): Promise<{ status: number; body: any }> {
  const params = { timestamp: now(), ...fields };
  const body = new URLSearchParams({ ...params, api_key: KEY, signature: signParams(params, SECRET) });
  const response = await fetch(`${base}/v1_1/${CLOUD}/${resourceType}/${action}`, { method: "POST", body });
  return { status: response.status, body: await response.json() };
}

async function admin(path: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${base}/v1_1/${CLOUD}/${path}`, { ...init, headers: { authorization: basic, ...init.headers } });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

beforeAll(async () => {
  minio = await startMinio();
  standIn = createCloudinaryStandIn({
    cloudName: CLOUD,
    apiKey: KEY,
    apiSecret: SECRET,
    s3: minio,
    logger: (await import("pino")).pino({ level: "error" }),
    uploadPresets: { open: { unsigned: true, folder: "unsigned", tags: ["from-preset"] }, locked: { unsigned: false } },
  });
  base = await standIn.listen(0, "127.0.0.1");
});

afterAll(async () => {
  await standIn?.close();
  await minio?.stop();
});

describe("upload API", () => {
  it("answers a signed PNG upload with Cloudinary's fields and real dimensions", async () => {
    const { status, body } = await upload({ public_id: "sample", tags: "a,b", context: "alt=hello|caption=x" }, await png(300, 200));
    expect(status).toBe(200);
    expect(body).toMatchObject({
      public_id: "sample",
      width: 300,
      height: 200,
      format: "png",
      resource_type: "image",
      type: "upload",
      tags: ["a", "b"],
      placeholder: false,
      folder: "",
      original_filename: "upload",
      api_key: KEY,
      context: { custom: { alt: "hello", caption: "x" } },
    });
    expect(typeof body.version).toBe("number");
    expect(body.bytes).toBeGreaterThan(0);
    expect(body.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(body.asset_id).toMatch(/^[0-9a-f]{32}$/);
    expect(body.version_id).toMatch(/^[0-9a-f]{32}$/);
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(body.secure_url).toBe(`${base}/${CLOUD}/image/upload/v${body.version}/sample.png`);
    expect(body.signature).toBe(signParams({ public_id: "sample", version: String(body.version) }, SECRET));
  });

  it("serves the original and a w_100,h_100,c_fill derivative, then 404s after destroy", async () => {
    const { body } = await upload({ public_id: "gallery/cat" }, await png(400, 250, "blue"));
    const original = await fetch(body.secure_url);
    expect(original.status).toBe(200);
    expect(original.headers.get("content-type")).toBe("image/png");
    expect(Number(original.headers.get("content-length"))).toBe(body.bytes);
    expect(original.headers.get("etag")).toBe(`"${body.etag}"`);
    const head = await fetch(body.secure_url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(body.bytes);

    const thumbUrl = `${base}/${CLOUD}/image/upload/w_100,h_100,c_fill/v${body.version}/gallery/cat.png`;
    const thumb = await fetch(thumbUrl);
    expect(thumb.status).toBe(200);
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([100, 100, "png"]);
    // the second request comes from the cache in MinIO, same bytes and etag
    const again = await fetch(thumbUrl);
    expect(again.headers.get("etag")).toBe(thumb.headers.get("etag"));

    const destroyed = await signedPost("destroy", { public_id: "gallery/cat" });
    expect(destroyed).toEqual({ status: 200, body: { result: "ok" } });
    expect((await fetch(body.secure_url)).status).toBe(404);
    expect((await fetch(thumbUrl)).status).toBe(404);
    expect((await signedPost("destroy", { public_id: "gallery/cat" })).body).toEqual({ result: "not found" });
  });

  it("converts format by extension and f_auto by Accept, and applies grayscale and radius", async () => {
    await upload({ public_id: "convert" }, await png(120, 80, "green"));
    const jpg = await fetch(`${base}/${CLOUD}/image/upload/convert.jpg`);
    expect(jpg.headers.get("content-type")).toBe("image/jpeg");
    const auto = await fetch(`${base}/${CLOUD}/image/upload/f_auto,q_auto/convert`, { headers: { accept: "image/webp,*/*" } });
    expect(auto.headers.get("content-type")).toBe("image/webp");
    expect(auto.headers.get("vary")).toBe("Accept");
    const grey = await fetch(`${base}/${CLOUD}/image/upload/w_60/e_grayscale/r_max/convert.png`);
    const stats = await sharp(Buffer.from(await grey.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
    expect(stats.info.width).toBe(60);
    expect(stats.info.channels).toBeGreaterThanOrEqual(2); // alpha from the rounded corners
  });

  it.each([
    ["w_100", 100, 50],
    ["h_50", 100, 50],
    ["w_100,h_100,c_scale", 100, 100],
    ["w_100,h_100,c_fit", 100, 50],
    ["w_1000,c_limit", 400, 200],
    ["w_1000,c_fit", 1000, 500],
    ["w_100,h_100,c_pad,b_black", 100, 100],
    ["w_100,h_100,c_thumb,g_auto", 100, 100],
    ["w_50,h_60,c_crop,g_north_west", 50, 60],
    ["w_0.5", 200, 100],
    ["w_100,ar_1:1,c_fill", 100, 100],
    ["w_100,dpr_2.0", 200, 100],
    ["a_90", 200, 400],
    ["w_200/h_50,w_50,c_fill/e_grayscale", 50, 50],
  ])("renders %s at %ix%i", async (transformation, width, height) => {
    if (!(await fetch(`${base}/${CLOUD}/image/upload/dims.png`, { method: "HEAD" })).ok) await upload({ public_id: "dims" }, await png(400, 200));
    const response = await fetch(`${base}/${CLOUD}/image/upload/${transformation}/dims.png`);
    expect(response.status).toBe(200);
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([width, height]);
    expect(Number(response.headers.get("content-length"))).toBeGreaterThan(0);
  });

  it("refuses transformation parameters it cannot honour with a 400, not silently", async () => {
    await upload({ public_id: "strict" }, await png(50, 50));
    const unknown = await fetch(`${base}/${CLOUD}/image/upload/w_10,zz_3/strict.png`);
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("x-cld-error")).toBe("Invalid transformation component - zz_3");
    const unsupported = await fetch(`${base}/${CLOUD}/image/upload/l_logo/strict.png`);
    expect(unsupported.status).toBe(400);
    expect(((await unsupported.json()) as any).error.message).toMatch(/l_logo .*not implemented by the prodlike stand-in/);
  });

  it("answers a wrong signature with 401 and the string to sign", async () => {
    const params = { public_id: "forged", timestamp: now() };
    const form = new FormData();
    form.append("public_id", params.public_id);
    form.append("timestamp", params.timestamp);
    form.append("api_key", KEY);
    form.append("signature", "0".repeat(40));
    form.append("file", new Blob([await png(10, 10)]), "x.png");
    const response = await fetch(`${base}/v1_1/${CLOUD}/image/upload`, { method: "POST", body: form });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: { message: `Invalid Signature ${"0".repeat(40)}. String to sign - 'public_id=forged&timestamp=${params.timestamp}'.` },
    });
    expect((await fetch(`${base}/${CLOUD}/image/upload/forged.png`)).status).toBe(404);
  });

  it("accepts SHA-256 signatures", async () => {
    const params = { public_id: "sha256", timestamp: now() };
    const form = new FormData();
    for (const [key, value] of Object.entries(params)) form.append(key, value);
    form.append("api_key", KEY);
    form.append("signature", signParams(params, SECRET, "sha256"));
    form.append("file", new Blob([await png(10, 10)]), "x.png");
    const response = await fetch(`${base}/v1_1/${CLOUD}/image/upload`, { method: "POST", body: form });
    expect(response.status).toBe(200);
  });

  it("refuses a timestamp more than an hour old", async () => {
    const stale = String(Math.floor(Date.now() / 1000) - 3601);
    const { status, body } = await upload({ public_id: "old", timestamp: stale }, await png(10, 10));
    expect(status).toBe(400);
    expect(body.error.message).toMatch(/^Stale request - reported time is \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 which is more than 1 hour ago$/);
  });

  it("uploads unsigned through an unsigned preset only", async () => {
    const ok = await upload({ upload_preset: "open" }, await png(20, 20), { sign: false, filename: "holiday photo.png" });
    expect(ok.status).toBe(200);
    expect(ok.body.public_id).toMatch(/^unsigned\/[a-z0-9]{20}$/);
    expect(ok.body.tags).toEqual(["from-preset"]);
    const locked = await upload({ upload_preset: "locked" }, await png(20, 20), { sign: false });
    expect(locked).toEqual({ status: 400, body: { error: { message: "Upload preset must be whitelisted for unsigned uploads" } } });
    const none = await upload({}, await png(20, 20), { sign: false });
    expect(none.body.error.message).toBe("Upload preset must be specified when using unsigned upload");
  });

  it("honours folder, use_filename, unique_filename and overwrite", async () => {
    const named = await upload({ folder: "docs", use_filename: "true", unique_filename: "false" }, await png(30, 30), { filename: "My Pic.png" });
    expect(named.body.public_id).toBe("docs/My_Pic");
    const unique = await upload({ use_filename: "true" }, await png(30, 30), { filename: "pic.png" });
    expect(unique.body.public_id).toMatch(/^pic_[a-z0-9]{6}$/);
    const kept = await upload({ public_id: "docs/My_Pic", overwrite: "false" }, await png(31, 31), { filename: "other.png" });
    expect(kept.body).toMatchObject({ existing: true, width: 30 });
    const replaced = await upload({ public_id: "docs/My_Pic" }, await png(32, 32));
    expect(replaced.body.width).toBe(32);
    expect(replaced.body.version).toBeGreaterThan(named.body.version);
  });

  it("takes files as data URIs and urlencoded bodies", async () => {
    const data = `data:image/png;base64,${(await png(12, 9)).toString("base64")}`;
    const params = { public_id: "datauri", timestamp: now() };
    const body = new URLSearchParams({ ...params, file: data, api_key: KEY, signature: signParams(params, SECRET) });
    const response = await fetch(`${base}/v1_1/${CLOUD}/auto/upload`, { method: "POST", body });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ public_id: "datauri", width: 12, height: 9, resource_type: "image" });
  });

  it("stores raw files with their extension and serves them back", async () => {
    const { status, body } = await upload({ use_filename: "true", unique_filename: "false" }, Buffer.from("hello, raw"), { resourceType: "raw", filename: "notes.txt" });
    expect(status).toBe(200);
    expect(body).toMatchObject({ public_id: "notes.txt", resource_type: "raw", bytes: 10 });
    expect(body.format).toBeUndefined();
    const fetched = await fetch(body.secure_url);
    expect(await fetched.text()).toBe("hello, raw");
    expect(fetched.headers.get("content-type")).toBe("text/plain");
  });

  it("serves a private CDN's URLs (private_cdn=True: the cloud is in the host name, not in the path)", async () => {
    const { body } = await upload({ public_id: "private/dog" }, await png(60, 40, "green"));
    const shared = await fetch(`${base}/${CLOUD}/image/upload/w_30,c_scale/v${body.version}/private/dog.png`);
    const own = await fetch(`${base}/image/upload/w_30,c_scale/v${body.version}/private/dog.png`);
    expect([shared.status, own.status]).toEqual([200, 200]);
    expect(Buffer.from(await own.arrayBuffer()).equals(Buffer.from(await shared.arrayBuffer()))).toBe(true);
    expect((await fetch(`${base}/other-cloud/image/upload/private/dog.png`)).status).toBe(404);
  });

  it("fetches a remote image for image/fetch URLs, transforms it, and reports a remote that fails", async () => {
    const picture = await png(80, 40, "purple");
    const remote = createServer((req, res) => {
      if (req.url === "/pic.png") res.writeHead(200, { "content-type": "image/png" }).end(picture);
      else if (req.url === "/moved.png") res.writeHead(302, { location: "/pic.png" }).end();
      else if (req.url === "/notes.txt") res.writeHead(200).end("not an image");
      else res.writeHead(404).end();
    });
    remote.listen(0, "127.0.0.1");
    await once(remote, "listening");
    const origin = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
    try {
      const plain = await fetch(`${base}/${CLOUD}/image/fetch/${origin}/pic.png`);
      expect(plain.status).toBe(200);
      expect(Buffer.from(await plain.arrayBuffer()).equals(picture)).toBe(true);
      const scaled = await fetch(`${base}/${CLOUD}/image/fetch/w_20,c_scale/f_jpg/${origin}/moved.png`);
      expect([scaled.status, scaled.headers.get("content-type")]).toEqual([200, "image/jpeg"]);
      const meta = await sharp(Buffer.from(await scaled.arrayBuffer())).metadata();
      expect([meta.width, meta.height, meta.format]).toEqual([20, 10, "jpeg"]);
      const missing = await fetch(`${base}/${CLOUD}/image/fetch/${origin}/gone.png`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get("x-cld-error")).toBe(`Error in loading ${origin}/gone.png - 404`);
      expect((await fetch(`${base}/${CLOUD}/image/fetch/${origin}/notes.txt`)).status).toBe(400);
      expect((await fetch(`${base}/${CLOUD}/image/fetch/ftp:/example/a.png`)).status).toBe(400);
    } finally {
      remote.close();
    }
  });

  it("rejects non-images sent as image", async () => {
    const { status, body } = await upload({ public_id: "notimage" }, Buffer.from("plain text"));
    expect(status).toBe(400);
    expect(body.error.message).toBe("Invalid image file");
  });

  it("renames and renders eager transformations with explicit", async () => {
    await upload({ public_id: "before" }, await png(200, 100));
    const renamed = await signedPost("rename", { from_public_id: "before", to_public_id: "after/renamed" });
    expect(renamed.status).toBe(200);
    expect(renamed.body.public_id).toBe("after/renamed");
    expect((await fetch(`${base}/${CLOUD}/image/upload/before.png`)).status).toBe(404);
    const explicit = await signedPost("explicit", { public_id: "after/renamed", type: "upload", eager: "c_fill,w_50,h_50|e_grayscale/jpg" });
    expect(explicit.status).toBe(200);
    expect(explicit.body.eager).toHaveLength(2);
    expect(explicit.body.eager[0]).toMatchObject({ transformation: "c_fill,w_50,h_50", width: 50, height: 50, format: "png" });
    expect(explicit.body.eager[1]).toMatchObject({ transformation: "e_grayscale/jpg", format: "jpg" });
    expect((await fetch(explicit.body.eager[1].secure_url)).headers.get("content-type")).toBe("image/jpeg");
  });
});

describe("path traversal", () => {
  it("refuses ../, absolute and percent-encoded public_ids on upload", async () => {
    for (const publicId of ["../escape", "/etc/passwd", "a/../../b", "a/./b", "a%2F..%2Fb", "a\\..\\b"]) {
      const { status, body } = await upload({ public_id: publicId }, await png(10, 10));
      expect(status, publicId).toBe(400);
      expect(body.error.message, publicId).toMatch(/^Invalid public_id/);
    }
    const folder = await upload({ folder: "../../x", public_id: "y" }, await png(10, 10));
    expect(folder.status).toBe(400);
  });

  it("cannot read other keys of the bucket through delivery URLs", async () => {
    await upload({ public_id: "secret/thing" }, await png(10, 10));
    for (const path of [
      "image/upload/../../meta/image/upload/secret/thing.json",
      "image/upload/%2e%2e/%2e%2e/meta/image/upload/secret/thing.json",
      "image/upload/v1/..%2F..%2Fmeta%2Fimage%2Fupload%2Fsecret%2Fthing.json",
      "image/upload/%252e%252e/secret/thing.png",
    ]) {
      const response = await fetch(`${base}/${CLOUD}/${path}`);
      expect([400, 404], path).toContain(response.status);
      expect(((await response.json()) as any).error.message).toBeTypeOf("string");
    }
  });
});

describe("admin API", () => {
  it("pings with Basic auth and refuses bad credentials", async () => {
    expect((await admin("ping")).body).toEqual({ status: "ok" });
    const bad = await fetch(`${base}/v1_1/${CLOUD}/ping`, { headers: { authorization: `Basic ${Buffer.from(`${KEY}:wrong`).toString("base64")}` } });
    expect(bad.status).toBe(401);
    const none = await fetch(`${base}/v1_1/${CLOUD}/ping`);
    expect(await none.json()).toEqual({ error: { message: "Must supply api_key" } });
  });

  it("lists by prefix with max_results and next_cursor, shows details, deletes by prefix", async () => {
    for (const name of ["p1", "p2", "p3", "p4", "p5"]) await upload({ public_id: `listing/${name}`, tags: name === "p3" ? "special" : "" }, await png(10, 10));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = new URLSearchParams({ prefix: "listing/", max_results: "2", ...(cursor ? { next_cursor: cursor } : {}) });
      const { status, body } = await admin(`resources/image/upload?${query}`);
      expect(status).toBe(200);
      expect(body.resources.length).toBeLessThanOrEqual(2);
      seen.push(...body.resources.map((resource: any) => resource.public_id));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual(["listing/p1", "listing/p2", "listing/p3", "listing/p4", "listing/p5"]);
    expect(pages).toBe(3);

    const tagged = await admin("resources/image/tags/special");
    expect(tagged.body.resources.map((resource: any) => resource.public_id)).toEqual(["listing/p3"]);

    const details = await admin("resources/image/upload/listing/p3");
    expect(details.body).toMatchObject({ public_id: "listing/p3", width: 10, height: 10, format: "png", tags: ["special"], bytes: expect.any(Number) });
    expect((await admin("resources/image/upload/listing/nope")).status).toBe(404);

    const byIds = await admin(`resources/image/upload?${new URLSearchParams([["public_ids[]", "listing/p1"], ["public_ids[]", "listing/zz"]])}`, { method: "DELETE" });
    expect(byIds.body.deleted).toEqual({ "listing/p1": "deleted", "listing/zz": "not_found" });
    const byPrefix = await admin("resources/image/upload?prefix=listing/", { method: "DELETE" });
    expect(Object.keys(byPrefix.body.deleted).sort()).toEqual(["listing/p2", "listing/p3", "listing/p4", "listing/p5"]);
    expect((await admin("resources/image/upload?prefix=listing/")).body.resources).toEqual([]);
  });
});

describe("rate limit", () => {
  it("answers 420 past the configured Admin API limit", async () => {
    const limited = createCloudinaryStandIn({
      cloudName: CLOUD,
      apiKey: KEY,
      apiSecret: SECRET,
      s3: minio,
      rateLimit: { admin: 2 },
    });
    const url = await limited.listen();
    try {
      const call = () => fetch(`${url}/v1_1/${CLOUD}/ping`, { headers: { authorization: basic } });
      const first = await call();
      expect(first.headers.get("x-featureratelimit-limit")).toBe("2");
      expect(first.headers.get("x-featureratelimit-remaining")).toBe("1");
      expect((await call()).status).toBe(200);
      const third = await call();
      expect(third.status).toBe(420);
      expect(((await third.json()) as any).error.message).toMatch(/^Rate Limit Exceeded/);
    } finally {
      await limited.close();
      await limited.close(); // idempotent
    }
  });
});
