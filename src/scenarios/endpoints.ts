import type { StackDescription } from "../config/types.js";
import type { Probe } from "./scenario.js";

/** A crawl stays small: a check exercises a handful of pages, it does not spider the site. */
export const MAX_CRAWLED = 20;

/** What `prodlike check` exercises: pages (endpoints) and the static assets the pages load. */
export interface DiscoveredEndpoints {
  /** Same-site paths, "/" first, then the health path, prodlike.yaml `check.paths`, the front page's links. */
  readonly paths: readonly string[];
  /** Same-site asset paths the front page loads (CSS, JS, images under the static URL). */
  readonly assets: readonly string[];
}

/** Links of one page, split into pages to visit and assets the page loads. */
export interface PageLinks {
  readonly pages: string[];
  readonly assets: string[];
}

const TAG = /<(a|link|script|img|source)\b([^>]*)>/gi;
const ATTRIBUTE = /([a-zA-Z][\w:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g;
const ASSET_EXTENSION = /\.(css|js|mjs|map|png|jpe?g|gif|svg|webp|avif|ico|woff2?|ttf|otf|eot)$/i;
const ASSET_PREFIXES = ["/static/", "/media/"];

/**
 * The same-site links of an HTML page, as paths ("/notes/?page=2"). Same site means relative,
 * or absolute with the page's own host or one of `sameHosts` (the production host name).
 * External links, fragments, mailto:, javascript: and data: URLs are dropped: a check never
 * requests anything outside the stack.
 */
export function extractLinks(html: string, pageUrl: string, sameHosts: readonly string[] = []): PageLinks {
  const base = new URL(pageUrl);
  const hosts = new Set([base.host.toLowerCase(), ...sameHosts.map((h) => h.toLowerCase())]);
  const pages = new Set<string>();
  const assets = new Set<string>();
  for (const tag of html.matchAll(TAG)) {
    const name = tag[1]!.toLowerCase();
    const attributes = parseAttributes(tag[2] ?? "");
    const raw = attributes.get(name === "a" || name === "link" ? "href" : "src");
    if (raw === undefined) continue;
    const path = sameSitePath(decodeEntities(raw.trim()), base, hosts);
    if (path === undefined) continue;
    const loaded = name !== "a" && !(name === "link" && !isLoadedLink(attributes.get("rel")));
    if (loaded || isAssetPath(path)) assets.add(path);
    else pages.add(path);
  }
  return { pages: [...pages], assets: [...assets] };
}

/** Whether a path is a static or media file rather than a page. */
export function isAssetPath(path: string): boolean {
  const pathname = path.split(/[?#]/, 1)[0]!;
  return ASSET_PREFIXES.some((prefix) => pathname.startsWith(prefix)) || ASSET_EXTENSION.test(pathname);
}

/**
 * The app's endpoints: "/", the health path, prodlike.yaml `check.paths`, and the same-site
 * links of the front page (following one same-site redirect, e.g. to a login page).
 */
export async function discoverEndpoints(
  request: (path: string) => Promise<Probe>,
  description: StackDescription,
  baseUrl: string,
): Promise<DiscoveredEndpoints> {
  const paths = new Set<string>(["/"]);
  if (description.app.healthCheckPath) paths.add(description.app.healthCheckPath);
  for (const path of description.check.paths) paths.add(path);
  const assets = new Set<string>();
  const hosts = [description.app.publicHost];

  let front = await request("/");
  const location = front.headers.location;
  if (front.status >= 300 && front.status < 400 && location) {
    const next = sameSitePath(location, new URL("/", baseUrl), new Set([new URL(baseUrl).host, ...hosts]));
    if (next !== undefined && next !== "/") {
      paths.add(next);
      front = await request(next);
    }
  }
  if (front.status === 200 && /html/i.test(front.headers["content-type"] ?? "")) {
    const links = extractLinks(front.body, new URL(front.path, baseUrl).href, hosts);
    let crawled = 0;
    for (const page of links.pages) {
      if (crawled >= MAX_CRAWLED) break;
      if (!paths.has(page)) crawled++;
      paths.add(page);
    }
    for (const asset of links.assets.slice(0, MAX_CRAWLED)) assets.add(asset);
  }
  return { paths: [...paths], assets: [...assets] };
}

function parseAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of text.matchAll(ATTRIBUTE)) {
    const key = match[1]!.toLowerCase();
    if (!attributes.has(key)) attributes.set(key, match[2] ?? match[3] ?? match[4] ?? "");
  }
  return attributes;
}

/** `<link rel="stylesheet|icon|preload|modulepreload|manifest">` loads a file; `rel="canonical|next"` points at a page. */
function isLoadedLink(rel: string | undefined): boolean {
  if (rel === undefined) return false;
  return rel
    .toLowerCase()
    .split(/\s+/)
    .some((r) => ["stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload", "manifest", "prefetch"].includes(r));
}

function sameSitePath(href: string, base: URL, hosts: ReadonlySet<string>): string | undefined {
  if (href === "" || href.startsWith("#")) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) && !/^https?:/i.test(href)) return undefined; // mailto:, javascript:, data:
  let url: URL;
  try {
    url = new URL(href, base);
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(url.protocol)) return undefined;
  if (!hosts.has(url.host.toLowerCase()) && !hosts.has(url.hostname.toLowerCase())) return undefined;
  return `${url.pathname}${url.search}`;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;|&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">");
}
