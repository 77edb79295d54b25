import type { SignatureAlgorithm } from "./signature.js";
import { responseSignature } from "./signature.js";
import { folderOf } from "./public-id.js";
import type { ResourceRecord } from "./resources.js";

export interface UrlContext {
  readonly cloudName: string;
  /** Base of secure_url, e.g. https://res.cloudinary.localhost:8443 */
  readonly secureBaseUrl: string;
  /** Base of url. */
  readonly baseUrl: string;
}

/** Escape a public_id for a URL the way the SDKs do: keep [A-Za-z0-9_.\-/:], %XX the rest. */
export function escapePublicId(publicId: string): string {
  return Array.from(Buffer.from(publicId, "utf8"))
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9_.\-/:]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
}

export function deliveryPath(cloudName: string, record: Pick<ResourceRecord, "resource_type" | "public_id" | "version" | "format">, transformation = ""): string {
  const file = record.resource_type === "raw" || !record.format ? record.public_id : `${record.public_id}.${record.format}`;
  const parts = [cloudName, record.resource_type, "upload", transformation, `v${record.version}`, escapePublicId(file)].filter(Boolean);
  return `/${parts.join("/")}`;
}

export function deliveryUrls(ctx: UrlContext, record: ResourceRecord, transformation = ""): { url: string; secure_url: string } {
  const path = deliveryPath(ctx.cloudName, record, transformation);
  return { url: `${ctx.baseUrl}${path}`, secure_url: `${ctx.secureBaseUrl}${path}` };
}

function contextField(record: ResourceRecord): { context?: { custom: Record<string, string> } } {
  return record.context && Object.keys(record.context).length > 0 ? { context: { custom: record.context } } : {};
}

/** The upload / explicit / rename response, field for field as Cloudinary sends it. */
export function uploadResponse(
  ctx: UrlContext & { readonly apiKey: string; readonly apiSecret: string; readonly algorithm?: SignatureAlgorithm },
  record: ResourceRecord,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const dimensions = record.width !== undefined && record.height !== undefined ? { width: record.width, height: record.height } : {};
  return {
    asset_id: record.asset_id,
    public_id: record.public_id,
    version: record.version,
    version_id: record.version_id,
    signature: responseSignature(record.public_id, record.version, ctx.apiSecret, ctx.algorithm),
    ...dimensions,
    ...(record.resource_type === "raw" ? {} : { format: record.format }),
    resource_type: record.resource_type,
    created_at: record.created_at,
    tags: record.tags,
    ...(record.pages !== undefined ? { pages: record.pages } : {}),
    bytes: record.bytes,
    type: record.type,
    etag: record.etag,
    placeholder: false,
    ...deliveryUrls(ctx, record),
    folder: folderOf(record.public_id),
    access_mode: "public",
    ...contextField(record),
    ...(record.original_filename !== undefined ? { original_filename: record.original_filename } : {}),
    ...extra,
    api_key: ctx.apiKey,
  };
}

/** One entry of an Admin API listing; tags and context only when asked for. */
export function adminResource(ctx: UrlContext, record: ResourceRecord, include: { tags?: boolean; context?: boolean } = {}): Record<string, unknown> {
  const dimensions = record.width !== undefined && record.height !== undefined ? { width: record.width, height: record.height } : {};
  return {
    asset_id: record.asset_id,
    public_id: record.public_id,
    ...(record.resource_type === "raw" ? {} : { format: record.format }),
    version: record.version,
    resource_type: record.resource_type,
    type: record.type,
    created_at: record.created_at,
    bytes: record.bytes,
    ...dimensions,
    folder: folderOf(record.public_id),
    access_mode: "public",
    ...deliveryUrls(ctx, record),
    ...(include.tags ? { tags: record.tags } : {}),
    ...(include.context ? contextField(record) : {}),
  };
}

/** GET /resources/<rt>/upload/<public_id>: the listing entry plus details. */
export function adminResourceDetails(ctx: UrlContext, record: ResourceRecord): Record<string, unknown> {
  return {
    ...adminResource(ctx, record, { tags: true, context: true }),
    version_id: record.version_id,
    etag: record.etag,
    placeholder: false,
    ...(record.original_filename !== undefined ? { original_filename: record.original_filename } : {}),
    ...(record.pages !== undefined ? { pages: record.pages } : {}),
    derived: [],
  };
}
