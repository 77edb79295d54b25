/**
 * The Cloudinary stand-in against MinIO itself, same objects, same run, same MinIO:
 *   - upload throughput: signed Upload API calls (multipart) vs S3 PutObject
 *   - delivery throughput: GET of the delivery URL vs S3 GetObject
 *   - transformation latency: a derived image rendered by sharp (cold) vs served from the
 *     cache in MinIO (warm)
 * Ratios, not assertions. Rounds alternate the two sides so neither always runs first.
 *
 *   npx tsx test/bench/cloudinary.ts      (BENCH_ROUNDS, BENCH_CONCURRENCY, BENCH_IMAGES, BENCH_LARGE)
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import sharp from "sharp";
import { Agent, FormData, request } from "undici";
import { createCloudinaryStandIn, signParams } from "../../src/cloudinary/index.js";
import { startMinio } from "../helpers/minio-process.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 24);
const LARGE = Number(process.env.BENCH_LARGE ?? 6);
const CLOUD = "bench";
const KEY = "bench-key";
const SECRET = "bench-secret";
const TRANSFORMATION = "w_400,h_300,c_fill,q_auto";
const MB = 1024 * 1024;

interface BenchObject {
  readonly name: string;
  readonly ext: string;
  readonly resourceType: "image" | "raw";
  readonly data: Buffer;
}

/** Photographs compress; noise does not: a JPEG of gaussian noise is a fair worst case for sharp. */
async function makeObjects(): Promise<BenchObject[]> {
  const objects: BenchObject[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const data = await sharp({ create: { width: 1600, height: 1067, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 40 + i } } })
      .jpeg({ quality: 85 })
      .toBuffer();
    objects.push({ name: `photo-${i}`, ext: "jpg", resourceType: "image", data });
  }
  for (let i = 0; i < LARGE; i++) {
    const data = Buffer.alloc(8 * MB, i + 1);
    data.write(`large object ${i}`, 0);
    objects.push({ name: `archive-${i}`, ext: "bin", resourceType: "raw", data });
  }
  return objects;
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
  return performance.now() - started;
}

async function drain(body: AsyncIterable<Uint8Array> | null | undefined): Promise<number> {
  let bytes = 0;
  if (!body) return bytes;
  for await (const chunk of body as AsyncIterable<Uint8Array>) bytes += chunk.length;
  return bytes;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const percentile = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
const mbps = (bytes: number, ms: number) => bytes / MB / (ms / 1000);

const minio = await startMinio();
const s3 = { endpoint: minio.endpoint, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
const client = new S3Client({
  endpoint: s3.endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
const standIn = createCloudinaryStandIn({ cloudName: CLOUD, apiKey: KEY, apiSecret: SECRET, s3 });
const base = await standIn.listen(0, "127.0.0.1");
const DIRECT_BUCKET = "bench-direct";
// undici's request(), not fetch(): web streams would make the client, not the stand-in, the bottleneck
const agent = new Agent({ connections: CONCURRENCY });

try {
  await client.send(new CreateBucketCommand({ Bucket: DIRECT_BUCKET }));
  const objects = await makeObjects();
  const totalBytes = objects.reduce((sum, object) => sum + object.data.length, 0);
  const versions = new Map<string, number>();

  const directPut = (round: number) => (object: BenchObject) =>
    client
      .send(new PutObjectCommand({ Bucket: DIRECT_BUCKET, Key: `r${round}/${object.name}.${object.ext}`, Body: object.data, ContentType: "application/octet-stream" }))
      .then(() => undefined);
  const standInUpload = (round: number) => async (object: BenchObject) => {
    const params = { public_id: `r${round}/${object.name}`, timestamp: String(Math.floor(Date.now() / 1000)) };
    const form = new FormData();
    for (const [key, value] of Object.entries(params)) form.append(key, value);
    form.append("api_key", KEY);
    form.append("signature", signParams(params, SECRET));
    form.append("file", new Blob([object.data]), `${object.name}.${object.ext}`);
    const response = await request(`${base}/v1_1/${CLOUD}/${object.resourceType}/upload`, { method: "POST", body: form, dispatcher: agent });
    const body = (await response.body.json()) as { version?: number; error?: { message: string } };
    if (response.statusCode !== 200 || body.version === undefined) throw new Error(`upload ${object.name}: ${response.statusCode} ${JSON.stringify(body)}`);
    versions.set(`r${round}/${object.name}`, body.version);
  };
  const directGet = (round: number) => async (object: BenchObject) => {
    const out = await client.send(new GetObjectCommand({ Bucket: DIRECT_BUCKET, Key: `r${round}/${object.name}.${object.ext}` }));
    if ((await drain(out.Body as AsyncIterable<Uint8Array>)) !== object.data.length) throw new Error(`short read of ${object.name}`);
  };
  const deliveryUrl = (round: number, object: BenchObject, transformation = "") => {
    const id = `r${round}/${object.name}`;
    // raw public_ids keep their extension (use_filename-less uploads of raw files get none added)
    const file = object.resourceType === "raw" ? id : `${id}.${object.ext}`;
    return `${base}/${CLOUD}/${object.resourceType}/upload/${transformation ? `${transformation}/` : ""}v${versions.get(id)}/${file}`;
  };
  const standInGet = (round: number) => async (object: BenchObject) => {
    const response = await request(deliveryUrl(round, object), { dispatcher: agent });
    if (response.statusCode !== 200) throw new Error(`delivery of ${object.name}: ${response.statusCode}`);
    if ((await drain(response.body)) !== object.data.length) throw new Error(`short read of ${object.name}`);
  };

  const upload = { direct: [] as number[], standIn: [] as number[] };
  const delivery = { direct: [] as number[], standIn: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const directFirst = round % 2 === 0;
    for (const side of directFirst ? ["direct", "standIn"] : ["standIn", "direct"]) {
      if (side === "direct") upload.direct.push(await inParallel(objects, CONCURRENCY, directPut(round)));
      else upload.standIn.push(await inParallel(objects, CONCURRENCY, standInUpload(round)));
    }
    for (const side of directFirst ? ["direct", "standIn"] : ["standIn", "direct"]) {
      if (side === "direct") delivery.direct.push(await inParallel(objects, CONCURRENCY, directGet(round)));
      else delivery.standIn.push(await inParallel(objects, CONCURRENCY, standInGet(round)));
    }
  }

  // Transformation latency, one request at a time: each image's first request renders it (cold),
  // the next ones come from the derived cache in MinIO (warm).
  const cold: number[] = [];
  const warm: number[] = [];
  const originals: number[] = [];
  const images = objects.filter((object) => object.resourceType === "image");
  const timed = async (url: string): Promise<number> => {
    const started = performance.now();
    const response = await request(url, { dispatcher: agent });
    await drain(response.body);
    if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode}`);
    return performance.now() - started;
  };
  for (const image of images) {
    const url = deliveryUrl(0, image, TRANSFORMATION);
    cold.push(await timed(url));
    warm.push(await timed(url));
    warm.push(await timed(url));
    originals.push(await timed(deliveryUrl(0, image)));
  }

  const imageBytes = images.reduce((sum, object) => sum + object.data.length, 0);
  console.log(`Cloudinary stand-in vs MinIO directly (same MinIO, same objects, same run)`);
  console.log(`  objects: ${images.length} JPEG 1600x1067 (${(imageBytes / images.length / 1024).toFixed(0)} KB avg) + ${LARGE} raw 8 MB = ${(totalBytes / MB).toFixed(1)} MB; concurrency ${CONCURRENCY}; median of ${ROUNDS} rounds`);
  const line = (label: string, direct: number[], viaStandIn: number[]) => {
    const d = median(direct);
    const s = median(viaStandIn);
    console.log(`  ${label.padEnd(9)} MinIO ${mbps(totalBytes, d).toFixed(1).padStart(7)} MB/s ${((objects.length / d) * 1000).toFixed(0).padStart(5)} obj/s | stand-in ${mbps(totalBytes, s).toFixed(1).padStart(7)} MB/s ${((objects.length / s) * 1000).toFixed(0).padStart(5)} obj/s | stand-in/MinIO throughput ${(d / s).toFixed(2)}x`);
  };
  line("upload", upload.direct, upload.standIn);
  line("delivery", delivery.direct, delivery.standIn);
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  console.log(`  transformation ${TRANSFORMATION} (sequential, ${images.length} images):`);
  console.log(`    cold (sharp render + store)  median ${ms(median(cold))}  p95 ${ms(percentile(cold, 0.95))}`);
  console.log(`    warm (cached in MinIO)       median ${ms(median(warm))}  p95 ${ms(percentile(warm, 0.95))}`);
  console.log(`    original delivery            median ${ms(median(originals))}`);
  console.log(`    cold/warm ${(median(cold) / median(warm)).toFixed(1)}x   warm/original ${(median(warm) / median(originals)).toFixed(2)}x`);
} finally {
  client.destroy();
  await agent.close();
  await standIn.close();
  await minio.stop();
}
