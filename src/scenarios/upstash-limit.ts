import type { StackDescription } from "../config/types.js";
import { describeProbe, exercise, isServerError, matchingLines } from "./exercise.js";
import type { Probe, Scenario, ScenarioContext, ScenarioVerdict } from "./scenario.js";

export const FIX =
  "Treat the cache as optional: django-redis OPTIONS IGNORE_EXCEPTIONS=True (Django's built-in RedisCache has no such switch: " +
  "catch redis.exceptions.RedisError around cache calls), and stay under Upstash's 500K commands a month (fewer keys, longer timeouts, or a paid plan).";

const TOXIC_NAME = "prodlike_check_upstash_limit";
const LIMIT = 500_000;
/** The app's lines about the refused commands: redis-py's exception and whatever the app logged. */
export const REDIS_ERROR_LINES = [/max (daily )?requests? limit exceeded/i, /redis\.exceptions\.\w+/, /Redis(Error|ConnectionError)|ResponseError/];

/** Commands the app sent through the redis link so far; null when the stack has no such link. */
export async function redisCommands(context: ScenarioContext): Promise<number | null> {
  const links = context.stack.links;
  if (!links.has("redis")) return null;
  const { requests } = await links.redis.info();
  return typeof requests === "number" ? requests : null;
}

export function upstashApplies(description: StackDescription): true | string {
  return description.redis.profile === "upstash" ? true : 'the stack\'s Redis is plain Redis (redis.profile "redis"), not Upstash';
}

/** An answer that means the site is down for that page: Django's 500, a proxy's 502/504, nothing. */
function isOutage(probe: Probe): boolean {
  return probe.status === 0 || (isServerError(probe) && probe.status !== 503) || probe.headers["x-render-routing"] !== undefined;
}

export interface UpstashFacts {
  readonly commandsBefore: number;
  readonly probes: readonly Probe[];
  readonly errorLines: readonly string[];
}

export function upstashVerdict(facts: UpstashFacts): ScenarioVerdict {
  const { probes } = facts;
  const evidence = [
    `Redis commands while exercising ${probes.length} endpoint(s) before the limit: ${facts.commandsBefore}`,
    `every command refused with "ERR max requests limit exceeded. Limit: ${LIMIT}, Usage: ${LIMIT}. …"`,
    ...probes.map(describeProbe),
    ...facts.errorLines,
  ];
  // A 503 from the app itself is a readiness endpoint saying Redis is down: that is its job.
  const outages = probes.filter(isOutage);
  const all503 = probes.length > 0 && probes.every((p) => p.status === 503);
  if (outages.length > 0 || all503) {
    const first = outages[0] ?? probes[0]!;
    return {
      status: "fail",
      summary: `with Upstash's request limit reached, GET ${first.path} answered ${first.status || "nothing"}: a cache outage takes the site down`,
      evidence,
      fix: FIX,
    };
  }
  const reported = probes.filter((p) => p.status === 503).map((p) => p.path);
  if (reported.length > 0) evidence.push(`503 from ${reported.join(", ")}: the app reports Redis as down there (a readiness check), the rest of the site works`);
  return {
    status: "pass",
    summary: "with Upstash's request limit reached, the app kept answering without its cache",
    evidence,
    fix: FIX,
  };
}

export const upstashLimit: Scenario = {
  id: "upstash-limit",
  title: "the Upstash request limit",
  applies: upstashApplies,
  baseline: "endpoints",
  async run(context: ScenarioContext): Promise<ScenarioVerdict> {
    const start = await redisCommands(context);
    if (start === null) return { status: "skip", summary: "the stack has no Redis link", evidence: [], fix: FIX };
    const warm = await exercise(context);
    const commandsBefore = ((await redisCommands(context)) ?? start) - start;
    if (commandsBefore === 0) {
      return {
        status: "skip",
        summary: "the app sent no Redis command while answering its endpoints: the request limit cannot hurt them",
        evidence: warm.map(describeProbe),
        fix: FIX,
      };
    }
    const since = Date.now();
    const links = context.stack.links;
    await links.addToxic("redis", { type: "request_limit", name: TOXIC_NAME, attributes: { limit: LIMIT, usage: LIMIT } });
    let probes: Probe[];
    try {
      probes = await exercise(context);
    } finally {
      await links.removeToxic("redis", TOXIC_NAME).catch(() => {});
    }
    return upstashVerdict({ commandsBefore, probes, errorLines: matchingLines(await context.appLogsSince(since), REDIS_ERROR_LINES, 2) });
  },
};
