import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudinaryStandIn, signParams, type CloudinaryStandIn } from "../../../src/cloudinary/index.js";
import { ObjectStore } from "../../../src/cloudinary/object-store.js";
import { startMinio, type MinioProcess } from "../../helpers/minio-process.js";

const CLOUD = "stream-cloud";
const KEY = "key";
const SECRET = "secret";
const MB = 1024 * 1024;

let minio: MinioProcess;
let standIn: CloudinaryStandIn;
let base: string;
let store: ObjectStore;

const logLines: Array<Record<string, unknown>> = [];

const now = () => String(Math.floor(Date.now() / 1000));

function signedFields(fields: Record<string, string>): Record<string, string> {
  const params = { timestamp: now(), ...fields };
  return { ...params, api_key: KEY, signature: signParams(params, SECRET) };
}

/** Bytes MinIO holds on disk (parts of unfinished multipart uploads included). */
async function bytesOnDisk(): Promise<number> {
  let total = 0;
  for (const entry of await readdir(minio.dataDir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

async function tmpKeys(): Promise<string[]> {
  return (await store.list(standIn.bucket, "tmp/", 100)).keys;
}

beforeAll(async () => {
  minio = await startMinio();
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
      callback();
    },
  });
  const s3 = { endpoint: minio.endpoint, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
  standIn = createCloudinaryStandIn({ cloudName: CLOUD, apiKey: KEY, apiSecret: SECRET, s3, logger: pino({ level: "info" }, destination) });
  base = await standIn.listen();
  store = new ObjectStore(s3);

});

afterAll(async () => {
  store?.destroy();

  await standIn?.close();
  await minio?.stop();
});

describe("streaming uploads", () => {
  it("streams a 100 MB upload to MinIO without holding it in memory", async () => {
    const size = 100 * MB;
    const boundary = "----prodlike-boundary";
    const fields = signedFields({ public_id: "big/movie" });
    let preamble = "";
    for (const [key, value] of Object.entries(fields)) preamble += `--${boundary}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${value}\r\n`;
    preamble += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="movie.mp4"\r\nContent-Type: video/mp4\r\n\r\n`;
    const header = Buffer.alloc(MB, 7);
    header.writeUInt32BE(32, 0);
    header.write("ftypisom", 4, "latin1");
    const filler = Buffer.alloc(MB, 7);
    const md5 = createHash("md5");
    let sent = 0;
    const before = await bytesOnDisk();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Buffer.from(preamble));
      },
      async pull(controller) {
        if (sent === 60 * MB) {
          // proof of streaming: with 40 MB still unsent, MinIO already stores parts of it
          await expect.poll(bytesOnDisk, { timeout: 10_000 }).toBeGreaterThan(before + 30 * MB);
        }
        if (sent >= size) {
          controller.enqueue(Buffer.from(`\r\n--${boundary}--\r\n`));
          controller.close();
          return;
        }
        const chunk = sent === 0 ? header : filler;
        md5.update(chunk);
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });

    let peak = 0;
    const baseline = process.memoryUsage();
    const sampler = setInterval(() => {
      const usage = process.memoryUsage();
      peak = Math.max(peak, usage.arrayBuffers - baseline.arrayBuffers + (usage.heapUsed - baseline.heapUsed));
    }, 10);
    let response: Response;
    try {
      response = await fetch(`${base}/v1_1/${CLOUD}/video/upload`, {
        method: "POST",
        body,
        headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
        duplex: "half",
      } as RequestInit);
    } finally {
      clearInterval(sampler);
    }
    const result = (await response.json()) as Record<string, unknown>;
    expect(response.status, JSON.stringify(result)).toBe(200);
    expect(result).toMatchObject({ public_id: "big/movie", resource_type: "video", format: "mp4", bytes: size, etag: md5.digest("hex") });
    // client and server share this process; holding the upload whole would need over 100 MB at once
    expect(peak).toBeLessThan(size);

    const head = await fetch(result.secure_url as string, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(size));
    const range = await fetch(result.secure_url as string, { headers: { range: "bytes=4-11" } });
    expect(range.status).toBe(206);
    expect(await range.text()).toBe("ftypisom");
    expect(await tmpKeys()).toEqual([]);
  }, 120_000);

  it("refuses a file over the plan limit and leaves nothing behind", async () => {
    const form = new FormData();
    for (const [key, value] of Object.entries(signedFields({ public_id: "too-big" }))) form.append(key, value);
    form.append("file", new Blob([Buffer.alloc(10 * MB + 1)]), "big.bin");
    const response = await fetch(`${base}/v1_1/${CLOUD}/raw/upload`, { method: "POST", body: form });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.message).toMatch(/^File size too large\. Got \d+\. Maximum is 10485760\.$/);
    await expect.poll(tmpKeys).toEqual([]);
  });

  it("fetches an http URL only after the signature passed", async () => {
    const image = await sharp({ create: { width: 33, height: 22, channels: 3, background: "white" } }).jpeg().toBuffer();
    let hits = 0;
    const origin: Server = createServer((_req, res) => {
      hits += 1;
      res.writeHead(200, { "content-type": "image/jpeg", "content-length": String(image.length) });
      res.end(image);
    });
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
    const fileUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/photos/remote.jpg`;
    try {
      const forged = new URLSearchParams({ ...signedFields({ public_id: "remote" }), file: fileUrl, signature: "f".repeat(40) });
      const refused = await fetch(`${base}/v1_1/${CLOUD}/image/upload`, { method: "POST", body: forged });
      expect(refused.status).toBe(401);
      expect(hits).toBe(0);
      const params = { public_id: "remote", timestamp: now(), file: fileUrl };
      const signed = new URLSearchParams({ ...params, api_key: KEY, signature: signParams(params, SECRET) });
      const accepted = await fetch(`${base}/v1_1/${CLOUD}/image/upload`, { method: "POST", body: signed });
      expect(await accepted.json()).toMatchObject({ public_id: "remote", width: 33, height: 22, format: "jpg", original_filename: "remote" });
      expect(hits).toBe(1);
    } finally {
      origin.close();
    }
  });
});

describe("robustness", () => {
  it("answers malformed requests with Cloudinary errors and keeps serving", async () => {
    const malformed = await fetch(`${base}/v1_1/${CLOUD}/image/upload`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=x" },
      body: "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc",
    });
    expect(malformed.status).toBeGreaterThanOrEqual(400);
    expect(malformed.status).toBeLessThan(500);
    const badEncoding = await fetch(`${base}/${CLOUD}/image/upload/%E0%A4%A.png`);
    expect(badEncoding.status).toBe(400);
    const wrongCloud = await fetch(`${base}/v1_1/other/image/upload`, { method: "POST" });
    expect(await wrongCloud.json()).toEqual({ error: { message: "Invalid cloud_name other" } });
    const missing = await fetch(`${base}/${CLOUD}/image/upload/v1/nothing/here.png`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-cld-error")).toBe("Resource not found - nothing/here");
    const noFile = await fetch(`${base}/v1_1/${CLOUD}/image/upload`, { method: "POST", body: new URLSearchParams(signedFields({})) });
    expect(await noFile.json()).toEqual({ error: { message: "Missing required parameter - file" } });
    const ping = await fetch(`${base}/v1_1/${CLOUD}/ping`, { headers: { authorization: `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString("base64")}` } });
    expect(ping.status).toBe(200);
  });

  it("logs one line per request", async () => {
    const path = `/${CLOUD}/image/upload/v1/log-probe-${Date.now()}.png`;
    await fetch(`${base}${path}`);
    await fetch(`${base}${path}`, { method: "HEAD" });
    await expect.poll(() => logLines.filter((line) => line.path === path).length).toBe(2);
    const lines = logLines.filter((line) => line.path === path);
    expect(lines.map((line) => [line.method, line.status, line.component, line.msg])).toEqual([
      ["GET", 404, "cloudinary", "request"],
      ["HEAD", 404, "cloudinary", "request"],
    ]);
  });
});
