import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { badRequest } from "./api-error.js";
import { checkSignedRequest, type StandInContext } from "./context.js";
import { eagerResults } from "./eager.js";
import { checkRenderLimits } from "./render-limits.js";
import { contentTypeFor, detectImage, detectVideo, type Detected, type ResourceType } from "./media-types.js";
import type { UploadPreset } from "./options.js";
import { bool, list, parseContext, str, type Params } from "./params.js";
import { resolvePublicId } from "./public-id.js";
import { readRequestBody } from "./request-body.js";
import { keys, type ResourceRecord } from "./resources.js";
import { uploadResponse } from "./response-shape.js";
import { decodeDataUri, fileTooLarge, stageBuffer, stageStream, type StagedFile } from "./staging.js";

export type UploadResourceType = ResourceType | "auto";

/** POST /v1_1/<cloud>/<image|video|raw|auto>/upload */
export async function handleUpload(ctx: StandInContext, req: IncomingMessage, url: URL, requested: UploadResourceType): Promise<Record<string, unknown>> {
  const limits = ctx.options.maxFileBytes;
  const maxFileBytes = requested === "auto" ? Math.max(limits.image, limits.video, limits.raw) : limits[requested];
  const body = await readRequestBody(req, url, ctx.store, ctx.bucket, { maxFileBytes, maxTextBytes: Math.ceil(maxFileBytes * 1.4) + 1024 * 1024 });
  let staged = body.file;
  try {
    const { params, signed } = authorize(ctx, body.params);
    staged ??= await stageFromParam(ctx, params, maxFileBytes);
    const result = await store(ctx, params, signed, staged, requested);
    staged = undefined; // moved into place (or dropped) by store()
    return result;
  } finally {
    if (staged) await ctx.store.delete(ctx.bucket, staged.key).catch(() => undefined);
  }
}

/** Signed (api_key + timestamp + signature) or unsigned through an unsigned upload preset. */
function authorize(ctx: StandInContext, params: Params): { params: Params; signed: boolean } {
  const presetName = str(params, "upload_preset");
  const signed = str(params, "signature") !== undefined;
  if (signed) checkSignedRequest(ctx, params);
  else if (!presetName) throw badRequest("Upload preset must be specified when using unsigned upload");
  if (!presetName) return { params, signed };
  const preset = ctx.options.uploadPresets[presetName];
  if (!preset) throw badRequest(`Upload preset not found`);
  if (!signed && !preset.unsigned) throw badRequest("Upload preset must be whitelisted for unsigned uploads");
  return { params: withPreset(params, preset, signed), signed };
}

function withPreset(params: Params, preset: UploadPreset, signed: boolean): Params {
  const merged: Params = {};
  if (preset.folder !== undefined) merged.folder = preset.folder;
  if (preset.tags !== undefined) merged.tags = typeof preset.tags === "string" ? preset.tags : [...preset.tags];
  if (preset.useFilename !== undefined) merged.use_filename = String(preset.useFilename);
  if (preset.uniqueFilename !== undefined) merged.unique_filename = String(preset.uniqueFilename);
  if (preset.eager !== undefined) merged.eager = preset.eager;
  if (preset.context !== undefined) merged.context = preset.context;
  Object.assign(merged, params);
  // unsigned uploads cannot overwrite unless the preset says so
  if (!signed) merged.overwrite = String(preset.overwrite ?? false);
  else if (preset.overwrite !== undefined && params.overwrite === undefined) merged.overwrite = String(preset.overwrite);
  return merged;
}

/** `file` given as a data URI or an http(s) URL (fetched only now, after the signature passed). */
async function stageFromParam(ctx: StandInContext, params: Params, maxBytes: number): Promise<StagedFile> {
  const file = str(params, "file");
  if (file === undefined || file === "") throw badRequest("Missing required parameter - file");
  const data = decodeDataUri(file);
  if (data) return stageBuffer(ctx.store, ctx.bucket, data, maxBytes);
  if (/^https?:\/\//i.test(file)) {
    let response: Response;
    try {
      response = await fetch(file, { redirect: "follow", signal: AbortSignal.timeout(60_000) });
    } catch (err) {
      throw badRequest(`Error in loading ${file} - ${(err as Error).message}`);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw badRequest(`Error in loading ${file} - ${response.status} ${response.statusText}`);
    }
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > maxBytes) {
      await response.body.cancel();
      throw fileTooLarge(declared, maxBytes);
    }
    const name = new URL(file).pathname.split("/").pop() || undefined;
    return stageStream(ctx.store, ctx.bucket, Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), maxBytes, name);
  }
  throw badRequest(`Invalid file parameter: expected a file upload, a data URI or an http(s) URL (got ${file.slice(0, 60)})`);
}

async function detect(ctx: StandInContext, staged: StagedFile, requested: UploadResourceType): Promise<Detected> {
  const limits = ctx.options.maxFileBytes;
  if (requested === "raw") return { resourceType: "raw" };
  let image = await detectImage(staged.head);
  if (!image && staged.bytes > staged.head.length && staged.bytes <= limits.image && requested !== "video") {
    // a header beyond the sniffed head (huge EXIF): images are small, read it whole
    const whole = await ctx.store.getBuffer(ctx.bucket, staged.key);
    if (whole) image = await detectImage(whole);
  }
  if (requested === "image") {
    if (!image) throw badRequest("Invalid image file");
    return image;
  }
  const video = image ? undefined : detectVideo(staged.head);
  if (requested === "video") {
    if (!video) throw badRequest("Invalid video file");
    return video;
  }
  return image ?? video ?? { resourceType: "raw" };
}

/** The uploaded file's name without extension; Cloudinary says "file" for data URIs. */
function originalFilename(staged: StagedFile, fileParam: string | undefined): string | undefined {
  if (staged.filename) return staged.filename.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
  return fileParam?.startsWith("data:") ? "file" : undefined;
}

function nowIso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

async function store(ctx: StandInContext, params: Params, signed: boolean, staged: StagedFile, requested: UploadResourceType): Promise<Record<string, unknown>> {
  const detected = await detect(ctx, staged, requested);
  const rt = detected.resourceType;
  const max = ctx.options.maxFileBytes[rt];
  if (staged.bytes > max) throw fileTooLarge(staged.bytes, max);
  // the free plan's resolution limit holds for originals as for derived images
  if (rt === "image" && detected.width && detected.height) checkRenderLimits([], detected.width, detected.height);
  const publicId = resolvePublicId({
    publicId: str(params, "public_id"),
    folder: str(params, "folder"),
    filename: str(params, "filename_override") ?? staged.filename,
    useFilename: bool(params, "use_filename", false),
    uniqueFilename: bool(params, "unique_filename", true),
    keepExtension: rt === "raw",
  });
  const existing = await ctx.repo.get(rt, publicId);
  const urls = ctx.urls();
  if (existing && !bool(params, "overwrite", signed)) {
    await ctx.store.delete(ctx.bucket, staged.key);
    return uploadResponse(urls, existing, { existing: true });
  }
  const now = ctx.options.now();
  const version = Math.max(Math.floor(now / 1000), existing ? existing.version + 1 : 0);
  const format = rt === "raw" ? publicId.split(".").pop()?.toLowerCase() : detected.format;
  const contentType = contentTypeFor(rt === "raw" && !publicId.includes(".") ? undefined : format);
  await ctx.store.copy(ctx.bucket, staged.key, keys.asset(rt, publicId), contentType);
  await ctx.store.delete(ctx.bucket, staged.key);
  if (existing) await ctx.store.deletePrefix(ctx.bucket, keys.derivedPrefix(rt, publicId));
  const original = originalFilename(staged, str(params, "file"));
  const context = parseContext(str(params, "context"));
  const record: ResourceRecord = {
    asset_id: randomBytes(16).toString("hex"),
    public_id: publicId,
    version,
    version_id: randomBytes(16).toString("hex"),
    ...(rt === "raw" ? {} : { format }),
    resource_type: rt,
    type: "upload",
    created_at: nowIso(now),
    bytes: staged.bytes,
    ...(detected.width !== undefined ? { width: detected.width, height: detected.height, pages: detected.pages } : {}),
    etag: staged.md5,
    tags: list(params, "tags"),
    ...(context ? { context } : {}),
    ...(original !== undefined ? { original_filename: original } : {}),
    content_type: contentType,
  };
  await ctx.repo.put(record);
  const eager = await eagerResults(ctx, record, str(params, "eager"));
  return uploadResponse(urls, record, eager.length > 0 ? { eager } : {});
}
