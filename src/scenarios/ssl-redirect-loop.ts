import { explainBaseline, isHealthy } from "./baseline.js";
import { describeProbe } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext } from "./scenario.js";

const MAX_HOPS = 6;
/** A loop shows on the first pages; more requests add nothing. */
const PATHS_TO_TRY = 3;
const FIX = 'set SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") in the production settings, so Django knows the request came over HTTPS at Render\'s proxy';

/** One redirect followed: the request and where its Location pointed (a same-site path, or the raw URL). */
export interface Hop {
  readonly probe: Probe;
  /** The absolute https?:// URL the Location resolves to, or undefined when there is none. */
  readonly location?: string;
}

/**
 * A redirect loop in a chain of hops: a redirect whose target is a URL already requested in
 * the chain (itself, or an earlier one). URLs are compared by path and query on the app's
 * hosts, so `https://<service>.onrender.com/` and `/` are the same page.
 */
export function findRedirectLoop(hops: readonly Hop[], hosts: readonly string[]): { from: Hop; to: string } | undefined {
  const seen = new Set<string>();
  for (const hop of hops) {
    seen.add(hop.probe.path);
    if (!isRedirect(hop.probe.status) || hop.location === undefined) return undefined;
    const next = sameSitePath(hop.location, hosts);
    if (next === undefined) return undefined;
    if (seen.has(next)) return { from: hop, to: hop.location };
  }
  return undefined;
}

/** Request `path` and follow same-site redirects (up to MAX_HOPS), as a browser would. */
async function followRedirects(context: ScenarioContext, path: string, hosts: readonly string[]): Promise<Hop[]> {
  const hops: Hop[] = [];
  let current = path;
  const base = `https://${hosts[0]}`;
  for (let i = 0; i < MAX_HOPS; i++) {
    const probe = await context.request(current);
    const raw = probe.headers.location;
    const location = raw === undefined ? undefined : new URL(raw, new URL(current, base)).href;
    hops.push({ probe, location });
    if (!isRedirect(probe.status) || location === undefined) break;
    const next = sameSitePath(location, hosts);
    if (next === undefined || hops.some((h) => h.probe.path === next)) break;
    current = next;
  }
  return hops;
}

export const sslRedirectLoop: Scenario = {
  id: "ssl-redirect-loop",
  title: "HTTPS behind Render's proxy without a redirect loop",
  applies: () => true,
  async run(context) {
    const hosts = [context.description.app.publicHost, new URL(context.stack.url).host];
    const evidence: string[] = [];
    const finals: Probe[] = [];
    const started = Date.now();
    for (const path of context.endpoints.slice(0, PATHS_TO_TRY)) {
      const since = Date.now();
      const hops = await followRedirects(context, path, hosts);
      const loop = findRedirectLoop(hops, hosts);
      if (loop) {
        // As the app sent them: the front points the production origin at the local one.
        const sent = (location: string | undefined): string | undefined => asSent(location, context.stack.url, context.description.app.publicHost);
        const chain = hops.map((hop) => `${describeProbe(hop.probe)}, Location: ${sent(hop.location) ?? "(none)"}`);
        const logged = (await context.appLogsSince(since)).filter((line) => /"GET [^"]*" 30[12]\b|\b30[12]\b.*GET/.test(line)).slice(0, 2);
        return {
          status: "fail",
          summary: `GET ${path} over HTTPS answers ${loop.from.probe.status} to ${sent(loop.to)}: a browser gets "too many redirects"`,
          evidence: [
            "request sent as Render's proxy sends it: https, X-Forwarded-Proto: https",
            ...chain,
            ...logged.map((line) => `app: ${line}`),
            "why: with SECURE_SSL_REDIRECT on and no SECURE_PROXY_SSL_HEADER, Django sees plain http from the proxy and redirects every request to https again",
          ],
          fix: FIX,
        };
      }
      const last = hops.at(-1)!;
      finals.push(last.probe);
      evidence.push(
        hops.length > 1 ? `GET ${path} → ${hops.slice(0, -1).map((h) => h.probe.status).join(" → ")} → ${describeProbe(last.probe)}` : describeProbe(last.probe),
      );
    }
    // No loop, but only pages that answered 2xx/3xx show there is none (a 400 redirects nowhere).
    if (!finals.some((probe) => isHealthy(probe, hosts))) return explainBaseline(context, finals, started);
    return {
      status: "pass",
      summary: `no redirect loop over HTTPS (${context.endpoints.slice(0, PATHS_TO_TRY).join(", ")})`,
      evidence,
      fix: FIX,
    };
  },
};

/** A Location on the front's local origin, written back as the app sent it: on its public host. */
function asSent(location: string | undefined, stackUrl: string, publicHost: string): string | undefined {
  if (location === undefined) return undefined;
  const local = new URL(stackUrl).origin;
  return location === local || location.startsWith(`${local}/`) ? `https://${publicHost}${location.slice(local.length)}` : location;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** The path and query of an https URL on one of `hosts`; undefined for http:// or another site. */
function sameSitePath(url: string, hosts: readonly string[]): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "https:") return undefined;
  if (!hosts.includes(parsed.host) && !hosts.includes(parsed.hostname)) return undefined;
  return `${parsed.pathname}${parsed.search}`;
}
