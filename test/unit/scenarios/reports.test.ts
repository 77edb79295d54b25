import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { CheckReportJsonSchema, formatJson, REPORT_VERSION } from "../../../src/scenarios/report-json.js";
import { formatJunit, JUNIT_CLASSNAME } from "../../../src/scenarios/report-junit.js";
import { formatText } from "../../../src/scenarios/report-text.js";
import { checkExitCode, type CheckReport } from "../../../src/scenarios/runner.js";

const base: Omit<CheckReport, "results" | "startError" | "startupMs"> = {
  dir: "/tmp/app",
  project: "app-abc123-check",
  service: "render-supabase",
  publicHost: "render-supabase.onrender.com",
  plan: "free",
  database: "supabase-transaction",
  redis: "redis",
  startedAt: "2026-01-02T03:04:05.678Z",
  durationMs: 42_345,
  endpoints: ["/", "/auth/health/"],
};

const report: CheckReport = {
  ...base,
  startupMs: 20_000,
  startError: null,
  results: [
    {
      id: "ssl-redirect-loop",
      title: "HTTPS redirect loop",
      status: "fail",
      summary: 'GET / answers 301 to https://render-supabase.onrender.com/ & <loops> "forever"',
      evidence: ["GET / → 301 in 12 ms, Location: https://render-supabase.onrender.com/", "app: \x1b[31m10.0.0.1 \"GET / HTTP/1.1\" 301 0\x1b[0m"],
      fix: 'set SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")',
      durationMs: 120,
    },
    { id: "allowed-hosts", title: "ALLOWED_HOSTS", status: "pass", summary: "the app accepts Host", evidence: ["GET / → 200 in 5 ms"], fix: "add it", durationMs: 40 },
    { id: "static-files", title: "static", status: "skip", summary: "does not apply: no static files", evidence: [], fix: "", durationMs: 0 },
  ],
};

/** Every endpoint a 400 before any fault: two scenarios tested nothing. */
const baselineFailed = (id: string, ms: number) => ({
  id,
  title: id,
  status: "baseline-failed" as const,
  summary: "baseline failed: before any fault, GET / answered 400: Django's DisallowedHost: Host: render-supabase.onrender.com is not in ALLOWED_HOSTS; nothing was tested",
  evidence: ["baseline (before the fault):", `GET / → 400 in ${ms} ms: "Bad Request (400)"`],
  fix: "add the public host to ALLOWED_HOSTS",
  durationMs: 30,
});
const untested: CheckReport = {
  ...report,
  results: [report.results[1]!, baselineFailed("worker-timeout", 9), baselineFailed("cold-start", 14)],
};

describe("text report", () => {
  it("labels a baseline failure BASE, shows its answers and fix once, and counts it apart", () => {
    const text = formatText(untested);
    expect(text).toMatch(/^BASE {2}worker-timeout {2}baseline failed: before any fault, GET \/ answered 400: Django's DisallowedHost/m);
    expect(text).toMatch(/^BASE {2}cold-start {6}baseline failed:/m);
    expect(text.match(/GET \/ → 400 in \d+ ms: "Bad Request \(400\)"/g)).toHaveLength(1);
    expect(text.match(/fix: add the public host to ALLOWED_HOSTS/g)).toHaveLength(1);
    expect(text).toMatch(/^\s+\(the same answers and fix as worker-timeout above\)$/m);
    expect(text).toMatch(/1 passed, 0 failed, 2 baseline failed \(not tested\), 0 skipped/);
  });


  it("prints one line per scenario, the evidence and fix of a failure, and the totals", () => {
    const text = formatText(report);
    const lines = text.split("\n");
    expect(lines.find((l) => l.startsWith("FAIL"))).toMatch(/^FAIL {2}ssl-redirect-loop {2}GET \/ answers 301/);
    expect(lines.find((l) => l.startsWith("PASS"))).toMatch(/^PASS {2}allowed-hosts/);
    expect(lines.find((l) => l.startsWith("SKIP"))).toMatch(/^SKIP {2}static-files/);
    expect(text).toMatch(/^\s+GET \/ → 301 in 12 ms, Location: https:\/\/render-supabase/m);
    expect(text).toMatch(/^\s+fix: set SECURE_PROXY_SSL_HEADER/m);
    // A passing scenario's evidence is only shown with verbose.
    expect(text).not.toContain("GET / → 200 in 5 ms");
    expect(formatText(report, { verbose: true })).toContain("GET / → 200 in 5 ms");
    expect(text).toMatch(/1 passed, 1 failed, 1 skipped in 42\.3 s, stack up in 20\.0 s/);
    expect(text).not.toContain("\x1b[32m");
  });

  it("shows why the app did not start", () => {
    const text = formatText({ ...report, startupMs: null, startError: "app exited (code 127)\n    bash: line 1: gunicorn: command not found", results: [] });
    expect(text).toContain("the app did not start:");
    expect(text).toContain("bash: line 1: gunicorn: command not found");
  });
});

describe("JSON report", () => {
  it("matches the documented schema and says what the exit code says", () => {
    const parsed = CheckReportJsonSchema.parse(JSON.parse(formatJson(report)));
    expect(parsed.version).toBe(REPORT_VERSION);
    expect(parsed.ok).toBe(false);
    expect(checkExitCode(report)).toBe(1);
    expect(parsed.totals).toEqual({ passed: 1, failed: 1, baselineFailed: 0, skipped: 1, total: 3 });
    expect(parsed.scenarios.map((s) => [s.id, s.status])).toEqual([
      ["ssl-redirect-loop", "fail"],
      ["allowed-hosts", "pass"],
      ["static-files", "skip"],
    ]);
    expect(parsed.scenarios[0]!.evidence[0]).toContain("301");
  });

  it("is ok (exit 0) when nothing failed, and not ok when the app did not start", () => {
    const passing = { ...report, results: report.results.slice(1) };
    expect(CheckReportJsonSchema.parse(JSON.parse(formatJson(passing))).ok).toBe(true);
    expect(checkExitCode(passing)).toBe(0);
    const notStarted = { ...passing, startError: "boom", startupMs: null };
    expect(CheckReportJsonSchema.parse(JSON.parse(formatJson(notStarted))).ok).toBe(false);
    expect(checkExitCode(notStarted)).toBe(1);
  });

  it("rejects a shape that drifted (the schema is strict)", () => {
    const json = JSON.parse(formatJson(report)) as Record<string, unknown>;
    expect(CheckReportJsonSchema.safeParse({ ...json, extra: 1 }).success).toBe(false);
    expect(CheckReportJsonSchema.safeParse({ ...json, version: 1 }).success).toBe(false);
  });

  it("reports a baseline failure as its own status and total, and is not ok (exit 1) when nothing else failed", () => {
    const parsed = CheckReportJsonSchema.parse(JSON.parse(formatJson(untested)));
    expect(parsed.ok).toBe(false);
    expect(checkExitCode(untested)).toBe(1);
    expect(parsed.totals).toEqual({ passed: 1, failed: 0, baselineFailed: 2, skipped: 0, total: 3 });
    expect(parsed.scenarios.map((s) => s.status)).toEqual(["pass", "baseline-failed", "baseline-failed"]);
    expect(parsed.scenarios[1]!.fix).toContain("ALLOWED_HOSTS");
  });
});

interface JunitCase {
  "@_classname": string;
  "@_name": string;
  "@_time": string;
  failure?: { "@_message": string; "@_type": string; "#text": string };
  skipped?: { "@_message": string };
}

function parseJunit(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  const parser = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === "testcase" || name === "testsuite" || name === "property" });
  return parser.parse(xml) as {
    testsuites: { "@_tests": string; "@_failures": string; "@_skipped": string; testsuite: { "@_name": string; "@_tests": string; "@_failures": string; "@_time": string; testcase: JunitCase[] }[] };
  };
}

describe("JUnit report", () => {
  it("is well-formed XML with the structure CI systems read", () => {
    const xml = formatJunit(report);
    expect(xml).not.toContain("\x1b");
    const doc = parseJunit(xml);
    expect(doc.testsuites["@_tests"]).toBe("3");
    expect(doc.testsuites["@_failures"]).toBe("1");
    expect(doc.testsuites["@_skipped"]).toBe("1");
    const suite = doc.testsuites.testsuite[0]!;
    expect(suite["@_name"]).toBe("prodlike check: render-supabase");
    expect(suite["@_time"]).toBe("42.345");
    const [fail, pass, skip] = suite.testcase;
    expect(suite.testcase.every((c) => c["@_classname"] === JUNIT_CLASSNAME)).toBe(true);
    expect(fail!["@_name"]).toBe("ssl-redirect-loop");
    expect(fail!["@_time"]).toBe("0.120");
    // Escaped on the way out, the exact text on the way back in.
    expect(new XMLParser({ ignoreAttributes: false, processEntities: true, htmlEntities: true, isArray: (n) => n === "testcase" })
      .parse(xml).testsuites.testsuite.testcase[0].failure["@_message"]).toBe(report.results[0]!.summary);
    expect(fail!.failure!["#text"]).toContain("GET / → 301 in 12 ms");
    expect(fail!.failure!["#text"]).toContain('fix: set SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")');
    expect(pass!.failure).toBeUndefined();
    expect(pass!.skipped).toBeUndefined();
    expect(skip!.skipped!["@_message"]).toBe("does not apply: no static files");
  });

  it("makes a baseline failure an error (not a pass, not a failure) with the answers and the fix", () => {
    const suite = parseJunit(formatJunit(untested)).testsuites.testsuite[0]! as unknown as {
      "@_failures": string;
      "@_errors": string;
      testcase: (JunitCase & { error?: { "@_message": string; "@_type": string; "#text": string } })[];
    };
    expect([suite["@_failures"], suite["@_errors"]]).toEqual(["0", "2"]);
    const error = suite.testcase.find((c) => c["@_name"] === "worker-timeout")!.error!;
    expect(error["@_type"]).toBe("baseline-failed");
    expect(error["@_message"]).toMatch(/^baseline failed: /);
    expect(error["#text"]).toContain("fix: add the public host to ALLOWED_HOSTS");
  });

  it("adds a failing app-start case when the app did not start and no scenario explained it", () => {
    const xml = formatJunit({ ...report, startupMs: null, startError: "app exited <127> & died", results: [report.results[2]!] });
    const suite = parseJunit(xml).testsuites.testsuite[0]!;
    expect(suite["@_failures"]).toBe("1");
    const start = suite.testcase.find((c) => c["@_name"] === "app-start");
    expect(start?.failure?.["@_message"]).toContain("the app did not start");
  });
});
