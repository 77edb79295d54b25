import type { IncomingMessage } from "node:http";
import { badRequest, CloudinaryApiError, notFound } from "./api-error.js";
import { checkSignedRequest, type StandInContext } from "./context.js";
import { eagerResults } from "./eager.js";
import type { ResourceType } from "./media-types.js";
import { bool, list, parseContext, str, type Params } from "./params.js";
import { checkPublicId } from "./public-id.js";
import { readRequestBody } from "./request-body.js";
import { keys } from "./resources.js";
import { uploadResponse } from "./response-shape.js";

async function signedParams(ctx: StandInContext, req: IncomingMessage, url: URL): Promise<Params> {
  const { params, file } = await readRequestBody(req, url, ctx.store, ctx.bucket, { maxFileBytes: 0, maxTextBytes: 1024 * 1024 });
  if (file) await ctx.store.delete(ctx.bucket, file.key);
  checkSignedRequest(ctx, params);
  const type = str(params, "type");
  if (type !== undefined && type !== "" && type !== "upload") {
    throw badRequest(`Delivery type '${type}' is not implemented by the prodlike stand-in (only 'upload')`);
  }
  return params;
}

function required(params: Params, name: string): string {
  const value = str(params, name);
  if (value === undefined || value.trim() === "") throw badRequest(`Missing required parameter - ${name}`);
  return checkPublicId(value);
}

/** POST /v1_1/<cloud>/<rt>/destroy → {"result":"ok"} or {"result":"not found"} */
export async function handleDestroy(ctx: StandInContext, req: IncomingMessage, url: URL, rt: ResourceType): Promise<Record<string, unknown>> {
  const params = await signedParams(ctx, req, url);
  const removed = await ctx.repo.remove(rt, required(params, "public_id"));
  return { result: removed ? "ok" : "not found" };
}

/** POST /v1_1/<cloud>/<rt>/rename */
export async function handleRename(ctx: StandInContext, req: IncomingMessage, url: URL, rt: ResourceType): Promise<Record<string, unknown>> {
  const params = await signedParams(ctx, req, url);
  const from = required(params, "from_public_id");
  const to = required(params, "to_public_id");
  const record = await ctx.repo.get(rt, from);
  if (!record) throw notFound(`Resource not found - ${from}`);
  if (from === to) return uploadResponse(ctx.urls(), record);
  if (await ctx.repo.get(rt, to)) {
    if (!bool(params, "overwrite", false)) throw new CloudinaryApiError(409, `Resource already exists - ${to}`);
    await ctx.repo.remove(rt, to);
  }
  await ctx.store.copy(ctx.bucket, keys.asset(rt, from), keys.asset(rt, to), record.content_type);
  const renamed = { ...record, public_id: to };
  await ctx.repo.put(renamed);
  await ctx.repo.remove(rt, from);
  return uploadResponse(ctx.urls(), renamed);
}

/** POST /v1_1/<cloud>/<rt>/explicit: update tags/context, render eager transformations. */
export async function handleExplicit(ctx: StandInContext, req: IncomingMessage, url: URL, rt: ResourceType): Promise<Record<string, unknown>> {
  const params = await signedParams(ctx, req, url);
  const publicId = required(params, "public_id");
  const record = await ctx.repo.get(rt, publicId);
  if (!record) throw notFound(`Resource not found - ${publicId}`);
  if (params.tags !== undefined) record.tags = list(params, "tags");
  const context = str(params, "context");
  if (context !== undefined) record.context = parseContext(context) ?? {};
  await ctx.repo.put(record);
  const eager = await eagerResults(ctx, record, str(params, "eager"));
  return uploadResponse(ctx.urls(), record, eager.length > 0 ? { eager } : {});
}
