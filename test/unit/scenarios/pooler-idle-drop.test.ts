import { describe, expect, it } from "vitest";
import { parseToxic } from "../../../src/links/parse-toxic.js";
import { appErrorLine, bodyErrorLine, databaseEndpoints, linkActivity, shortenException, touchedDatabase } from "../../../src/scenarios/db-evidence.js";
import { idleSpan, idleStyleOf, idleVerdict, POOLER_IDLE_DROP_FIX, poolerIdleDrop, profileIdleStyle, type IdleStyle } from "../../../src/scenarios/pooler-idle-drop.js";
import type { Probe } from "../../../src/scenarios/scenario.js";
import { description } from "./db-description.js";

const probe = (path: string, status: number, body = ""): Probe => ({ path, status, ms: 12, headers: {}, body });

const supabase: IdleStyle = idleStyleOf([parseToxic({ type: "idle_drop", name: "supavisor_idle", attributes: { timeout: "10m", mode: "silent" } }, "postgres")])!;

describe("idleStyleOf", () => {
  it("reads Supavisor's silent close, PgBouncer's FATAL and Neon's suspend from the link's toxics", () => {
    expect(supabase).toMatchObject({ name: "Supabase (Supavisor)", afterMs: 600_000, how: "silent close with TLS close_notify, no ErrorResponse" });
    const fatal = idleStyleOf([parseToxic({ type: "idle_drop", attributes: { timeout: 60_000, mode: "fatal" } }, "postgres")]);
    expect(fatal).toMatchObject({ name: "PgBouncer", afterMs: 60_000, how: "FATAL 08P01 client_idle_timeout" });
    const neon = idleStyleOf([parseToxic({ type: "neon_suspend", attributes: { after: "5m" } }, "postgres")]);
    expect(neon).toMatchObject({ name: "Neon", afterMs: 300_000 });
    expect(neon!.how).toContain("57P01");
  });

  it("takes the shortest idle fault, and none when the link has only other toxics", () => {
    const both = idleStyleOf([
      parseToxic({ type: "idle_drop", attributes: { timeout: "10m" } }, "postgres"),
      parseToxic({ type: "neon_suspend", attributes: { after: "5m" } }, "postgres"),
    ]);
    expect(both!.name).toBe("Neon");
    expect(idleStyleOf([parseToxic({ type: "latency", attributes: { latency: 5 } }, "postgres")])).toBeUndefined();
  });
});

describe("profileIdleStyle and applies", () => {
  it("follows the profile: Supabase and Neon idle, Render Postgres does not", () => {
    expect(profileIdleStyle(description("supabase-transaction"))!.name).toBe("Supabase (Supavisor)");
    expect(profileIdleStyle(description("neon"))!.name).toBe("Neon");
    expect(profileIdleStyle(description("render-postgres"))).toBeUndefined();
    expect(poolerIdleDrop.applies(description("render-postgres"))).toMatch(/render-postgres has no pooler idle drop/);
    expect(poolerIdleDrop.applies(description("neon"))).toBe(true);
  });
});

describe("idleSpan", () => {
  it("idles a minute past the timeout, short of Render's sleep, and refuses when the sleep comes first", () => {
    expect(idleSpan(600_000, 900_000)).toBe(660_000);
    expect(idleSpan(300_000, null)).toBe(360_000);
    expect(idleSpan(870_000, 900_000)).toBe(899_000);
    expect(idleSpan(1_200_000, 900_000)).toMatch(/not shorter than Render's sleep \(15 min\)/);
  });
});

describe("idleVerdict", () => {
  it("fails an endpoint that was 200 warm and 500 after idle, quoting both and the app's error", () => {
    const verdict = idleVerdict({
      style: supabase,
      idleMs: 660_000,
      openBefore: 1,
      errorLine: "OperationalError: SSL connection has been closed unexpectedly",
      rounds: [
        { path: "/auth/health/", warm: probe("/auth/health/", 200), after: [probe("/auth/health/", 500)] },
        { path: "/notes/", warm: probe("/notes/", 200), after: [probe("/notes/", 200), probe("/notes/", 200)] },
      ],
    });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toMatch(/^Supabase \(Supavisor\) style: GET \/auth\/health\/ answered 500 after 11 min idle, 2xx before/);
    expect(verdict.evidence).toEqual([
      "Supabase (Supavisor) style: idle connections dropped after 10 min (silent close with TLS close_notify, no ErrorResponse)",
      "db link: 1 connection held open by the app going into the idle span",
      "GET /auth/health/ → 200 in 12 ms (warm)",
      "GET /auth/health/ → 500 in 12 ms after 11 min idle",
      "OperationalError: SSL connection has been closed unexpectedly",
    ]);
    expect(verdict.fix).toBe(POOLER_IDLE_DROP_FIX);
  });

  it("counts no answer at all as a failure, and a second request's 500 too", () => {
    const verdict = idleVerdict({
      style: supabase,
      idleMs: 660_000,
      openBefore: 2,
      errorLine: undefined,
      rounds: [{ path: "/", warm: probe("/", 200), after: [probe("/", 200), { ...probe("/", 0), error: "ECONNRESET" }] }],
    });
    expect(verdict.status).toBe("fail");
    expect(verdict.evidence).toContain("GET / → no answer (ECONNRESET) after 12 ms after 11 min idle");
  });

  it("passes when every endpoint still answers, saying whether connections were held", () => {
    const rounds = [{ path: "/auth/health/", warm: probe("/auth/health/", 200), after: [probe("/auth/health/", 200), probe("/auth/health/", 200)] }];
    const held = idleVerdict({ style: supabase, idleMs: 660_000, openBefore: 1, errorLine: undefined, rounds });
    expect(held.status).toBe("pass");
    expect(held.summary).toMatch(/replaced the dropped connection before use/);
    const none = idleVerdict({ style: supabase, idleMs: 660_000, openBefore: 0, errorLine: undefined, rounds });
    expect(none.summary).toMatch(/held no connection open across it \(CONN_MAX_AGE = 0\)/);
  });

  it("fails when the app logged the dropped connection for a request the check did not make", () => {
    const rounds = [{ path: "/", warm: probe("/", 200), after: [probe("/", 200), probe("/", 200)] }];
    const line = "OperationalError: consuming input failed: SSL connection has been closed unexpectedly";
    const verdict = idleVerdict({ style: supabase, idleMs: 660_000, openBefore: 2, errorLine: undefined, elsewhere: line, rounds });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toMatch(/Render's health check met it before the check's requests did/);
    expect(verdict.evidence.at(-1)).toBe(`app, for a request the check did not make (Render's health check): ${line}`);
  });

  it("does not blame the idle span for an endpoint that was already failing", () => {
    const verdict = idleVerdict({ style: supabase, idleMs: 660_000, openBefore: 1, errorLine: undefined, rounds: [{ path: "/x", warm: probe("/x", 500), after: [probe("/x", 500)] }] });
    expect(verdict.status).toBe("pass");
  });
});

describe("evidence from the app", () => {
  it("quotes a traceback's last line, shortened to the exception's class", () => {
    const lines = [
      "2026-11-23 12:37:21,113 ERROR django.request [pid 8] Internal Server Error: /auth/health/",
      "Traceback (most recent call last):",
      '  File "/opt/render/project/.venv/lib/python3.11/site-packages/django/db/backends/utils.py", line 105, in _execute',
      "psycopg2.OperationalError: SSL connection has been closed unexpectedly",
      "    with self.db.wrap_database_errors:",
      "django.db.utils.OperationalError: SSL connection has been closed unexpectedly",
    ];
    expect(appErrorLine(lines)).toBe("OperationalError: SSL connection has been closed unexpectedly");
    expect(appErrorLine(["GET / 200"])).toBeUndefined();
    expect(shortenException("django.db.utils.ProgrammingError: prepared statement \"_pg3_0\" does not exist")).toBe('ProgrammingError: prepared statement "_pg3_0" does not exist');
  });

  it("finds an error a view put in its JSON answer", () => {
    const body = JSON.stringify({ status: "error", checks: { database: { status: "error", error: "OperationalError: terminating connection due to administrator command\nSSL connection has been closed unexpectedly" } } });
    expect(bodyErrorLine(body)).toBe("OperationalError: terminating connection due to administrator command");
    expect(bodyErrorLine("<h1>Server Error (500)</h1>")).toBeUndefined();
  });

  it("tells which requests reached the database from the link's connections", () => {
    const conn = (id: number, bytesUp: number) => ({ id, client: "x", bytesUp, bytesDown: 0, openedAt: 0, lastActivityAt: 0, state: "open" as const });
    const before = linkActivity([conn(1, 100)]);
    expect(touchedDatabase(before, linkActivity([conn(1, 100)]))).toBe(false);
    expect(touchedDatabase(before, linkActivity([conn(1, 180)]))).toBe(true);
    expect(touchedDatabase(before, linkActivity([conn(1, 100), conn(2, 50)]))).toBe(true);
    expect(touchedDatabase(linkActivity([]), linkActivity([]))).toBe(false);
  });

  it("drives the endpoints that reached the database, or every 2xx one when none was seen", () => {
    const warm = [
      { path: "/", probe: probe("/", 200), database: false },
      { path: "/db", probe: probe("/db", 200), database: true },
      { path: "/broken", probe: probe("/broken", 500), database: true },
    ];
    expect(databaseEndpoints(warm)).toEqual(["/db"]);
    expect(databaseEndpoints(warm.map((w) => ({ ...w, database: false })))).toEqual(["/", "/db"]);
  });
});
