import type { IncomingMessage } from "node:http";
import busboy from "busboy";
import { badRequest } from "./api-error.js";
import type { ObjectStore } from "./object-store.js";
import { addParam, paramsFromJson, paramsFromSearch, type Params } from "./params.js";
import { stageStream, type StagedFile } from "./staging.js";

export interface BodyLimits {
  /** Largest file accepted in a multipart part. */
  readonly maxFileBytes: number;
  /** Largest non-multipart body or text field (data URIs travel as text). */
  readonly maxTextBytes: number;
}

export interface RequestBody {
  readonly params: Params;
  /** A multipart file part named "file", already streamed to tmp/ in the bucket. */
  readonly file?: StagedFile;
}

export async function readText(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw badRequest(`Request body too large. Got more than ${limit} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Parameters from the query string and the body (multipart, urlencoded or JSON). A multipart
 * file is streamed to storage as it arrives; it is never held whole in memory.
 */
export async function readRequestBody(req: IncomingMessage, url: URL, store: ObjectStore, bucket: string, limits: BodyLimits): Promise<RequestBody> {
  const params = paramsFromSearch(url.searchParams);
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  if (type.startsWith("multipart/form-data")) return readMultipart(req, params, store, bucket, limits);
  if (req.method === "GET" || req.method === "HEAD") return { params };
  const text = await readText(req, limits.maxTextBytes);
  if (text.trim() === "") return { params };
  if (type.startsWith("application/json")) {
    try {
      paramsFromJson(JSON.parse(text), params);
    } catch {
      throw badRequest("Invalid JSON body");
    }
  } else {
    paramsFromSearch(new URLSearchParams(text), params);
  }
  return { params };
}

function readMultipart(req: IncomingMessage, params: Params, store: ObjectStore, bucket: string, limits: BodyLimits): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fieldSize: limits.maxTextBytes, fields: 1000, parts: 1100 } });
    } catch (err) {
      reject(badRequest(`Malformed multipart body: ${(err as Error).message}`));
      return;
    }
    let staging: Promise<StagedFile> | undefined;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.resume();
      staging?.then((file) => store.delete(bucket, file.key)).catch(() => undefined);
      reject(err);
    };
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) fail(badRequest(`Parameter ${name} is too large`));
      else addParam(params, name, value);
    });
    parser.on("file", (name, stream, info) => {
      if (name !== "file" || staging) {
        stream.resume();
        return;
      }
      staging = stageStream(store, bucket, stream, limits.maxFileBytes, info.filename);
      staging.catch(fail);
    });
    parser.on("error", (err) => fail(badRequest(`Malformed multipart body: ${(err as Error).message}`)));
    parser.on("close", () => {
      if (failed) return;
      if (!staging) {
        resolve({ params });
        return;
      }
      staging.then((file) => resolve({ params, file }), fail);
    });
    req.on("error", fail);
    req.pipe(parser);
  });
}
