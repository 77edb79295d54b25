import { describe, expect, it } from "vitest";
import type { StackDescription } from "../../../src/config/types.js";
import type { Probe } from "../../../src/scenarios/scenario.js";
import { upstashApplies, upstashVerdict } from "../../../src/scenarios/upstash-limit.js";
import { matchingLines } from "../../../src/scenarios/exercise.js";
import { REDIS_ERROR_LINES } from "../../../src/scenarios/upstash-limit.js";

const probe = (path: string, status: number, headers: Record<string, string> = {}): Probe => ({ path, status, ms: 40, headers, body: "" });
const ERROR = "redis.exceptions.ResponseError: max requests limit exceeded. Limit: 500000, Usage: 500000. See https://upstash.com/docs/redis/troubleshooting/max_requests_limit for details";

describe("upstashVerdict", () => {
  it("fails when a page answers 500, with the app's error line", () => {
    const verdict = upstashVerdict({ commandsBefore: 3, probes: [probe("/", 500), probe("/healthz", 200)], errorLines: [ERROR] });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("with Upstash's request limit reached, GET / answered 500: a cache outage takes the site down");
    expect(verdict.evidence).toContain("GET / → 500 in 40 ms");
    expect(verdict.evidence).toContain(ERROR);
  });

  it("passes when the site degrades gracefully; an app's own 503 on a readiness check is its job", () => {
    const verdict = upstashVerdict({ commandsBefore: 3, probes: [probe("/", 200), probe("/health", 503)], errorLines: [] });
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence.at(-1)).toBe("503 from /health: the app reports Redis as down there (a readiness check), the rest of the site works");
  });

  it("fails when every page answers 503, or on no answer at all", () => {
    expect(upstashVerdict({ commandsBefore: 1, probes: [probe("/", 503)], errorLines: [] }).status).toBe("fail");
    expect(upstashVerdict({ commandsBefore: 1, probes: [probe("/", 200), { ...probe("/x", 0), error: "ECONNRESET" }], errorLines: [] }).status).toBe("fail");
  });

  it("applies to Upstash only", () => {
    expect(upstashApplies({ redis: { profile: "upstash" } } as StackDescription)).toBe(true);
    expect(upstashApplies({ redis: { profile: "redis" } } as StackDescription)).toMatch(/not Upstash/);
  });

  it("picks the exception line out of a traceback", () => {
    const log = ["Internal Server Error: /cache/", "Traceback (most recent call last):", '  File "/x.py", line 1, in f', "    raise", ERROR];
    expect(matchingLines(log, REDIS_ERROR_LINES)).toEqual([ERROR]);
  });
});
