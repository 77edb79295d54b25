import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudinaryStandIn, signParams, type CloudinaryStandIn } from "../../../src/cloudinary/index.js";
import { startMinio, type MinioProcess } from "../../helpers/minio-process.js";

// Issue 14: one unauthenticated URL pinned a core for minutes, and `down` waited for it.
const CLOUD = "limits-cloud";
const KEY = "123456789012345";
const SECRET = "limits-secret";
// Seconds of work for one core; every test that starts it has it killed right after it starts.
const HEAVY = "w_4800,h_4800,c_scale/e_blur:2000/e_blur:2000/e_blur:2000";

let minio: MinioProcess;
const standIns: CloudinaryStandIn[] = [];

async function startStandIn(): Promise<{ standIn: CloudinaryStandIn; base: string }> {
  const standIn = createCloudinaryStandIn({
    cloudName: CLOUD,
    apiKey: KEY,
    apiSecret: SECRET,
    s3: minio,
    // one render at a time and an hour's budget: only a cancellation can free the slot here
    renders: { concurrency: 1, timeoutSeconds: 3600 },
  });
  standIns.push(standIn);
  return { standIn, base: await standIn.listen(0, "127.0.0.1") };
}

async function uploadPng(base: string, publicId: string, width = 300, height = 200): Promise<Response> {
  const params = { public_id: publicId, timestamp: String(Math.floor(Date.now() / 1000)) };
  const form = new FormData();
  for (const [key, value] of Object.entries(params)) form.append(key, value);
  form.append("api_key", KEY);
  form.append("signature", signParams(params, SECRET));
  const file = await sharp({ create: { width, height, channels: 3, background: "teal" } }).png().toBuffer();
  form.append("file", new Blob([file]), "photo.png");
  return fetch(`${base}/v1_1/${CLOUD}/image/upload`, { method: "POST", body: form });
}

/** Every "start" and "settle" event of a stand-in's renders, in order. */
function record(standIn: CloudinaryStandIn): string[] {
  const events: string[] = [];
  standIn.renders.on("start", (id: number) => events.push(`start ${id}`));
  standIn.renders.on("settle", (id: number, how: string) => events.push(`settle ${id} ${how}`));
  return events;
}

let standIn: CloudinaryStandIn;
let base: string;

beforeAll(async () => {
  minio = await startMinio();
  ({ standIn, base } = await startStandIn());
  expect((await uploadPng(base, "photo")).status).toBe(200);
});

afterAll(async () => {
  for (const created of standIns) await created.close();
  await minio?.stop();
});

describe("oversized transformations", () => {
  it.each([
    ["w_100000,h_100000,c_scale", "w_100000,h_100000,c_scale", "Image too large. Got 10000000000 pixels (100000x100000). Maximum is 25000000."],
    ["w_30000,h_30000", "w_30000,h_30000", "Image too large. Got 900000000 pixels (30000x30000). Maximum is 25000000."],
    ["w_11111111111111111111", "w_11111111111111111111", "Invalid width - 11111111111111111111"],
    ["a 2,404-character transformation", "e_grayscale,".repeat(200) + "w_10", "Transformation too long. Got 2404 characters. Maximum is 2048."],
  ])("answers %s with a 400 and Cloudinary's x-cld-error, rendering nothing", async (_label, transformation, message) => {
    const before = standIn.renders.started;
    // bounded: before the fix the first of these got no answer in a minute
    const response = await fetch(`${base}/${CLOUD}/image/upload/${transformation}/photo.png`, { signal: AbortSignal.timeout(60_000) });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-cld-error")).toBe(message);
    expect(await response.json()).toEqual({ error: { message } });
    expect(standIn.renders.started).toBe(before);
  });

  it("refuses an upload over the resolution limit", async () => {
    const response = await uploadPng(base, "huge", 6000, 5000);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { message: "Image too large. Got 30000000 pixels (6000x5000). Maximum is 25000000." } });
  });

  it("refuses an oversized image/fetch transformation the same way", async () => {
    const picture = await sharp({ create: { width: 80, height: 40, channels: 3, background: "purple" } }).png().toBuffer();
    const remote = createServer((_req, res) => res.writeHead(200, { "content-type": "image/png" }).end(picture));
    remote.listen(0, "127.0.0.1");
    await once(remote, "listening");
    try {
      const before = standIn.renders.started;
      const origin = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
      const response = await fetch(`${base}/${CLOUD}/image/fetch/w_30000,h_30000/${origin}/pic.png`, { signal: AbortSignal.timeout(60_000) });
      expect([response.status, response.headers.get("x-cld-error")]).toEqual([400, "Image too large. Got 900000000 pixels (30000x30000). Maximum is 25000000."]);
      expect(standIn.renders.started).toBe(before);
    } finally {
      remote.close();
    }
  });
});

describe("cancelled renders", () => {
  it("kills the render of a client that went away; the next request gets the slot", async () => {
    const events = record(standIn);
    const started = once(standIn.renders, "start");
    const client = new AbortController();
    const abandoned = fetch(`${base}/${CLOUD}/image/upload/${HEAVY}/photo.png`, { signal: client.signal }).then(
      () => "answered",
      (err: Error) => err.name,
    );
    const [id] = (await started) as [number];
    client.abort();
    expect(await abandoned).toBe("AbortError");
    // one slot, an hour's budget: this is answered only because the abandoned render was dropped
    const next = await fetch(`${base}/${CLOUD}/image/upload/w_50/photo.png`, { signal: AbortSignal.timeout(60_000) });
    expect(next.status).toBe(200);
    expect((await sharp(Buffer.from(await next.arrayBuffer())).metadata()).width).toBe(50);
    await expect.poll(() => events, { timeout: 10_000 }).toContain(`settle ${id} killed`);
    expect(events).not.toContain(`settle ${id} done`);
  });

  it("keeps a render two clients share when only one of them goes away", async () => {
    const events = record(standIn);
    const started = once(standIn.renders, "start");
    const url = `${base}/${CLOUD}/image/upload/w_2000,h_2000,c_scale/e_blur:200/photo.png`;
    const leaving = new AbortController();
    const left = fetch(url, { signal: leaving.signal }).then(
      () => "answered",
      (err: Error) => err.name,
    );
    const [id] = (await started) as [number];
    const joined = once(standIn.renders, "join");
    const staying = fetch(url, { signal: AbortSignal.timeout(120_000) });
    // the second request waits for the same render (it is not rendered twice) before the first leaves
    expect(await joined).toEqual([2]);
    leaving.abort();
    expect(await left).toBe("AbortError");
    const response = await staying;
    expect(response.status).toBe(200);
    expect((await sharp(Buffer.from(await response.arrayBuffer())).metadata()).width).toBe(2000);
    expect(events).toEqual([`start ${id}`, `settle ${id} done`]);
  });

  it("close() with a render in flight resolves at once and kills the render", async () => {
    const { standIn: closing, base: closingBase } = await startStandIn();
    const events = record(closing);
    const started = once(closing.renders, "start");
    const inFlight = fetch(`${closingBase}/${CLOUD}/image/upload/${HEAVY},e_negate/photo.png`).then(
      (response) => response.status,
      (err: Error) => err.name,
    );
    const [id] = (await started) as [number];
    await closing.close();
    // close() did not wait for the render: it has not finished, its process was killed
    expect(events).not.toContain(`settle ${id} done`);
    await expect.poll(() => events, { timeout: 10_000 }).toContain(`settle ${id} killed`);
    expect(await inFlight).not.toBe(200);
  });
});
