import { describe, expect, it } from "vitest";
import { describeDriver, preparedStatements, preparedVerdict, preparesStatements, PREPARED_ERROR, roundsFor, type DriverInfo } from "../../../src/scenarios/prepared-statements.js";
import { errorEvidence } from "../../../src/scenarios/db-evidence.js";
import type { Probe } from "../../../src/scenarios/scenario.js";
import { description } from "./db-description.js";

const probe = (status: number, body = ""): Probe => ({ path: "/auth/health/", status, ms: 20, headers: {}, body });
const psycopg2: DriverInfo = { vendor: "postgresql", driver: "psycopg2", version: "2.9.10" };
const psycopg3Default: DriverInfo = { vendor: "postgresql", driver: "psycopg", version: "3.2.9", clientSideBinding: true, prepareThreshold: null };
const psycopg3Preparing: DriverInfo = { vendor: "postgresql", driver: "psycopg", version: "3.2.9", clientSideBinding: false, prepareThreshold: 5 };

describe("what the driver does", () => {
  it("prepares only with psycopg 3, server-side binding and a threshold", () => {
    expect(preparesStatements(psycopg2)).toBe(false);
    expect(preparesStatements(psycopg3Default)).toBe(false);
    expect(preparesStatements({ ...psycopg3Default, prepareThreshold: 5 })).toBe(false); // client-side binding never prepares
    expect(preparesStatements({ ...psycopg3Preparing, prepareThreshold: null })).toBe(false);
    expect(preparesStatements(psycopg3Preparing)).toBe(true);
    expect(preparesStatements({ ...psycopg3Preparing, prepareThreshold: 0 })).toBe(true);
  });

  it("describes it in one evidence line", () => {
    expect(describeDriver(psycopg2)).toBe("driver: psycopg2 2.9.10 (never prepares statements)");
    expect(describeDriver(psycopg3Default)).toBe("driver: psycopg 3.2.9 (client-side binding, Django's default: never prepares statements)");
    expect(describeDriver(psycopg3Preparing)).toBe("driver: psycopg 3.2.9 (server-side binding, prepare_threshold=5: prepares a query after 5 runs on a connection)");
    expect(describeDriver({ vendor: "sqlite" })).toBe("database: sqlite (not PostgreSQL through psycopg)");
  });

  it("runs enough bursts for every connection to pass the threshold, within bounds", () => {
    expect(roundsFor(psycopg3Preparing)).toBe(7);
    expect(roundsFor({ ...psycopg3Preparing, prepareThreshold: 0 })).toBe(2);
    expect(roundsFor({ ...psycopg3Preparing, prepareThreshold: 100 })).toBe(10);
    expect(roundsFor(psycopg2)).toBe(7);
    expect(roundsFor(undefined)).toBe(7);
  });
});

describe("preparedVerdict", () => {
  const base = { concurrency: "gunicorn 1 worker × 4 threads (gthread)", path: "/auth/health/" };

  it("fails on the pooler's error, quoting the failed request and the app's line", () => {
    const verdict = preparedVerdict({
      ...base,
      driver: psycopg3Preparing,
      requests: [probe(200), probe(500), probe(200)],
      errorLine: 'ProgrammingError: prepared statement "_pg3_0" does not exist',
    });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toBe("the transaction pooler broke the app's prepared statements: 1 of 3 requests to GET /auth/health/ failed");
    expect(verdict.evidence).toEqual([
      "driver: psycopg 3.2.9 (server-side binding, prepare_threshold=5: prepares a query after 5 runs on a connection)",
      "app: gunicorn 1 worker × 4 threads (gthread)",
      "3 requests to GET /auth/health/: 2 2xx-4xx, 1 5xx or no answer",
      "GET /auth/health/ → 500 in 20 ms",
      'ProgrammingError: prepared statement "_pg3_0" does not exist',
    ]);
  });

  it("fails a preparing driver even when no collision showed, and says so", () => {
    const verdict = preparedVerdict({ ...base, driver: psycopg3Preparing, requests: [probe(200)], errorLine: undefined });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toMatch(/none collided in 1 requests here/);
  });

  it("passes psycopg2 and psycopg 3 with Django's defaults, even if other errors made 500s", () => {
    expect(preparedVerdict({ ...base, driver: psycopg2, requests: [probe(200)], errorLine: undefined }).status).toBe("pass");
    const other = preparedVerdict({ ...base, driver: psycopg3Default, requests: [probe(500)], errorLine: "OperationalError: SSL connection has been closed unexpectedly" });
    expect(other.status).toBe("pass");
    expect(other.evidence[0]).toBe("driver: psycopg 3.2.9 (client-side binding, Django's default: never prepares statements)");
  });

  it("still fails on the error when the driver could not be asked", () => {
    const verdict = preparedVerdict({ ...base, driver: "exit 1: ModuleNotFoundError: No module named 'django'", requests: [probe(500)], errorLine: 'ProgrammingError: prepared statement "s0" already exists' });
    expect(verdict.status).toBe("fail");
    expect(verdict.evidence[0]).toBe("driver: unknown (exit 1: ModuleNotFoundError: No module named 'django')");
  });
});

describe("the error texts", () => {
  it("matches both of the pooler's texts in the app's log", () => {
    const lines = ["psycopg.errors.DuplicatePreparedStatement: prepared statement \"_pg3_0\" already exists", "django.db.utils.ProgrammingError: prepared statement \"_pg3_0\" already exists"];
    expect(errorEvidence(lines, [], [PREPARED_ERROR])).toBe('ProgrammingError: prepared statement "_pg3_0" already exists');
    expect(PREPARED_ERROR.test('prepared statement "s0" does not exist')).toBe(true);
    expect(PREPARED_ERROR.test("SSL connection has been closed unexpectedly")).toBe(false);
  });
});

describe("applies", () => {
  it("to transaction poolers only", () => {
    expect(preparedStatements.applies(description("supabase-transaction"))).toBe(true);
    expect(preparedStatements.applies(description("neon"))).toBe(true);
    expect(preparedStatements.applies(description("supabase-session"))).toMatch(/session mode or no pooler/);
    expect(preparedStatements.applies(description("render-postgres"))).toMatch(/prepared statements work there/);
  });
});
