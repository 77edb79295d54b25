import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

export interface S3Options {
  readonly endpoint: string;
  readonly region?: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface StoredObject {
  readonly body: Readable;
  readonly contentLength: number;
  readonly contentType: string | undefined;
  readonly etag: string | undefined;
  readonly contentRange: string | undefined;
}

function isMissing(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  return err.name === "NoSuchKey" || err.name === "NotFound" || err.name === "NoSuchBucket" || err.$metadata.httpStatusCode === 404;
}

/**
 * The S3 calls the stand-in makes, against MinIO. One bucket per cloud name, made on first use.
 * Streams go up in 5 MB parts, two at a time, so a 100 MB upload holds ~10 MB in memory.
 */
export class ObjectStore {
  readonly #client: S3Client;
  readonly #buckets = new Map<string, Promise<void>>();

  constructor(options: S3Options) {
    this.#client = withoutNodeVersionWarning(() => new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // The SDK's default checksum headers are fine for MinIO, but not needed for local traffic
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    }));
  }

  ensureBucket(bucket: string): Promise<void> {
    let ready = this.#buckets.get(bucket);
    if (!ready) {
      ready = this.#createBucket(bucket);
      ready.catch(() => this.#buckets.delete(bucket));
      this.#buckets.set(bucket, ready);
    }
    return ready;
  }

  async #createBucket(bucket: string): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    try {
      await this.#client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw err;
    }
  }

  async putStream(bucket: string, key: string, body: Readable, contentType: string): Promise<void> {
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async putBuffer(bucket: string, key: string, body: Buffer | string, contentType: string): Promise<void> {
    await this.#client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async get(bucket: string, key: string, range?: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
      return {
        body: out.Body as Readable,
        contentLength: out.ContentLength ?? 0,
        contentType: out.ContentType,
        etag: out.ETag,
        contentRange: out.ContentRange,
      };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async getBuffer(bucket: string, key: string): Promise<Buffer | undefined> {
    const object = await this.get(bucket, key);
    if (!object) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async head(bucket: string, key: string): Promise<{ contentLength: number; contentType: string | undefined } | undefined> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { contentLength: out.ContentLength ?? 0, contentType: out.ContentType };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async copy(bucket: string, from: string, to: string, contentType: string): Promise<void> {
    await this.#client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: to,
        CopySource: `${bucket}/${from.split("/").map(encodeURIComponent).join("/")}`,
        ContentType: contentType,
        MetadataDirective: "REPLACE",
      }),
    );
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  /** Keys under a prefix, one page; `after` is the last key of the previous page. */
  async list(bucket: string, prefix: string, limit: number, after?: string): Promise<{ keys: string[]; more: boolean }> {
    const out = await this.#client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: limit, StartAfter: after }),
    );
    return { keys: (out.Contents ?? []).map((item) => item.Key ?? "").filter(Boolean), more: out.IsTruncated ?? false };
  }

  async deletePrefix(bucket: string, prefix: string): Promise<number> {
    let deleted = 0;
    for (;;) {
      const { keys } = await this.list(bucket, prefix, 1000);
      if (keys.length === 0) return deleted;
      await this.#client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
      deleted += keys.length;
    }
  }

  destroy(): void {
    this.#client.destroy();
  }
}

const NODE_WARNING_SWITCH = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

/**
 * Make an SDK client without its warning that future SDK versions need Node 22 (printed on every
 * run on Node 20): this SDK's version is pinned by prodlike's lock, so nobody using prodlike can act
 * on it. The SDK's own switch is set only while the client is made; the process's env is left as it was.
 */
function withoutNodeVersionWarning<T>(make: () => T): T {
  const before = process.env[NODE_WARNING_SWITCH];
  process.env[NODE_WARNING_SWITCH] = "true";
  try {
    return make();
  } finally {
    if (before === undefined) delete process.env[NODE_WARNING_SWITCH];
    else process.env[NODE_WARNING_SWITCH] = before;
  }
}

/** S3 bucket names are 3-63 of [a-z0-9.-]; cloud names may hold "_" and capitals. */
export function bucketFor(cloudName: string): string {
  const slug = cloudName.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const name = `cloudinary-${slug}`;
  return name.length <= 63 ? name : `cloudinary-${createHash("sha1").update(cloudName).digest("hex").slice(0, 40)}`;
}
