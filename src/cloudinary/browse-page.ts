import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest } from "./api-error.js";
import type { StandInContext } from "./context.js";
import type { ResourceType } from "./media-types.js";
import { checkPublicId } from "./public-id.js";
import type { ResourceRecord } from "./resources.js";
import { deliveryPath } from "./response-shape.js";

/** The thumbnail transformation of the browse page (Cloudinary's media library uses a square fill too). */
export const THUMBNAIL_TRANSFORMATION = "c_fill,w_120,h_120";
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;
const TYPES: readonly ResourceType[] = ["image", "video", "raw"];
/** Formats the delivery path can render a thumbnail in; anything else gets a PNG thumbnail. */
const THUMBNAIL_FORMATS: ReadonlySet<string> = new Set(["jpg", "jpeg", "png", "webp", "avif", "gif", "tiff", "tif"]);

export interface BrowseQuery {
  readonly resourceType: ResourceType;
  readonly prefix: string;
  readonly limit: number;
  /** The last public_id of the previous page. */
  readonly after?: string;
}

export interface BrowseModel {
  readonly cloudName: string;
  readonly query: BrowseQuery;
  readonly records: readonly ResourceRecord[];
  /** Cursor of the next page, when there is one. */
  readonly nextCursor?: string;
}

/** Text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function encodeCursor(publicId: string): string {
  return Buffer.from(publicId, "utf8").toString("base64url");
}

export function parseBrowseQuery(url: URL): BrowseQuery {
  const type = url.searchParams.get("type") ?? "image";
  if (!(TYPES as readonly string[]).includes(type)) throw badRequest(`Invalid resource type ${type}: use image, video or raw`);
  const limitText = url.searchParams.get("max_results");
  const limit = limitText === null ? DEFAULT_PAGE_SIZE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw badRequest(`Invalid max_results - ${limitText}. Must be between 1 and ${MAX_PAGE_SIZE}`);
  const cursor = url.searchParams.get("next_cursor");
  let after: string | undefined;
  if (cursor) {
    try {
      after = checkPublicId(Buffer.from(cursor, "base64url").toString("utf8"));
    } catch {
      throw badRequest(`Invalid next_cursor - ${cursor}`);
    }
  }
  return { resourceType: type as ResourceType, prefix: url.searchParams.get("prefix") ?? "", limit, ...(after !== undefined ? { after } : {}) };
}

function pageHref(query: BrowseQuery, cursor?: string): string {
  const params = new URLSearchParams({ type: query.resourceType });
  if (query.prefix) params.set("prefix", query.prefix);
  if (query.limit !== DEFAULT_PAGE_SIZE) params.set("max_results", String(query.limit));
  if (cursor) params.set("next_cursor", cursor);
  return `/?${params}`;
}

function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A relative URL, so the page works under whatever host and scheme the browser used. */
function thumbnailPath(cloudName: string, record: ResourceRecord): string | undefined {
  if (record.resource_type !== "image") return undefined;
  const format = record.format && THUMBNAIL_FORMATS.has(record.format) ? record.format : "png";
  return deliveryPath(cloudName, { ...record, format }, THUMBNAIL_TRANSFORMATION);
}

function row(cloudName: string, record: ResourceRecord): string {
  const thumb = thumbnailPath(cloudName, record);
  const original = deliveryPath(cloudName, record);
  const dimensions = record.width !== undefined && record.height !== undefined ? `${record.width}×${record.height}` : "";
  const cells = [
    thumb
      ? `<a href="${escapeHtml(original)}"><img class="thumb" src="${escapeHtml(thumb)}" width="120" height="120" alt="${escapeHtml(record.public_id)}" loading="lazy"></a>`
      : `<span class="nothumb">${escapeHtml(record.resource_type)}</span>`,
    `<a class="public-id" href="${escapeHtml(original)}">${escapeHtml(record.public_id)}</a>`,
    escapeHtml(record.format ?? ""),
    escapeHtml(dimensions),
    `<span title="${record.bytes} bytes">${escapeHtml(humanBytes(record.bytes))}</span>`,
    `<time datetime="${escapeHtml(record.created_at)}">${escapeHtml(record.created_at)}</time>`,
    record.tags.map((tag) => `<span class="tag">${escapeHtml(tag)}</span>`).join(" "),
  ];
  return `<tr data-public-id="${escapeHtml(record.public_id)}">${cells.map((cell) => `<td>${cell}</td>`).join("")}</tr>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}
nav a{margin-right:1rem}nav a.current{font-weight:bold;text-decoration:none;color:#222}
table{border-collapse:collapse;margin-top:1rem}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}
img.thumb{display:block;width:120px;height:120px;background:#eee}.nothumb{display:inline-block;width:120px;text-align:center;color:#888}
.tag{background:#eef;border-radius:3px;padding:0 .3rem}.empty{color:#888}.paging a{margin-right:1rem}td{white-space:nowrap}td:last-child{white-space:normal}`;

export function renderBrowsePage(model: BrowseModel): string {
  const { cloudName, query, records, nextCursor } = model;
  const tabs = TYPES.map((type) => {
    const href = pageHref({ ...query, resourceType: type, prefix: "" });
    return `<a href="${escapeHtml(href)}"${type === query.resourceType ? ' class="current"' : ""}>${type}</a>`;
  }).join("");
  const body =
    records.length === 0
      ? `<p class="empty">No ${escapeHtml(query.resourceType)} assets${query.prefix ? ` with prefix “${escapeHtml(query.prefix)}”` : ""}${query.after !== undefined ? " after this point" : ""}.</p>`
      : `<table><thead><tr><th>thumbnail</th><th>public_id</th><th>format</th><th>size (px)</th><th>bytes</th><th>created_at</th><th>tags</th></tr></thead><tbody>${records.map((record) => row(cloudName, record)).join("")}</tbody></table>`;
  const paging = [
    query.after !== undefined ? `<a rel="first" href="${escapeHtml(pageHref(query))}">First page</a>` : "",
    nextCursor ? `<a rel="next" href="${escapeHtml(pageHref(query, nextCursor))}">Next page</a>` : "",
  ].join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(cloudName)} · Cloudinary stand-in</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body><h1>Cloud <code>${escapeHtml(cloudName)}</code></h1>
<p>Assets stored by prodlike's Cloudinary stand-in (bytes in MinIO).</p>
<nav>${tabs}</nav>
<form method="get" action="/"><input type="hidden" name="type" value="${escapeHtml(query.resourceType)}"><label>prefix <input name="prefix" value="${escapeHtml(query.prefix)}"></label> <button>Filter</button></form>
${body}
<p class="paging">${paging}</p>
</body></html>`;
}

/** GET/HEAD / — the browse page. No script runs on it; the CSP says so, as a second guard. */
export async function handleBrowse(ctx: StandInContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const query = parseBrowseQuery(url);
  const page = await ctx.repo.list(query.resourceType, query.prefix, query.limit, query.after);
  const nextCursor = page.more && page.last !== undefined ? encodeCursor(page.last) : undefined;
  const html = renderBrowsePage({ cloudName: ctx.options.cloudName, query, records: page.records, ...(nextCursor ? { nextCursor } : {}) });
  res.writeHead(200, {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(html)),
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
  });
  res.end(req.method === "HEAD" ? undefined : html);
}
