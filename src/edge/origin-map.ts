import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

/**
 * The front is reached under a local origin (`https://127.0.0.1:8443`,
 * `https://shop.onrender.localhost:8443`, a remote engine's name) while the app answers as
 * its production origin (`https://shop.onrender.com`). A browser on Render sends the production
 * origin in `Origin` and `Referer` and gets it back in `Location`, cookies and CORS headers.
 * The front translates both ways, as reverse proxies do (ProxyPassReverse, proxy_redirect,
 * proxy_cookie_domain), so a browser session works as there. Anything that is not the local
 * or the production origin passes untouched: a real cross-site request is refused as in
 * production, and a mistake in the app (http seen instead of https) still shows.
 */
export interface Origins {
  /** `https://<what the client sent as Host>`. */
  readonly local: string;
  /** The front's plain-HTTP origin under the same name: where `http://<public host>` goes. */
  readonly localHttp: string | undefined;
  /** `https://<public host>`. */
  readonly production: string;
  readonly publicHost: string;
}

/** Only a syntactically plain `host[:port]` makes an origin; anything else maps nothing. */
const PLAIN_HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;

/** The origins of one request, from the Host (or `:authority`) the client sent; undefined for junk. */
export function originsOf(hostHeader: string | undefined, publicHost: string, httpPort: number | undefined): Origins | undefined {
  const match = hostHeader ? PLAIN_HOST.exec(hostHeader.trim()) : null;
  if (!match) return undefined;
  const hostname = match[1]!.toLowerCase();
  const port = match[2];
  const local = `https://${hostname}${port && port !== "443" ? `:${port}` : ""}`;
  const localHttp = httpPort === undefined ? undefined : `http://${hostname}${httpPort === 80 ? "" : `:${httpPort}`}`;
  return { local, localHttp, production: `https://${publicHost.toLowerCase()}`, publicHost: publicHost.toLowerCase() };
}

/** `Origin` and `Referer` of the local origin become the production origin, in place. */
export function mapRequestOrigins(headers: IncomingHttpHeaders, origins: Origins): void {
  const origin = headers.origin;
  if (typeof origin === "string" && origin.toLowerCase() === origins.local) headers.origin = origins.production;
  const referer = headers.referer;
  if (typeof referer === "string") {
    const rest = afterOrigin(referer, origins.local);
    if (rest !== undefined) headers.referer = origins.production + rest;
  }
}

/** `Location`, a cookie's `Domain` and `Access-Control-Allow-Origin` of production become local, in place. */
export function mapResponseOrigins(headers: IncomingHttpHeaders | OutgoingHttpHeaders, origins: Origins, requestOrigin: string | undefined): void {
  const location = headers.location;
  if (typeof location === "string") headers.location = localLocation(location, origins);
  const cookies = headers["set-cookie"];
  if (Array.isArray(cookies)) headers["set-cookie"] = cookies.map((cookie) => hostOnlyCookie(cookie, origins.publicHost));
  else if (typeof cookies === "string") headers["set-cookie"] = [hostOnlyCookie(cookies, origins.publicHost)];
  const allowed = headers["access-control-allow-origin"];
  if (typeof allowed === "string" && allowed.toLowerCase() === origins.production && requestOrigin?.toLowerCase() === origins.local) {
    headers["access-control-allow-origin"] = requestOrigin;
  }
}

/** An absolute URL on the production name points at the front; anything else is kept. */
export function localLocation(location: string, origins: Origins): string {
  const https = afterOrigin(location, origins.production) ?? afterOrigin(location, `${origins.production}:443`);
  if (https !== undefined) return origins.local + https;
  const httpOrigin = `http://${origins.publicHost}`;
  const http = afterOrigin(location, httpOrigin) ?? afterOrigin(location, `${httpOrigin}:80`);
  if (http !== undefined) return (origins.localHttp ?? origins.local) + http;
  return location;
}

/**
 * A cookie scoped to the production name (or a parent domain of it) becomes host-only, so the
 * browser keeps it for the local name. Other domains stay, and are refused as in production.
 */
export function hostOnlyCookie(cookie: string, publicHost: string): string {
  const parts = cookie.split(";");
  const kept = parts.filter((part, index) => {
    if (index === 0) return true;
    const [name, ...value] = part.split("=");
    if (name?.trim().toLowerCase() !== "domain") return true;
    const domain = value.join("=").trim().toLowerCase().replace(/^\./, "");
    return !(domain === publicHost || publicHost.endsWith(`.${domain}`));
  });
  return kept.length === parts.length ? cookie : kept.join(";");
}

/** What follows `origin` in `url` (`""`, `/path`, `?q`, `#f`), or undefined when `url` is not on it. */
function afterOrigin(url: string, origin: string): string | undefined {
  if (url.length < origin.length || url.slice(0, origin.length).toLowerCase() !== origin) return undefined;
  const rest = url.slice(origin.length);
  return rest === "" || "/?#".includes(rest[0]!) ? rest : undefined;
}
