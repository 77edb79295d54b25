import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** Render's request id: 16 random hex digits grouped 8-4-4, e.g. `3f9a0c12-7be4-4d01`. */
export function newRndrId(): string {
  const hex = randomBytes(8).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}`;
}

export const RNDR_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}$/;

/** Wall-clock time in epoch microseconds (16 digits), as `x-request-start` carries it. */
export function epochMicros(epochMs: number = performance.timeOrigin + performance.now()): string {
  return Math.floor(epochMs * 1000).toString();
}

/** `::ffff:127.0.0.1` → `127.0.0.1`: Cloudflare and Render report plain IPv4. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return "127.0.0.1";
  return remoteAddress.startsWith("::ffff:") ? remoteAddress.slice(7) : remoteAddress;
}

export interface ForwardingInput {
  readonly headers: IncomingHttpHeaders;
  readonly client: string;
  readonly publicHost: string;
  readonly rndrId: string;
  /** Epoch milliseconds at which the request reached the edge. */
  readonly arrivedAtMs: number;
}

/**
 * The headers Render's router sets on the request the app sees. The client cannot spoof
 * them: every one is overwritten, except `x-forwarded-for`, to which the client is appended.
 */
export function forwardingHeaders(input: ForwardingInput): Record<string, string> {
  const previous = input.headers["x-forwarded-for"];
  const chain = Array.isArray(previous) ? previous.join(", ") : previous;
  return {
    host: input.publicHost,
    "x-forwarded-proto": "https",
    "x-forwarded-for": chain ? `${chain}, ${input.client}` : input.client,
    "x-request-start": epochMicros(input.arrivedAtMs),
    "rndr-id": input.rndrId,
    "render-proxy-ttl": "4",
    "true-client-ip": input.client,
    "cf-connecting-ip": input.client,
    "cf-visitor": '{"scheme":"https"}',
  };
}

/** Apply `forwardingHeaders` to an incoming request's header object in place. */
export function applyForwardingHeaders(target: IncomingHttpHeaders, input: ForwardingInput): void {
  Object.assign(target, forwardingHeaders(input));
}

/** Headers Render adds to the app's response. */
export function responseHeaders(rndrId: string, originServer: string | undefined): Record<string, string> {
  const added: Record<string, string> = { "rndr-id": rndrId };
  if (originServer) added["x-render-origin-server"] = originServer;
  return added;
}

/** Where the plain-HTTP listener redirects: same host name and path, the HTTPS port. */
export function httpsRedirectLocation(hostHeader: string | undefined, url: string | undefined, httpsPort: number): string {
  const hostname = hostnameOf(hostHeader) ?? "127.0.0.1";
  const port = httpsPort === 443 ? "" : `:${httpsPort}`;
  const path = url && url.startsWith("/") ? url : "/";
  return `https://${hostname}${port}${path}`;
}

function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  // Only a syntactically plain host is echoed back: a Location must not carry header junk.
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d+)?$/.exec(hostHeader.trim());
  return match?.[1];
}
