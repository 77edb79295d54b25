import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { badRequest, CloudinaryApiError, notFound } from "./api-error.js";
import type { StandInContext } from "./context.js";
import { derivedImage } from "./derived.js";
import { renderFormatOf } from "./eager.js";
import { chooseFormat } from "./image-render.js";
import { contentTypeFor, type ResourceType } from "./media-types.js";
import { checkPublicId } from "./public-id.js";
import { keys, type ResourceRecord } from "./resources.js";
import { checkTransformationLength } from "./render-limits.js";
import { isTransformationSegment, parseTransformation, type OutputFormat } from "./transformation.js";

const RESOURCE_TYPES: ReadonlySet<string> = new Set(["image", "video", "raw"]);
const OUTPUT_FORMATS: Readonly<Record<string, OutputFormat>> = { jpg: "jpg", jpeg: "jpg", png: "png", webp: "webp", avif: "avif", gif: "gif", tiff: "tiff", tif: "tiff" };

export interface DeliveryRequest {
  readonly resourceType: ResourceType;
  readonly transformation: string;
  readonly version?: number;
  /** The file part of the URL, decoded: public_id with or without an extension. */
  readonly file: string;
  /** A URL signature (`s--XXXXXXXX--`) and the text it signs, when the URL carries one. */
  readonly signature?: { readonly value: string; readonly signed: string };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`Invalid URL encoding in ${segment}`);
  }
}

/**
 * Split `<resource_type>/<type>/[s--sig--/][<transformations>/][v<version>/]<public_id>[.<ext>]`
 * (the segments after the cloud name, still percent-encoded).
 */
export function parseDeliveryPath(path: readonly string[]): DeliveryRequest {
  const { segments, suffixed } = longForm(path);
  const [resourceType, type, ...rest] = segments;
  if (!resourceType || !RESOURCE_TYPES.has(resourceType)) throw notFound(`Resource not found - unknown resource type ${resourceType ?? ""}`);
  if (type !== "upload") throw badRequest(`Delivery type '${type ?? ""}' is not implemented by the prodlike stand-in (only 'upload')`);
  let index = 0;
  let signature: string | undefined;
  const signatureMatch = /^s--([A-Za-z0-9_-]{8}|[A-Za-z0-9_-]{32})--$/.exec(rest[0] ?? "");
  if (signatureMatch) {
    signature = signatureMatch[1];
    index += 1;
  }
  const transformationStart = index;
  const transformations: string[] = [];
  while (index < rest.length - 1 && isTransformationSegment(rest[index] as string)) {
    transformations.push(decodeSegment(rest[index] as string));
    index += 1;
  }
  let version: number | undefined;
  const versionMatch = /^v(\d+)$/.exec(rest[index] ?? "");
  if (versionMatch && index < rest.length - 1) {
    version = Number(versionMatch[1]);
    index += 1;
  }
  let fileSegments = rest.slice(index);
  if (suffixed) fileSegments = withoutSuffix(fileSegments);
  if (fileSegments.length === 0) throw notFound("Resource not found");
  const file = fileSegments.map(decodeSegment).join("/");
  checkPublicId(file);
  const signed = [...rest.slice(transformationStart, transformationStart + transformations.length), ...fileSegments].join("/");
  return {
    resourceType: resourceType as ResourceType,
    transformation: transformations.join("/"),
    version,
    file,
    ...(signature ? { signature: { value: signature, signed } } : {}),
  };
}

/** The SDK's short (`iu/`, shorten=True) and SEO-suffix (`images/`, `files/`, url_suffix) forms, as the long one. */
function longForm(path: readonly string[]): { segments: readonly string[]; suffixed: boolean } {
  const [first, ...rest] = path;
  if (first === "iu") return { segments: ["image", "upload", ...rest], suffixed: false };
  if (first === "images") return { segments: ["image", "upload", ...rest], suffixed: true };
  if (first === "files") return { segments: ["raw", "upload", ...rest], suffixed: true };
  return { segments: path, suffixed: false };
}

/** `<public_id>/<suffix>.<ext>` names `<public_id>.<ext>`: the suffix is only for search engines (and not signed). */
function withoutSuffix(fileSegments: readonly string[]): string[] {
  if (fileSegments.length < 2) throw notFound("Resource not found - a URL with a suffix needs <public_id>/<suffix>");
  const suffix = fileSegments.at(-1)!;
  const dot = suffix.lastIndexOf(".");
  const ids = fileSegments.slice(0, -1);
  return dot > 0 ? [...ids.slice(0, -1), `${ids.at(-1)!}${suffix.slice(dot)}`] : ids;
}

/**
 * A signed delivery URL (sign_url=True in the SDKs): the first 8 characters of the URL-safe
 * base64 SHA-1 of `<transformation>/<public_id.ext>` + secret, or 32 of SHA-256 for long
 * signatures. The version is not signed. A wrong signature is a 401, as on Cloudinary.
 */
export function checkUrlSignature(signature: { value: string; signed: string }, apiSecret: string): void {
  const long = signature.value.length === 32;
  const digest = createHash(long ? "sha256" : "sha1").update(signature.signed + apiSecret, "utf8").digest("base64url");
  if (digest.slice(0, signature.value.length) !== signature.value) {
    throw new CloudinaryApiError(401, "Invalid URL signature");
  }
}

/** The record a delivery URL names: public_id + extension, or a public_id holding dots. */
async function findRecord(ctx: StandInContext, request: DeliveryRequest): Promise<{ record: ResourceRecord; extension?: string }> {
  const dot = request.file.lastIndexOf(".");
  const slash = request.file.lastIndexOf("/");
  const split = dot > slash + 1 ? { id: request.file.slice(0, dot), extension: request.file.slice(dot + 1).toLowerCase() } : undefined;
  const candidates = request.resourceType === "raw" ? [{ id: request.file }, split] : [split, { id: request.file }];
  for (const candidate of candidates) {
    if (!candidate) continue;
    const record = await ctx.repo.get(request.resourceType, candidate.id);
    if (record) return { record, extension: "extension" in candidate ? candidate.extension : undefined };
  }
  throw notFound(`Resource not found - ${split?.id ?? request.file}`);
}

function sameFormat(a: string | undefined, b: string | undefined): boolean {
  const norm = (value: string | undefined) => (value === "jpeg" ? "jpg" : value === "tif" ? "tiff" : value);
  return norm(a) === norm(b);
}

function commonHeaders(etag: string, contentType: string, length: number): Record<string, string> {
  return {
    "Content-Type": contentType,
    "Content-Length": String(length),
    ETag: `"${etag}"`,
    "Cache-Control": "public, max-age=2592000",
    "Access-Control-Allow-Origin": "*",
  };
}

function notModified(req: IncomingMessage, etag: string): boolean {
  const header = req.headers["if-none-match"];
  return header !== undefined && header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === `"${etag}"`);
}

/** GET/HEAD /<cloud>/<resource_type>/upload/... */
export async function handleDelivery(ctx: StandInContext, req: IncomingMessage, res: ServerResponse, segments: readonly string[]): Promise<void> {
  const request = parseDeliveryPath(segments);
  checkTransformationLength(request.transformation);
  if (request.signature) checkUrlSignature(request.signature, ctx.options.apiSecret);
  const { record, extension } = await findRecord(ctx, request);
  const head = req.method === "HEAD";
  const wantsOriginal = request.transformation === "" && (extension === undefined || record.resource_type === "raw" || sameFormat(extension, record.format));
  if (wantsOriginal) {
    await sendOriginal(ctx, req, res, record, head);
    return;
  }
  if (record.resource_type !== "image") {
    throw badRequest(`Transformations and format changes of ${record.resource_type} assets are not implemented by the prodlike stand-in`);
  }
  const requested = extension === undefined ? undefined : OUTPUT_FORMATS[extension];
  if (extension !== undefined && !requested) throw badRequest(`Invalid format - ${extension}`);
  const steps = parseTransformation(request.transformation);
  const accept = req.headers.accept ?? "";
  const format = chooseFormat(steps, requested, renderFormatOf(record), accept);
  const derived = await derivedImage(ctx, record, request.transformation, steps, format, clientGone(res));
  const etag = derived.key.slice(derived.key.lastIndexOf("/") + 1, derived.key.lastIndexOf("."));
  const headers = commonHeaders(etag, contentTypeFor(format), derived.data.length);
  if (steps.some((step) => step.format === "auto")) headers.Vary = "Accept";
  if (notModified(req, etag)) {
    res.writeHead(304, { ETag: headers.ETag as string, "Cache-Control": headers["Cache-Control"] as string });
    res.end();
    return;
  }
  res.writeHead(200, headers);
  res.end(head ? undefined : derived.data);
}

async function sendOriginal(ctx: StandInContext, req: IncomingMessage, res: ServerResponse, record: ResourceRecord, head: boolean): Promise<void> {
  const key = keys.asset(record.resource_type, record.public_id);
  const headers = commonHeaders(record.etag, record.content_type, record.bytes);
  headers["Accept-Ranges"] = "bytes";
  if (notModified(req, record.etag)) {
    res.writeHead(304, { ETag: headers.ETag as string });
    res.end();
    return;
  }
  if (head) {
    res.writeHead(200, headers);
    res.end();
    return;
  }
  const range = typeof req.headers.range === "string" && /^bytes=\d*-\d*$/.test(req.headers.range) ? req.headers.range : undefined;
  let object;
  try {
    object = await ctx.store.get(ctx.bucket, key, range);
  } catch (err) {
    if ((err as { name?: string }).name === "InvalidRange") {
      throw new CloudinaryApiError(416, "Requested range not satisfiable", { "Content-Range": `bytes */${record.bytes}` });
    }
    throw err;
  }
  if (!object) throw notFound(`Resource not found - ${record.public_id}`);
  headers["Content-Length"] = String(object.contentLength);
  if (range && object.contentRange) headers["Content-Range"] = object.contentRange;
  res.writeHead(range && object.contentRange ? 206 : 200, headers);
  await pipeline(object.body, res);
}

/** Aborts when the client goes away before its answer is sent: its render is abandoned. */
export function clientGone(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort();
  };
  // the response closes early when the connection does (the client went away)
  res.once("close", onClose);
  return controller.signal;
}
