import { describe, expect, it } from "vitest";
import type { EnvSource, StackDescription } from "../../../src/config/types.js";
import { cloudRegionOf, estimateDbLatency } from "../../../src/scenarios/db-latency.js";
import type { GunicornConfig } from "../../../src/scenarios/gunicorn-config.js";
import type { Probe } from "../../../src/scenarios/scenario.js";
import { workerTimeoutVerdict } from "../../../src/scenarios/worker-timeout.js";

function described(region: string, databaseUrl?: EnvSource): StackDescription {
  return { app: { region, env: databaseUrl ? { DATABASE_URL: databaseUrl } : {} } } as unknown as StackDescription;
}
const url = (value: string): EnvSource => ({ kind: "value", value, from: ".env" });

describe("estimateDbLatency", () => {
  it("reads the database's region from Supabase's and Neon's host names", () => {
    expect(cloudRegionOf("aws-0-eu-central-1.pooler.supabase.com")).toEqual({ region: "eu-central-1", area: "eu-central" });
    expect(cloudRegionOf("ep-cool-name-123456-pooler.us-east-2.aws.neon.tech")).toEqual({ region: "us-east-2", area: "us-east" });
    expect(cloudRegionOf("db.example.com")).toBeNull();
  });

  it("is a cross-Atlantic round trip for Render Oregon and Supabase Frankfurt", () => {
    const latency = estimateDbLatency(described("oregon", url("postgresql://u:p@aws-0-eu-central-1.pooler.supabase.com:6543/postgres")));
    expect(latency).toEqual({ rttMs: 150, appArea: "us-west", dbArea: "eu-central", reason: "Render oregon → database eu-central-1: US ↔ Europe" });
  });

  it("is small in the same region, larger across a continent, and assumed when unknown", () => {
    const neon = url("postgresql://u:p@ep-x-123456-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require");
    expect(estimateDbLatency(described("frankfurt", neon)).rttMs).toBe(2);
    expect(estimateDbLatency(described("ohio", url("postgresql://u:p@aws-0-us-west-1.pooler.supabase.com:6543/postgres"))).rttMs).toBe(60);
    expect(estimateDbLatency(described("singapore", url("postgresql://u:p@aws-0-eu-west-2.pooler.supabase.com:6543/postgres"))).rttMs).toBe(200);
    expect(estimateDbLatency(described("oregon", { kind: "database", property: "connectionString", from: "render.yaml" })).rttMs).toBe(2);
    const unknown = estimateDbLatency(described("oregon", url("postgresql://u:p@db.internal:5432/app")));
    expect(unknown.rttMs).toBe(100);
    expect(unknown.reason).toBe("Render oregon → database db.internal: regions not both known, assumed another region");
  });
});

const gunicorn: GunicornConfig = { pid: 7, timeout: 5, workers: 1, threads: 1, workerClass: "sync", cmdArgs: null, argv: "gunicorn config.wsgi", parseError: null };
const latency = { rttMs: 150, appArea: "us-west", dbArea: "eu-central", reason: "Render oregon → database eu-central-1: US ↔ Europe" };
const probe = (path: string, status: number, ms: number): Probe => ({ path, status, ms, headers: {}, body: "" });

describe("workerTimeoutVerdict", () => {
  it("fails on WORKER TIMEOUT with the killed request's 502 and the slowest endpoint vs the timeout", () => {
    const verdict = workerTimeoutVerdict({
      gunicorn,
      latency,
      probes: [probe("/auth/health/", 200, 1300), probe("/report/", 502, 5900)],
      timeoutLines: ["[2025-01-01 00:00:00 +0000] [7] [CRITICAL] WORKER TIMEOUT (pid:9)"],
      errorLines: [],
    });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("with production database latency, GET /report/ outlasted gunicorn's 5 s worker timeout (WORKER TIMEOUT: the worker was killed mid-request)");
    expect(verdict.evidence).toEqual([
      "gunicorn: timeout 5 s, 1 worker(s) × 1 thread(s), sync",
      "database latency added: 150 ms per round trip (Render oregon → database eu-central-1: US ↔ Europe)",
      "GET /auth/health/ → 200 in 1.3 s",
      "GET /report/ → 502 in 5.9 s",
      "slowest: GET /report/ 5.9 s = 118 % of gunicorn's 5 s timeout",
      "[2025-01-01 00:00:00 +0000] [7] [CRITICAL] WORKER TIMEOUT (pid:9)",
    ]);
  });

  it("does not blame the timeout for a 502 that came fast (a worker killed for memory)", () => {
    const verdict = workerTimeoutVerdict({ gunicorn: { ...gunicorn, timeout: 30 }, latency, probes: [probe("/alloc/", 502, 800)], timeoutLines: [], errorLines: [] });
    expect(verdict.status).toBe("pass");
  });

  it("passes when every endpoint is well within the timeout", () => {
    const verdict = workerTimeoutVerdict({ gunicorn: { ...gunicorn, timeout: 120, cmdArgs: "--timeout 120" }, latency, probes: [probe("/", 200, 450)], timeoutLines: [], errorLines: [] });
    expect(verdict.status).toBe("pass");
    expect(verdict.evidence[0]).toBe('gunicorn: timeout 120 s, 1 worker(s) × 1 thread(s), sync (GUNICORN_CMD_ARGS="--timeout 120")');
    expect(verdict.evidence).toContain("slowest: GET / 450 ms = 0 % of gunicorn's 120 s timeout");
  });
});
