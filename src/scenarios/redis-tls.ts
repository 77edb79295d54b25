import { djangoShell, RESULT_MARKER } from "./app-shell.js";
import { describeProbe, exercise, isServerError, matchingLines } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";
import { redisCommands, upstashApplies } from "./upstash-limit.js";

export const FIX =
  "Use the rediss:// URL exactly as Upstash gives it (REDIS_URL, TLS on), never rewritten to redis://; where the client " +
  'needs it, pass ssl_cert_reqs (django-redis CONNECTION_POOL_KWARGS, Celery broker_use_ssl) instead of turning TLS off.';

/** Where the app points its Redis clients, as its settings say (passwords never leave the container). */
export interface RedisUse {
  readonly envScheme: string | null;
  readonly envHost: string | null;
  readonly clients: readonly { readonly setting: string; readonly scheme: string | null; readonly host: string | null }[];
}

const READ_REDIS_USE = `
import json, os
from urllib.parse import urlsplit
from django.conf import settings
def parts(url):
    try:
        u = urlsplit(str(url))
        return (u.scheme or None, u.hostname)
    except Exception:
        return (None, None)
clients = []
for alias, conf in getattr(settings, "CACHES", {}).items():
    if "redis" not in str(conf.get("BACKEND", "")).lower():
        continue
    loc = conf.get("LOCATION", "")
    for one in (loc if isinstance(loc, (list, tuple)) else [loc]):
        s, h = parts(one)
        clients.append({"setting": "CACHES[%r] (%s)" % (alias, conf.get("BACKEND")), "scheme": s, "host": h})
for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "BROKER_URL"):
    value = getattr(settings, name, None)
    if isinstance(value, str) and value.startswith(("redis", "rediss")):
        s, h = parts(value)
        clients.append({"setting": name, "scheme": s, "host": h})
s, h = parts(os.environ.get("REDIS_URL", ""))
print(${JSON.stringify(RESULT_MARKER)} + json.dumps({"envScheme": s, "envHost": h, "clients": clients}))
`;

/** Lines about the Redis connection failing: a reset (plain text to a TLS port), a close, TLS trouble. */
const CONNECTION_ERRORS = [
  /redis.*(ECONNRESET|Connection reset by peer|Connection closed by server|SSL|CERTIFICATE_VERIFY_FAILED|Error \d+ (while|connecting))/i,
  /redis\.exceptions\.(ConnectionError|TimeoutError)/,
];

export interface RedisTlsFacts {
  readonly use: RedisUse;
  readonly probes: readonly Probe[];
  readonly commands: number | null;
  readonly errorLines: readonly string[];
}

export function redisTlsVerdict(facts: RedisTlsFacts): ScenarioVerdict | undefined {
  const { use, probes } = facts;
  if (use.clients.length === 0 && (!use.envScheme || facts.commands === 0)) return undefined;
  const evidence = [`REDIS_URL in the app container: ${use.envScheme ? `${use.envScheme}://${use.envHost ?? ""}` : "(not set)"} (Upstash accepts TLS only)`];
  for (const client of use.clients) evidence.push(`${client.setting}: ${client.scheme ?? "?"}://${client.host ?? ""}`);
  const plain = use.clients.filter((c) => c.scheme !== "rediss");
  evidence.push(...probes.filter(isServerError).map(describeProbe));
  if (facts.commands !== null) evidence.push(`Redis commands that reached Redis through the TLS link: ${facts.commands}`);
  evidence.push(...facts.errorLines);
  if (plain.length > 0 || facts.errorLines.length > 0) {
    const first = plain[0];
    return {
      status: "fail",
      summary: first
        ? `${first.setting} connects with ${first.scheme ?? "no"}:// to a TLS-only Redis: every connection is reset`
        : "the app's Redis connections failed over TLS",
      evidence,
      fix: FIX,
    };
  }
  return {
    status: "pass",
    summary: `the app talks to Redis over TLS (rediss://) without connection errors`,
    evidence,
    fix: FIX,
  };
}

export const redisTls: Scenario = {
  id: "redis-tls",
  title: "Redis over TLS",
  applies: upstashApplies,
  baseline: "endpoints",
  async run(context: ScenarioContext): Promise<ScenarioVerdict> {
    const read = await djangoShell<RedisUse>(context, READ_REDIS_USE);
    if (!read.ok) {
      return { status: "fail", summary: "could not read the app's Redis settings in its container", evidence: [read.error], fix: FIX };
    }
    const since = Date.now();
    const start = await redisCommands(context);
    const probes = await exercise(context);
    const end = await redisCommands(context);
    const verdict = redisTlsVerdict({
      use: read.value,
      probes,
      commands: start === null || end === null ? null : end - start,
      errorLines: matchingLines(await context.appLogsSince(since), CONNECTION_ERRORS, 3),
    });
    return verdict ?? { status: "skip", summary: "the app does not use Redis (no REDIS_URL, no Redis cache or broker in its settings)", evidence: [], fix: FIX };
  },
};
