import { djangoShell, RESULT_MARKER, type ShellResult } from "./app-shell.js";
import { errorEvidence } from "./db-evidence.js";
import { describeProbe, matchingLines } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

/**
 * A scenario's baseline: the app's endpoints as they answer before any fault goes in. A
 * scenario tests something only through endpoints that answered 2xx/3xx here; when none did,
 * its verdict is "baseline-failed" with the answers, the reason and the fix.
 */

/** Django's lines (and DEBUG pages) about a Host that is not in ALLOWED_HOSTS. */
export const DISALLOWED_HOST = /Invalid HTTP_HOST header|DisallowedHost/;
const APP_ERRORS = [/\w+(Error|Exception): /, /ImproperlyConfigured/];

export function allowedHostsFix(publicHost: string): string {
  return (
    `add the public host to ALLOWED_HOSTS from Render's env, e.g. ` +
    `ALLOWED_HOSTS.append(os.environ["RENDER_EXTERNAL_HOSTNAME"]) when RENDER_EXTERNAL_HOSTNAME is set (here ${publicHost})`
  );
}

const LOOP_FIX =
  'set SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") in the production settings, so Django knows the request came over HTTPS at Render\'s proxy';

/** What the app's settings say about the public host (asked in its container). */
export interface HostCheck {
  readonly allowedHosts: readonly string[];
  readonly debug: boolean;
  /** Django's own validate_host() of the public host against them. */
  readonly accepted: boolean;
}

export interface BaselineFacts {
  readonly publicHost: string;
  /** Every endpoint's answer before the fault. */
  readonly probes: readonly Probe[];
  /** The app's log lines printed while they were answered. */
  readonly logLines: readonly string[];
  /** The app's ALLOWED_HOSTS against the public host, or why it could not be read; undefined when not asked. */
  readonly hostCheck?: ShellResult<HostCheck>;
}

/** 2xx, or a 3xx that points somewhere else (a redirect to itself is a loop, not an answer). */
export function isHealthy(probe: Probe, hosts: readonly string[]): boolean {
  if (probe.status >= 200 && probe.status < 300) return true;
  return probe.status >= 300 && probe.status < 400 && !redirectsToItself(probe, hosts);
}

export function redirectsToItself(probe: Probe, hosts: readonly string[]): boolean {
  const location = probe.headers.location;
  if (probe.status < 300 || probe.status >= 400 || !location) return false;
  let target: URL;
  try {
    target = new URL(location, `https://${hosts[0]}${probe.path}`);
  } catch {
    return false;
  }
  const sameHost = hosts.includes(target.host) || hosts.includes(target.hostname);
  return target.protocol === "https:" && sameHost && `${target.pathname}${target.search}` === probe.path;
}

/** The first words of an answer: an HTML page's title and heading, or its text, one line. */
export function bodyExcerpt(body: string, max = 160): string {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body)?.[1];
  const heading = /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(body)?.[1];
  const parts = [title, heading].map((part) => (part === undefined ? "" : plain(part))).filter(Boolean);
  const text = parts.length > 0 ? [...new Set(parts)].join(" — ") : plain(body);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function plain(html: string): string {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;|&apos;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

/** "GET / → 400 in 12 ms: "Bad Request (400)"". */
export function describeBaselineProbe(probe: Probe): string {
  const excerpt = probe.status === 0 ? "" : bodyExcerpt(probe.body);
  return `${describeProbe(probe)}${excerpt ? `: "${excerpt}"` : ""}`;
}

interface Reason {
  readonly why: string;
  readonly evidence: readonly string[];
  readonly fix: string;
}

/** Why no endpoint answered 2xx/3xx, most telling first: the Host, a loop, the app's error, the paths. */
function reasonOf(facts: BaselineFacts, hosts: readonly string[]): Reason {
  const { probes, publicHost, hostCheck } = facts;
  const statuses = new Set(probes.map((p) => p.status));
  const hostLines = matchingLines(facts.logLines, [DISALLOWED_HOST], 2);
  const bodyHost = probes.some((p) => DISALLOWED_HOST.test(p.body));
  if (statuses.has(400)) {
    const evidence: string[] = hostLines.map((line) => `app: ${line}`);
    if (hostCheck?.ok) {
      const { allowedHosts, debug, accepted } = hostCheck.value;
      evidence.push(`the app's settings: ALLOWED_HOSTS = ${JSON.stringify(allowedHosts)}, DEBUG = ${debug ? "True" : "False"}; Host: ${publicHost} ${accepted ? "is allowed" : "is not allowed"}`);
    } else if (hostCheck) {
      evidence.push(`the app's ALLOWED_HOSTS could not be read: ${hostCheck.error}`);
    }
    if (hostLines.length > 0 || bodyHost || (hostCheck?.ok && !hostCheck.value.accepted)) {
      if (hostLines.length === 0 && !bodyHost) evidence.push("Django rejects such a request with DisallowedHost and logs nothing about it with DEBUG=False and its default logging");
      return { why: `Django's DisallowedHost: Host: ${publicHost} is not in ALLOWED_HOSTS`, evidence, fix: allowedHostsFix(publicHost) };
    }
    return {
      why: "400 Bad Request",
      evidence,
      fix: `find what rejects the requests (Host: ${publicHost}, X-Forwarded-Proto: https, as Render's router sends them) in the app's log; until an endpoint answers 2xx/3xx no scenario can test anything`,
    };
  }
  const loop = probes.find((p) => redirectsToItself(p, hosts));
  if (loop) {
    return {
      why: `a redirect loop: GET ${loop.path} redirects to itself (${loop.headers.location})`,
      evidence: ["with SECURE_SSL_REDIRECT on and no SECURE_PROXY_SSL_HEADER, Django sees plain http from the proxy and redirects every request to https again"],
      fix: LOOP_FIX,
    };
  }
  const serverErrors = probes.filter((p) => p.status >= 500);
  if (serverErrors.length > 0) {
    const line = errorEvidence(facts.logLines, serverErrors, APP_ERRORS);
    return {
      why: line ? `the app fails: ${line}` : `the app answers ${serverErrors[0]!.status}`,
      evidence: line ? [`app: ${line}`] : ["the app logged no error line (is its logging configured to print tracebacks?)"],
      fix: "fix the error the app answers with (rerun `prodlike up` and read `prodlike logs`); until an endpoint answers 2xx/3xx no scenario can test anything",
    };
  }
  if (probes.every((p) => p.status === 0)) {
    return {
      why: `no endpoint answered (${probes[0]?.error ?? "no request"})`,
      evidence: [],
      fix: "make the app answer on $PORT (gunicorn binds 0.0.0.0:$PORT when PORT is set) and read `prodlike logs` for why it does not",
    };
  }
  return {
    why: `no endpoint the check found is public (${[...statuses].sort().join(", ")})`,
    evidence: [],
    fix: "list paths that answer 2xx/3xx without a login in prodlike.yaml check.paths (or set healthCheckPath in render.yaml)",
  };
}

/** The verdict of a scenario whose baseline failed: not run, and why. */
export function baselineVerdict(facts: BaselineFacts, hosts: readonly string[] = [facts.publicHost]): ScenarioVerdict {
  const reason = reasonOf(facts, hosts);
  const answered = [...new Set(facts.probes.map((p) => p.status || "nothing"))].join("/");
  const every = facts.probes.length > 1 ? "every endpoint" : `GET ${facts.probes[0]?.path ?? "/"}`;
  return {
    status: "baseline-failed",
    summary: `baseline failed: before any fault, ${every} answered ${answered}: ${reason.why}; nothing was tested`,
    evidence: [
      `baseline (before the fault, as Render's router sends requests: Host: ${facts.publicHost}, https):`,
      ...facts.probes.map(describeBaselineProbe),
      ...reason.evidence,
    ],
    fix: reason.fix,
  };
}

const HOST_CHECK = (host: string) => `
import json
from django.conf import settings
from django.http.request import split_domain_port, validate_host
allowed = [str(h) for h in settings.ALLOWED_HOSTS]
effective = allowed if allowed or not settings.DEBUG else [".localhost", "127.0.0.1", "[::1]"]
domain, _ = split_domain_port(${JSON.stringify(host)})
print(${JSON.stringify(RESULT_MARKER)} + json.dumps({"allowedHosts": allowed, "debug": bool(settings.DEBUG), "accepted": bool(domain) and validate_host(domain, effective)}))
`;

/** Ask the app's settings whether they allow the public host (settings only: no app registry). */
export function checkAllowedHosts(context: ScenarioContext): Promise<ShellResult<HostCheck>> {
  return djangoShell<HostCheck>(context, HOST_CHECK(context.description.app.publicHost), { lazy: true });
}

/** The hosts a same-site Location may name: the public host and the stack's own address. */
export function siteHosts(context: ScenarioContext): string[] {
  return [context.description.app.publicHost, new URL(context.stack.url).host];
}

export interface Baseline {
  /** Endpoints that answered 2xx/3xx: those the scenario may drive. */
  readonly healthy: readonly string[];
  readonly probes: readonly Probe[];
  /** When the baseline's requests started (epoch ms), for the app's log lines about them. */
  readonly since: number;
}

/** GET each endpoint once, in turn, before the scenario's fault. */
export async function takeBaseline(context: ScenarioContext, paths: readonly string[]): Promise<Baseline> {
  const since = Date.now();
  const hosts = siteHosts(context);
  const probes: Probe[] = [];
  for (const path of paths) probes.push(await context.request(path));
  return { healthy: probes.filter((p) => isHealthy(p, hosts)).map((p) => p.path), probes, since };
}

/**
 * The baseline-failed verdict for probes a scenario made: reads the app's log lines since
 * `since` and, for a 400, the app's ALLOWED_HOSTS (`hostCheck` shares one answer between callers).
 */
export async function explainBaseline(
  context: ScenarioContext,
  probes: readonly Probe[],
  since: number,
  hostCheck: () => Promise<ShellResult<HostCheck>> = () => checkAllowedHosts(context),
): Promise<ScenarioVerdict> {
  const logLines = await context.appLogsSince(since);
  const asked = probes.some((p) => p.status === 400) ? await hostCheck() : undefined;
  return baselineVerdict({ publicHost: context.description.app.publicHost, probes, logLines, hostCheck: asked }, siteHosts(context));
}

/**
 * The scenario as the runner runs it: one that drives the endpoints (`baseline: "endpoints"`)
 * first requests them; it runs on those that answered 2xx/3xx, and not at all when none did
 * (its verdict is then "baseline-failed"). Inside the scenario's run, so the runner's timeout,
 * Ctrl-C and error handling cover the baseline too.
 */
export function withBaseline(scenario: Scenario, hostCheck?: () => Promise<ShellResult<HostCheck>>): Scenario {
  if (scenario.baseline !== "endpoints") return scenario;
  return {
    ...scenario,
    async run(context) {
      const baseline = await takeBaseline(context, context.endpoints.length > 0 ? context.endpoints : ["/"]);
      if (baseline.healthy.length === 0) {
        context.logger.info({ scenario: scenario.id, statuses: baseline.probes.map((p) => p.status) }, `scenario ${scenario.id}: baseline failed, not run`);
        return explainBaseline(context, baseline.probes, baseline.since, hostCheck);
      }
      return scenario.run({ ...context, endpoints: baseline.healthy });
    },
  };
}
