import { createHash, randomUUID } from "node:crypto";
import { PassThrough, Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { badRequest } from "./api-error.js";
import type { ObjectStore } from "./object-store.js";
import { keys } from "./resources.js";

/** Bytes kept in memory from the start of an upload, to sniff its type and image size. */
export const SNIFF_BYTES = 1024 * 1024;

/** An upload written to tmp/ in the bucket while it arrived, not yet checked or named. */
export interface StagedFile {
  readonly key: string;
  readonly bytes: number;
  readonly md5: string;
  /** The first SNIFF_BYTES (or all, when smaller). */
  readonly head: Buffer;
  readonly filename?: string;
}

/** Counts, hashes and keeps the head of a stream passing through; fails past `maxBytes`. */
class Meter extends Transform {
  bytes = 0;
  readonly #hash = createHash("md5");
  readonly #head: Buffer[] = [];
  #headBytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(fileTooLarge(this.bytes, this.maxBytes));
      return;
    }
    this.#hash.update(chunk);
    if (this.#headBytes < SNIFF_BYTES) {
      const part = chunk.subarray(0, SNIFF_BYTES - this.#headBytes);
      this.#head.push(Buffer.from(part));
      this.#headBytes += part.length;
    }
    callback(null, chunk);
  }

  md5 = "";

  override _flush(callback: TransformCallback): void {
    this.md5 = this.#hash.digest("hex");
    callback();
  }

  get head(): Buffer {
    return Buffer.concat(this.#head);
  }
}

export function fileTooLarge(got: number, max: number): Error {
  return badRequest(`File size too large. Got ${got}. Maximum is ${max}.`);
}

/**
 * Stream `source` into tmp/<uuid> in the bucket. Memory stays bounded: S3 parts of 5 MB,
 * two in flight, plus the sniffed head. On any failure the tmp object is removed.
 */
export async function stageStream(store: ObjectStore, bucket: string, source: Readable, maxBytes: number, filename?: string): Promise<StagedFile> {
  const key = keys.tmp(randomUUID());
  const meter = new Meter(maxBytes);
  const body = new PassThrough();
  const uploaded = store.putStream(bucket, key, body, "application/octet-stream");
  try {
    await Promise.all([pipeline(source, meter, body), uploaded]);
  } catch (err) {
    body.destroy();
    await uploaded.catch(() => undefined);
    await store.delete(bucket, key).catch(() => undefined);
    throw err;
  }
  return { key, bytes: meter.bytes, md5: meter.md5, head: meter.head, filename };
}

export function stageBuffer(store: ObjectStore, bucket: string, data: Buffer, maxBytes: number, filename?: string): Promise<StagedFile> {
  return stageStream(store, bucket, Readable.from([data]), maxBytes, filename);
}

/** `data:[<type>][;base64],<data>` → bytes; undefined when `value` is not a data URI. */
export function decodeDataUri(value: string): Buffer | undefined {
  const match = /^data:([^,]*?),/s.exec(value);
  if (!match) return undefined;
  const meta = match[1] ?? "";
  const payload = value.slice(match[0].length);
  return meta.endsWith(";base64") ? Buffer.from(payload, "base64") : Buffer.from(decodeURIComponent(payload), "utf8");
}
