import fc from "fast-check";
import { pino } from "pino";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudinaryStandIn, signParams, type CloudinaryStandIn } from "../../../src/cloudinary/index.js";
import { startMinio, type MinioProcess } from "../../helpers/minio-process.js";
import { nearlyValid, oddText } from "./mutate.js";
import { exchange, fuzzListener, PER_RUN, type Target } from "./process-health.js";

const CLOUD = "bad-cloud";
const KEY = "bad-key";
const SECRET = "bad-secret";
let minio: MinioProcess;
let standIn: CloudinaryStandIn;
let target: Target;
let tiny: Buffer;

beforeAll(async () => {
  minio = await startMinio();
  standIn = createCloudinaryStandIn({
    cloudName: CLOUD,
    apiKey: KEY,
    apiSecret: SECRET,
    s3: minio,
    logger: pino({ level: "silent" }),
  });
  const base = await standIn.listen(0, "127.0.0.1");
  target = { port: Number(new URL(base).port) };
  tiny = await sharp({ create: { width: 8, height: 6, channels: 3, background: "red" } }).png().toBuffer();
  const reply = await exchange(target, uploadRequest({ public_id: "known" }, tiny, true), { deadlineMs: 30_000, until: complete });
  expect(reply.reply.toString("latin1"), "uploading the probe's image").toMatch(/^HTTP\/1\.1 200 /);
});
afterAll(async () => {
  await standIn?.close();
  await minio?.stop();
});

/** The whole response has arrived (Content-Length bytes of body after the head). */
function complete(reply: Buffer): boolean {
  const text = reply.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end))?.[1];
  return end >= 0 && length !== undefined && reply.length >= end + 4 + Number(length);
}

const BOUNDARY = "----prodlikeBadInput";
function uploadRequest(fields: Record<string, string>, file: Buffer | string, sign: boolean, signature?: string, resourceType = "image", action = "upload"): Buffer {
  const params = { timestamp: String(Math.floor(Date.now() / 1000)), ...fields };
  const all: Record<string, string> = sign ? { ...params, api_key: KEY, signature: signature ?? signParams(params, SECRET) } : params;
  const parts = Object.entries(all).map(([k, v]) => Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  const filePart =
    typeof file === "string"
      ? Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n\r\n${file}\r\n`)
      : Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="up.png"\r\nContent-Type: image/png\r\n\r\n`), file, Buffer.from("\r\n")]);
  const body = Buffer.concat([...parts, filePart, Buffer.from(`--${BOUNDARY}--\r\n`)]);
  const head = `POST /v1_1/${CLOUD}/${resourceType}/${action} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}
const get = (path: string) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
/** Never a remote fetch: tests reach only 127.0.0.1 (and "fetch" delivery would fetch whatever URL the path names). */
const local = (s: string) => s.replace(/fetch|https?:|ftp:|s3:|gs:/gi, "x");

const publicId = fc.oneof(
  fc.stringMatching(/^[a-z0-9_/-]{1,30}$/),
  fc.constantFrom("../../etc/passwd", "a/../../b", "%00", "a%2Fb", "con", ".", "..", "/", "//", "a//b", "ü/ß", "x".repeat(300), "a b", "a?b#c", "\u202e"),
  oddText,
).map(local);
const paramName = fc.constantFrom("public_id", "folder", "tags", "context", "eager", "transformation", "format", "type", "overwrite", "invalidate", "use_filename", "unique_filename", "resource_type", "upload_preset", "timestamp", "asset_folder", "display_name", "colors", "faces");
const transformation = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom("w", "h", "c", "g", "q", "f", "e", "r", "a", "x", "y", "z", "b", "o", "dpr", "ar", "t", "l", "fl", "zz"), fc.oneof(fc.integer({ min: -10, max: 2000 }).map(String), oddText, fc.constantFrom("auto", "max", "scale", "fill", "0.5", "1e9", "-0", "grayscale:200", "16:9"))).map(([k, v]) => `${k}_${v}`),
      oddText,
    ),
    { maxLength: 4 },
  )
  .map((parts) => local(parts.join(",")));
const deliveryPath = fc
  .record({
    rt: fc.constantFrom("image", "video", "raw", "auto", "nope"),
    type: fc.constantFrom("upload", "private", "authenticated", "nope"),
    sig: fc.option(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{8}$/), oddText).map((s) => `s--${local(s)}--`), { nil: undefined }),
    chain: fc.array(transformation, { maxLength: 3 }),
    version: fc.option(fc.oneof(fc.nat().map((n) => `v${n}`), fc.constantFrom("v", "v-1", "v1e99")), { nil: undefined }),
    id: fc.oneof(fc.constant("known"), publicId),
    ext: fc.constantFrom("", ".png", ".jpg", ".webp", ".gif", ".svg", ".pdf", ".exe", ".", ".png.png"),
  })
  .map(({ rt, type, sig, chain, version, id, ext }) => [CLOUD, rt, type, sig, ...chain, version, `${id}${ext}`].filter((p) => p !== undefined && p !== "").join("/"))
  .map((path) => `/${path.split("/").map((p) => encodeURIComponent(p).replace(/%2F/g, "/")).join("/")}`);

const file = fc.oneof(
  fc.constant(null),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.constantFrom("data:image/png;base64,iVBORw0KGgo=", "data:,", "data:image/png;base64,!!!", "", "not a url"),
);
const upload = fc
  .record({
    fields: fc.dictionary(paramName, oddText.map(local), { maxKeys: 4 }),
    id: publicId,
    file,
    signing: fc.constantFrom("good", "good", "none", "bad"),
    signature: fc.oneof(fc.stringMatching(/^[0-9a-f]{40}$/), oddText),
    rt: fc.constantFrom("image", "raw", "auto", "video", "nope"),
    action: fc.constantFrom("upload", "destroy", "explicit", "rename", "tags", "nope"),
  })
  .map(({ fields, id, file: f, signing, signature, rt, action }) =>
    uploadRequest({ public_id: id, ...fields }, f ?? tiny, signing !== "none", signing === "bad" ? local(signature) : undefined, rt, action),
  );
const valid = fc.oneof(upload, deliveryPath.map(get));
const badRequest = nearlyValid(valid, [deliveryPath.map(get), upload]);

/** Every answer is HTTP; a 5xx means a request reached code that did not expect it (the stand-in answers bad input with 4xx, as Cloudinary does). */
function checkReply(reply: Buffer): string | undefined {
  if (reply.length === 0) return undefined;
  const text = reply.toString("latin1");
  expect(text.slice(0, 9)).toBe("HTTP/1.1 ");
  return text[9] === "5" ? text.slice(0, 600) : undefined;
}

describe("the Cloudinary stand-in under malformed uploads, transformations, public_ids and signatures", () => {
  it("answers HTTP without a 5xx, or closes, and stays healthy", async () => {
    const probe = async () => {
      const reply = await exchange(target, get(`/${CLOUD}/image/upload/w_4/known.png`), { deadlineMs: 30_000, until: complete });
      expect(reply.reply.toString("latin1"), "a normal delivery of a known image").toMatch(/^HTTP\/1\.1 200 /);
    };
    // The stand-in keeps a pool of keep-alive connections to MinIO, as large as the load has
    // needed: fill it to the batch's concurrency first, so the baseline counts it.
    await Promise.all(Array.from({ length: PER_RUN }, (_, i) => (i % 2 ? probe() : exchange(target, uploadRequest({ public_id: `warm${i}` }, tiny, true), { deadlineMs: 30_000, until: complete }))));
    await probe();
    const serverErrors: { input: string; reply: string }[] = [];
    await fuzzListener({
      name: "cloudinary stand-in",
      target,
      inputs: badRequest,
      probe,
      exchangeOptions: { deadlineMs: 1_000, until: complete },
      kind: (result) => result.reply.subarray(9, 12).toString("latin1") || "?",
      check: (result, input) => {
        const error = checkReply(result.reply);
        if (error) serverErrors.push({ input: input.toString("latin1").slice(0, 400), reply: error });
      },
    });
    for (const { input, reply } of serverErrors.slice(0, 5)) console.log(`5xx for ${JSON.stringify(input)}:\n${reply}`);
    expect(serverErrors.map((e) => e.reply.split("\r\n")[0])).toEqual([]);
  });
});
