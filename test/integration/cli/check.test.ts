import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterEach, describe, expect, it } from "vitest";
import { CheckReportJsonSchema, type CheckReportJson } from "../../../src/scenarios/report-json.js";
import { copyFixture, leftovers, runCli, type CliResult } from "../../helpers/cli.js";

/**
 * `prodlike check` end to end on copies of the fixtures, each in a buggy and a fixed
 * configuration: the right scenarios fail with the right evidence, the fixed ones pass, the
 * exit code says so, and the check's own stack leaves nothing behind. One stack per test.
 */
describe("prodlike check", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function fixture(name: string) {
    const copy = await copyFixture(name);
    cleanups.push(() => copy.dispose());
    return copy;
  }

  async function check(copy: { dir: string; project: string }, args: readonly string[]): Promise<CliResult> {
    const result = await runCli(["check", copy.dir, ...args], { timeoutMs: 540_000 });
    // The check's stack is its own project; it and its volumes are gone afterwards, and the
    // user's `prodlike up` project was never touched.
    expect(await leftovers(`${copy.project}-check`)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    expect(await leftovers(copy.project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    return result;
  }

  function json(result: CliResult): CheckReportJson {
    try {
      return CheckReportJsonSchema.parse(JSON.parse(result.stdout));
    } catch (err) {
      throw new Error(`not a check report (exit ${result.code}): ${String(err)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr.slice(-3000)}`);
    }
  }

  const statuses = (report: CheckReportJson) => Object.fromEntries(report.scenarios.map((s) => [s.id, s.status]));
  const scenario = (report: CheckReportJson, id: string) => report.scenarios.find((s) => s.id === id)!;

  it("render-supabase with SECURE_SSL_REDIRECT and no SECURE_PROXY_SSL_HEADER: the redirect loop fails, with the 301 as evidence", async () => {
    const copy = await fixture("render-supabase");
    const result = await check(copy, ["-e", "SECURE_SSL_REDIRECT=true", "-e", "TRUST_X_FORWARDED_PROTO=false", "--only", "ssl-redirect-loop,allowed-hosts,start-command", "-o", "json"]);
    const report = json(result);
    expect(result.code, result.stderr.slice(-2000)).toBe(1);
    expect(report.ok).toBe(false);
    expect(statuses(report)).toEqual({ "start-command": "pass", "ssl-redirect-loop": "fail", "allowed-hosts": "pass" });
    const loop = scenario(report, "ssl-redirect-loop");
    expect(loop.summary).toMatch(/GET \/ over HTTPS answers 301 to https:\/\/render-supabase\.onrender\.com\//);
    expect(loop.evidence.join("\n")).toMatch(/GET \/ → 301 .*Location: https:\/\/render-supabase\.onrender\.com\//);
    expect(loop.evidence.join("\n")).toMatch(/app: .*"GET \/ HTTP\/1\.1" 301/);
    expect(loop.fix).toContain('SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")');
    expect(scenario(report, "start-command").evidence.join("\n")).toMatch(/command -v gunicorn → \/\S+\/gunicorn/);
    expect(report.project).toBe(`${copy.project}-check`);
  });

  it("render-supabase without its public host in ALLOWED_HOSTS: allowed-hosts fails with Django's line, in JUnit", async () => {
    const copy = await fixture("render-supabase");
    const result = await check(copy, ["-e", "ALLOWED_HOSTS=example.com", "-e", "ALLOW_RENDER_EXTERNAL_HOSTNAME=false", "--only", "allowed-hosts", "-o", "junit"]);
    expect(result.code, result.stderr.slice(-2000)).toBe(1);
    expect(XMLValidator.validate(result.stdout)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === "testcase" }).parse(result.stdout);
    const suite = doc.testsuites.testsuite;
    expect(suite["@_tests"]).toBe("1");
    expect(suite["@_failures"]).toBe("1");
    const [testcase] = suite.testcase;
    expect(testcase["@_classname"]).toBe("prodlike.check");
    expect(testcase["@_name"]).toBe("allowed-hosts");
    expect(testcase.failure["@_message"]).toContain("answers 400 Bad Request");
    expect(testcase.failure["#text"]).toContain("GET / → 400");
    expect(testcase.failure["#text"]).toContain("Invalid HTTP_HOST header: 'render-supabase.onrender.com'");
    expect(testcase.failure["#text"]).toContain("RENDER_EXTERNAL_HOSTNAME");
  });

  it("render-supabase without gunicorn in requirements.txt: start-command explains the failed start, the rest are not run", async () => {
    const copy = await fixture("render-supabase");
    const requirements = join(copy.dir, "requirements.txt");
    await writeFile(requirements, (await readFile(requirements, "utf8")).replace(/^gunicorn==.*\n/m, ""));
    const result = await check(copy, ["--only", "start-command,allowed-hosts", "-o", "json"]);
    const report = json(result);
    expect(result.code).toBe(1);
    expect(report.startError).toMatch(/gunicorn/);
    expect(statuses(report)).toEqual({ "start-command": "fail", "allowed-hosts": "skip" });
    const start = scenario(report, "start-command");
    expect(start.evidence).toContain("start command (Procfile web): gunicorn config.wsgi");
    expect(start.evidence.join("\n")).toMatch(/app: bash: (line 1: )?(exec: )?gunicorn: (command )?not found/);
    expect(start.fix).toMatch(/add gunicorn to requirements\.txt/);
    expect(scenario(report, "allowed-hosts").summary).toMatch(/^not run: the app did not start/);
  });

  it("render-blueprint as written (WhiteNoise, collectstatic, proxy header): every HTTP scenario passes, exit 0", async () => {
    const copy = await fixture("render-blueprint");
    const result = await check(copy, ["--only", "start-command,ssl-redirect-loop,allowed-hosts,static-files", "-v"]);
    expect(result.code, `${result.stdout}\n${result.stderr.slice(-3000)}`).toBe(0);
    expect(result.stdout).toMatch(/^PASS {2}start-command/m);
    expect(result.stdout).toMatch(/^PASS {2}ssl-redirect-loop/m);
    expect(result.stdout).toMatch(/^PASS {2}allowed-hosts/m);
    expect(result.stdout).toMatch(/^PASS {2}static-files +1 static file\(s\) linked from the front page are served/m);
    expect(result.stdout).toMatch(/GET \/static\/css\/site\.[0-9a-f]+\.css → 200/);
    expect(result.stdout).toMatch(/endpoints: \/ \/healthz\//);
    expect(result.stdout).toMatch(/4 passed, 0 failed, 0 skipped/);
    expect(result.stdout).not.toMatch(/baseline failed/);
  });

  it("render-blueprint whose build skips collectstatic: static-files fails with the missing manifest", async () => {
    const copy = await fixture("render-blueprint");
    const build = join(copy.dir, "build.sh");
    await writeFile(build, (await readFile(build, "utf8")).replace(/^python manage\.py collectstatic.*\n/m, ""));
    const result = await check(copy, ["--only", "static-files", "-o", "json", "--output-file", join(copy.dir, "report.json")]);
    expect(result.code, result.stderr.slice(-2000)).toBe(1);
    // --output-file: the report in the file, the text report on stdout.
    expect(result.stdout).toMatch(/^FAIL {2}static-files/m);
    const report = CheckReportJsonSchema.parse(JSON.parse(await readFile(join(copy.dir, "report.json"), "utf8")));
    const files = scenario(report, "static-files");
    expect(files.status).toBe("fail");
    expect(files.evidence.join("\n")).toContain("GET / → 500");
    expect(files.evidence.join("\n")).toMatch(/app: .*Missing staticfiles manifest entry for 'css\/site\.css'/);
    expect(files.fix).toContain("collectstatic");
  });

  it("render-supabase as shipped (CONN_MAX_AGE=600, media on the local disk), every scenario: the idle drop and the media fail, JUnit for CI", async () => {
    const copy = await fixture("render-supabase");
    const xml = join(copy.dir, "prodlike-check.xml");
    const result = await check(copy, ["-o", "junit", "--output-file", xml]);
    expect(result.code, `${result.stdout}\n${result.stderr.slice(-3000)}`).toBe(1);
    const lines = (status: string) => [...result.stdout.matchAll(new RegExp(`^${status} {2}(\\S+)`, "gm"))].map((m) => m[1]).sort();
    expect(lines("FAIL")).toEqual(["media-ephemeral", "pooler-idle-drop"]);
    // No Redis, no static files linked from its front page, no form to post (the skips say so); the rest pass.
    expect(lines("SKIP")).toEqual(["csrf-origin", "redis-tls", "static-files", "upstash-limit"]);
    expect(lines("PASS")).toHaveLength(9);
    const text = await readFile(xml, "utf8");
    expect(XMLValidator.validate(text)).toBe(true);
    const suite = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === "testcase" }).parse(text).testsuites.testsuite;
    expect([suite["@_tests"], suite["@_failures"], suite["@_errors"], suite["@_skipped"]]).toEqual(["15", "2", "0", "4"]);
    const failure = (name: string) => suite.testcase.find((t: { "@_name": string }) => t["@_name"] === name).failure;
    expect(failure("pooler-idle-drop")["@_message"]).toMatch(/^Supabase \(Supavisor\) style: GET \/auth\/health\/ /);
    expect(failure("pooler-idle-drop")["#text"]).toMatch(/CONN_HEALTH_CHECKS/);
    expect(failure("media-ephemeral")["#text"]).toMatch(/FileSystemStorage/);
  });

  it("render-supabase with CONN_HEALTH_CHECKS=true: the idle drop passes", async () => {
    const copy = await fixture("render-supabase");
    const result = await check(copy, ["-e", "CONN_HEALTH_CHECKS=true", "--only", "pooler-idle-drop", "-o", "json"]);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const drop = scenario(json(result), "pooler-idle-drop");
    expect(drop.status).toBe("pass");
    expect(drop.summary, drop.summary).toMatch(/^Supabase \(Supavisor\) style: \/auth\/health\/ .*still answered after \d+ min idle; the app replaced the dropped connection/);
  });

  it("render-neon-upstash-cloudinary as shipped (health checks, Cloudinary media, rediss://), every scenario: all pass, exit 0", async () => {
    const copy = await fixture("render-neon-upstash-cloudinary");
    const result = await check(copy, ["-o", "json"]);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const report = json(result);
    expect(report.ok).toBe(true);
    expect(Object.values(statuses(report))).toEqual(Array(15).fill("pass"));
    expect(scenario(report, "pooler-idle-drop").summary).toMatch(/^Neon style/);
    expect(scenario(report, "media-ephemeral").summary).toMatch(/MediaCloudinaryStorage/);
  });

  it("render-allowed-hosts-400 (every request a 400, nothing logged): each scenario that needs the endpoint reports its baseline failed, not a pass; exit 1", async () => {
    const copy = await fixture("render-allowed-hosts-400");
    const file = join(copy.dir, "report.json");
    const only = "start-command,ssl-redirect-loop,allowed-hosts,worker-timeout,memory-limit,cold-start,data-ephemeral";
    const result = await check(copy, ["--only", only, "-o", "json", "--output-file", file]);
    expect(result.code, `${result.stdout}\n${result.stderr.slice(-3000)}`).toBe(1);
    const report = CheckReportJsonSchema.parse(JSON.parse(await readFile(file, "utf8")));
    expect(report.ok).toBe(false);
    expect(statuses(report)).toEqual({
      "start-command": "pass",
      "ssl-redirect-loop": "baseline-failed",
      "allowed-hosts": "fail",
      "worker-timeout": "baseline-failed",
      "memory-limit": "baseline-failed",
      // Through the app's own connection, not its endpoints: the rows are in Postgres.
      "data-ephemeral": "pass",
      "cold-start": "baseline-failed",
    });
    expect(report.totals).toEqual({ passed: 2, failed: 1, baselineFailed: 4, skipped: 0, total: 7 });
    for (const id of ["ssl-redirect-loop", "worker-timeout", "memory-limit", "cold-start"]) {
      const untested = scenario(report, id);
      expect(untested.summary, id).toBe(
        "baseline failed: before any fault, GET / answered 400: Django's DisallowedHost: Host: render-allowed-hosts-400.onrender.com is not in ALLOWED_HOSTS; nothing was tested",
      );
      expect(untested.evidence.join("\n"), id).toMatch(/^GET \/ → 400 in \S+ m?s: "Bad Request \(400\)"$/m);
      expect(untested.evidence.join("\n"), id).toContain(
        'the app\'s settings: ALLOWED_HOSTS = ["tontine.up.railway.app"], DEBUG = False; Host: render-allowed-hosts-400.onrender.com is not allowed',
      );
      expect(untested.fix, id).toContain('ALLOWED_HOSTS.append(os.environ["RENDER_EXTERNAL_HOSTNAME"])');
    }
    expect(scenario(report, "allowed-hosts").evidence.join("\n")).toContain('ALLOWED_HOSTS = ["tontine.up.railway.app"]');
    // The text report (stdout with --output-file) shows it apart from passes and failures.
    expect(result.stdout).toMatch(/^BASE {2}worker-timeout +baseline failed: before any fault, GET \/ answered 400/m);
    expect(result.stdout).toMatch(/^\s+GET \/ → 400 in \S+ m?s: "Bad Request \(400\)"$/m);
    expect(result.stdout).toMatch(/2 passed, 1 failed, 4 baseline failed \(not tested\), 0 skipped/);
    expect(result.stdout).not.toMatch(/^PASS {2}(ssl-redirect-loop|worker-timeout|memory-limit|cold-start)/m);
  });

  it("render-sqlite-fallback (SQLite unless USE_POSTGRES=True): data-ephemeral fails, the row gone after a wake, with the fix", async () => {
    const copy = await fixture("render-sqlite-fallback");
    const result = await check(copy, ["--only", "data-ephemeral", "-o", "json"]);
    expect(result.code, result.stderr.slice(-3000)).toBe(1);
    const data = scenario(json(result), "data-ephemeral");
    expect(data.status).toBe("fail");
    expect(data.summary).toMatch(/^a row the app wrote to its database \(the SQLite file \/\S+\/db\.sqlite3\) was gone after the instance woke in a fresh container/);
    expect(data.evidence).toContain("variables the settings read that are not set: USE_POSTGRES");
    expect(data.evidence.join("\n")).toMatch(/DATABASES\["default"\]: django\.db\.backends\.sqlite3, NAME \/\S+\/db\.sqlite3/);
    expect(data.evidence.join("\n")).toMatch(/DATABASE_URL in the app's container: a database at \S+/);
    expect(data.evidence.join("\n")).toMatch(/wrote a row .*: 1 row\(s\) there right after\n.*spun down, woke in a fresh container \(.*\): the table prodlike_check_probe is gone/);
    expect(data.fix).toContain("dj_database_url.config(default=");
    expect(data.fix).toContain("(the settings read USE_POSTGRES, unset here)");
  });

  it("render-sqlite-fallback with USE_POSTGRES=True, and render-supabase as shipped: data-ephemeral passes (rows in DATABASE_URL's database)", async () => {
    const fixed = await fixture("render-sqlite-fallback");
    const one = json(await check(fixed, ["-e", "USE_POSTGRES=True", "--only", "data-ephemeral", "-o", "json"]));
    expect(scenario(one, "data-ephemeral").status, scenario(one, "data-ephemeral").evidence.join("\n")).toBe("pass");
    expect(scenario(one, "data-ephemeral").evidence.join("\n")).toMatch(/DATABASES\["default"\]: django\.db\.backends\.postgresql at /);
    const good = await fixture("render-supabase");
    const result = await check(good, ["--only", "data-ephemeral", "-o", "json"]);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const data = scenario(json(result), "data-ephemeral");
    expect(data.status).toBe("pass");
    expect(data.summary).toBe("the app keeps its rows in the database DATABASE_URL names (postgresql at aws-0-eu-central-1.pooler.supabase.com), off the instance's disk");
    expect(data.evidence).toContain("wrote a row to prodlike_check_probe through the app's connection: 1 row(s) there right after");
  });

  it("an unknown scenario id is a usage error (exit 2) that lists the scenarios, before any container starts", async () => {
    const copy = await fixture("render-supabase");
    const result = await check(copy, ["--only", "no-such-scenario"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no scenario "no-such-scenario": the scenarios are .*ssl-redirect-loop/);
  });
});
