import { describe, expect, it } from "vitest";
import { ProdlikeYamlSchema } from "../../../src/config/prodlike-yaml.js";
import { describeConcurrency, parseConcurrency } from "../../../src/scenarios/app-concurrency.js";
import { burstSize, LIMIT_ERROR, maxClientConnections, maxClientsVerdict, poolerLimit } from "../../../src/scenarios/max-client-connections.js";
import type { Probe } from "../../../src/scenarios/scenario.js";
import { description } from "./db-description.js";

const probe = (status: number): Probe => ({ path: "/health", status, ms: 310, headers: {}, body: "" });

describe("poolerLimit", () => {
  it("uses the profile's limit and flavour, or prodlike.yaml's db.maxClientConnections", () => {
    expect(poolerLimit(description("supabase-transaction"))).toEqual({
      pooler: "Supabase transaction pooler (Supavisor)",
      limit: 200,
      flavor: "supavisor_transaction",
      source: "the supabase-transaction profile's default",
    });
    expect(poolerLimit(description("supabase-session"))).toMatchObject({ limit: 15, flavor: "supavisor_session" });
    expect(poolerLimit(description("neon", 4))).toMatchObject({ limit: 4, flavor: "pgbouncer", source: "prodlike.yaml db.maxClientConnections" });
    expect(poolerLimit(description("render-postgres"))).toBeUndefined();
    expect(maxClientConnections.applies(description("render-postgres"))).toMatch(/no pooler in front of Postgres/);
  });

  it("reads the knob from prodlike.yaml, with or without a profile, and rejects nonsense", () => {
    expect(ProdlikeYamlSchema.parse({ db: { maxClientConnections: 4 } }).db).toEqual({ maxClientConnections: 4 });
    expect(ProdlikeYamlSchema.parse({ db: { profile: "neon", maxClientConnections: 9 } }).db).toEqual({ profile: "neon", maxClientConnections: 9 });
    expect(ProdlikeYamlSchema.safeParse({ db: { maxClientConnections: 0 } }).success).toBe(false);
    expect(ProdlikeYamlSchema.safeParse({ db: { maxClientConnections: 2.5 } }).success).toBe(false);
  });
});

describe("the app's concurrency", () => {
  it("reads gunicorn's workers and threads; threads only count for gthread", () => {
    const gthread = parseConcurrency({ server: "gunicorn", workers: 2, threads: 4, worker_class: "gthread", running: 2 });
    expect(gthread).toEqual({ server: "gunicorn", workers: 2, threads: 4, workerClass: "gthread", runningWorkers: 2 });
    expect(describeConcurrency(gthread)).toBe("gunicorn 2 workers × 4 threads (gthread)");
    // gunicorn switches sync workers to gthread when threads > 1
    expect(parseConcurrency({ server: "gunicorn", workers: 1, threads: 4, worker_class: "sync", running: 1 })).toMatchObject({ threads: 4, workerClass: "gthread" });
    expect(parseConcurrency({ server: "gunicorn", workers: 3, threads: 8, worker_class: "gevent", running: 3 })).toMatchObject({ threads: 1, workerClass: "gevent" });
    expect(describeConcurrency(parseConcurrency({ server: "gunicorn", workers: 1, threads: 1, worker_class: "sync", running: 1 }))).toBe("gunicorn 1 worker × 1 thread (sync)");
  });

  it("falls back to the running workers, then to one, saying why", () => {
    const partial = parseConcurrency({ server: "gunicorn", running: 3, note: "gunicorn's config could not be read: ImportError: x" });
    expect(partial).toMatchObject({ workers: 3, threads: 1 });
    const unknown = parseConcurrency({ note: "no gunicorn process in the container" });
    expect(unknown).toMatchObject({ server: "unknown", workers: 1, threads: 1 });
    expect(describeConcurrency(unknown)).toBe("app server unknown (no gunicorn process in the container): assuming 1 × 1");
  });

  it("bursts twice the app's concurrency, at least 4 and at most 64", () => {
    expect(burstSize(parseConcurrency({ server: "gunicorn", workers: 1, threads: 1 }))).toBe(4);
    expect(burstSize(parseConcurrency({ server: "gunicorn", workers: 2, threads: 4 }))).toBe(16);
    expect(burstSize(parseConcurrency({ server: "gunicorn", workers: 9, threads: 8 }))).toBe(64);
  });
});

describe("maxClientsVerdict", () => {
  const limit = poolerLimit(description("neon", 4))!;
  const concurrency = parseConcurrency({ server: "gunicorn", workers: 2, threads: 4, worker_class: "gthread", running: 2 });

  it("fails with the pooler's refusal, peak vs limit, the 5xx count and the app's line", () => {
    const line = 'OperationalError: connection to server at "ep-x-pooler.aws.neon.tech" (192.168.1.1), port 5432 failed: FATAL:  no more connections allowed (max_client_conn)';
    const verdict = maxClientsVerdict({ limit, concurrency, path: "/health", requests: [probe(200), probe(500), probe(500)], peak: 4, errorLine: line, heldBefore: 7 });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("the app opened more connections than the pooler allows (limit 4): 2 of 3 concurrent requests failed");
    expect(verdict.evidence).toEqual([
      "app: gunicorn 2 workers × 4 threads (gthread) = up to 8 database connections at once",
      "Neon's pooler (PgBouncer): limit 4 client connections (prodlike.yaml db.maxClientConnections)",
      "the app held 7 connections from earlier requests: a fresh instance (sleep and wake) started without them",
      "burst: 3 concurrent GET /health, each query held 150 ms",
      "db link: peak 4 client connections of 4 allowed",
      "2 of 3 answered 5xx or nothing",
      "GET /health → 500 in 310 ms",
      line,
    ]);
    expect(verdict.fix).toMatch(/WEB_CONCURRENCY × threads, here 2 × 4.* below the pooler's 4 clients/);
    expect(LIMIT_ERROR.test(line)).toBe(true);
    expect(LIMIT_ERROR.test("max client connections reached, limit: 200")).toBe(true);
    expect(LIMIT_ERROR.test("max clients reached in session mode - max clients are limited to pool_size: 15")).toBe(true);
  });

  it("fails when more connections were held than allowed, even without a refusal", () => {
    const verdict = maxClientsVerdict({ limit, concurrency, path: "/health", requests: [probe(200)], peak: 7, errorLine: undefined });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toMatch(/held 7 connections at once, more than the pooler's 4/);
  });

  it("fails 5xx under the burst without the limit's text, and passes a clean burst", () => {
    expect(maxClientsVerdict({ limit, concurrency, path: "/health", requests: [probe(502)], peak: 1, errorLine: undefined }).summary).toMatch(/without the pooler's limit error/);
    const pass = maxClientsVerdict({ limit, concurrency, path: "/health", requests: [probe(200), probe(200)], peak: 2, errorLine: undefined });
    expect(pass.status).toBe("pass");
    expect(pass.summary).toBe("2 concurrent requests peaked at 2 of 4 pooler connections: no client was refused");
  });
});
