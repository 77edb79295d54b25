import type { IncomingMessage } from "node:http";
import { badRequest, CloudinaryApiError, notFound, unauthorized } from "./api-error.js";
import type { StandInContext } from "./context.js";
import type { ResourceType } from "./media-types.js";
import { bool, int, list, str, type Params } from "./params.js";
import { checkPublicId } from "./public-id.js";
import { readRequestBody } from "./request-body.js";
import type { ResourceRecord } from "./resources.js";
import { adminResource, adminResourceDetails } from "./response-shape.js";

const RESOURCE_TYPES: ReadonlySet<string> = new Set(["image", "video", "raw"]);

/** Basic auth with key:secret, as the Admin API takes it. */
export function checkBasicAuth(ctx: StandInContext, req: IncomingMessage): void {
  const header = req.headers.authorization ?? "";
  const match = /^Basic\s+(.+)$/i.exec(header);
  if (!match) throw unauthorized("Must supply api_key");
  const decoded = Buffer.from(match[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const key = colon < 0 ? decoded : decoded.slice(0, colon);
  const secret = colon < 0 ? "" : decoded.slice(colon + 1);
  if (!key) throw unauthorized("Must supply api_key");
  if (key !== ctx.options.apiKey) throw unauthorized(`Unknown API key ${key}`);
  if (secret !== ctx.options.apiSecret) throw unauthorized("Invalid api_secret");
}

function cursorOf(publicId: string): string {
  return Buffer.from(publicId, "utf8").toString("base64url");
}

function fromCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  try {
    return checkPublicId(id);
  } catch {
    throw badRequest(`Invalid next_cursor - ${cursor}`);
  }
}

function maxResults(params: Params): number {
  const value = int(params, "max_results") ?? 10;
  if (!Number.isInteger(value) || value < 1 || value > 500) throw badRequest(`Invalid max_results - ${str(params, "max_results")}. Must be between 1 and 500`);
  return value;
}

function resourceType(value: string | undefined): ResourceType {
  if (!value || !RESOURCE_TYPES.has(value)) throw badRequest(`Invalid resource type ${value ?? ""}`);
  return value as ResourceType;
}

/**
 * /v1_1/<cloud>/ping and /v1_1/<cloud>/resources/... (segments after the cloud name, decoded
 * per segment). Returns the JSON body.
 */
export async function handleAdmin(ctx: StandInContext, req: IncomingMessage, url: URL, segments: readonly string[]): Promise<Record<string, unknown>> {
  const method = req.method ?? "GET";
  const { params, file } = await readRequestBody(req, url, ctx.store, ctx.bucket, { maxFileBytes: 0, maxTextBytes: 1024 * 1024 });
  if (file) await ctx.store.delete(ctx.bucket, file.key);
  const [head, rtText, type, ...rest] = segments;
  if (head === "ping" && segments.length === 1 && method === "GET") return { status: "ok" };
  if (head !== "resources") throw notFound(`Unsupported Admin API path /${segments.join("/")} (the prodlike stand-in implements ping and resources)`);
  if (rtText === undefined) {
    if (method === "GET") return { resource_types: ["image", "raw", "video"] };
    throw methodNotAllowed(method);
  }
  const rt = resourceType(rtText);
  if (type === "tags") {
    const tag = rest.join("/");
    if (!tag) throw badRequest("Missing required parameter - tag");
    if (method === "GET") return listByTag(ctx, rt, tag, params);
    if (method === "DELETE") return deleteMany(ctx, rt, await collect(ctx, rt, "", (record) => record.tags.includes(tag)));
    throw methodNotAllowed(method);
  }
  if (type !== undefined && type !== "upload") throw badRequest(`Delivery type '${type}' is not implemented by the prodlike stand-in (only 'upload')`);
  if (rest.length > 0) {
    const publicId = checkPublicId(rest.join("/"));
    const record = await ctx.repo.get(rt, publicId);
    if (!record) throw notFound(`Resource not found - ${publicId}`);
    if (method === "GET") return adminResourceDetails(ctx.urls(), record);
    if (method === "DELETE") return deleteMany(ctx, rt, [publicId]);
    throw methodNotAllowed(method);
  }
  if (method === "GET") return listResources(ctx, rt, params);
  if (method === "DELETE") {
    const ids = list(params, "public_ids").map(checkPublicId);
    if (ids.length > 0) return deleteMany(ctx, rt, ids);
    const prefix = str(params, "prefix");
    if (prefix) return deleteMany(ctx, rt, await collect(ctx, rt, prefix, () => true));
    if (bool(params, "all", false)) return deleteMany(ctx, rt, await collect(ctx, rt, "", () => true));
    throw badRequest("Must specify public_ids, prefix or all");
  }
  throw methodNotAllowed(method);
}

function methodNotAllowed(method: string): CloudinaryApiError {
  return new CloudinaryApiError(404, `Unsupported method ${method} for this Admin API path`);
}

async function listResources(ctx: StandInContext, rt: ResourceType, params: Params): Promise<Record<string, unknown>> {
  const prefix = str(params, "prefix") ?? "";
  const page = await ctx.repo.list(rt, prefix, maxResults(params), fromCursor(str(params, "next_cursor")));
  const include = { tags: bool(params, "tags", false), context: bool(params, "context", false) };
  const urls = ctx.urls();
  return {
    resources: page.records.map((record) => adminResource(urls, record, include)),
    ...(page.more && page.last !== undefined ? { next_cursor: cursorOf(page.last) } : {}),
  };
}

async function listByTag(ctx: StandInContext, rt: ResourceType, tag: string, params: Params): Promise<Record<string, unknown>> {
  const limit = maxResults(params);
  const after = fromCursor(str(params, "next_cursor"));
  const matches: ResourceRecord[] = [];
  for await (const record of ctx.repo.all(rt)) {
    if (after !== undefined && record.public_id <= after) continue;
    if (record.tags.includes(tag)) matches.push(record);
    if (matches.length > limit) break;
  }
  const more = matches.length > limit;
  const records = matches.slice(0, limit);
  const urls = ctx.urls();
  const include = { tags: bool(params, "tags", false), context: bool(params, "context", false) };
  return {
    resources: records.map((record) => adminResource(urls, record, include)),
    ...(more ? { next_cursor: cursorOf((records.at(-1) as ResourceRecord).public_id) } : {}),
  };
}

async function collect(ctx: StandInContext, rt: ResourceType, prefix: string, keep: (record: ResourceRecord) => boolean): Promise<string[]> {
  const ids: string[] = [];
  for await (const record of ctx.repo.all(rt, prefix)) if (keep(record)) ids.push(record.public_id);
  return ids;
}

async function deleteMany(ctx: StandInContext, rt: ResourceType, ids: readonly string[]): Promise<Record<string, unknown>> {
  const deleted: Record<string, string> = {};
  const counts: Record<string, { original: number; derived: number }> = {};
  for (const id of ids) {
    const removed = await ctx.repo.remove(rt, id);
    deleted[id] = removed ? "deleted" : "not_found";
    counts[id] = { original: removed ? 1 : 0, derived: 0 };
  }
  return { deleted, deleted_counts: counts, partial: false };
}
