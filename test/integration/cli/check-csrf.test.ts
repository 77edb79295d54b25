import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CheckReportJsonSchema } from "../../../src/scenarios/report-json.js";
import { copyFixture, leftovers, runCli } from "../../helpers/cli.js";

/**
 * The csrf-origin scenario on the fixture with Django's admin: a browser's login POST passes
 * Django's CSRF check as written, and gets the 403 of production when the settings neither
 * trust the proxy's X-Forwarded-Proto nor list the public origin.
 */
describe("prodlike check: csrf-origin (render-neon-upstash-cloudinary)", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function checkCsrf(extra: readonly string[], files: Record<string, string> = {}) {
    const copy = await copyFixture("render-neon-upstash-cloudinary");
    cleanups.push(() => copy.dispose());
    for (const [name, text] of Object.entries(files)) await writeFile(join(copy.dir, name), text);
    const result = await runCli(["check", copy.dir, "--only", "csrf-origin", "-o", "json", ...extra], { timeoutMs: 540_000 });
    expect(await leftovers(`${copy.project}-check`)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    const report = CheckReportJsonSchema.parse(JSON.parse(result.stdout));
    return { code: result.code, verdict: report.scenarios.find((s) => s.id === "csrf-origin")!, stderr: result.stderr };
  }

  it("passes as written: SECURE_PROXY_SSL_HEADER is set", async () => {
    const { code, verdict, stderr } = await checkCsrf([]);
    expect(verdict.status, `${verdict.summary}\n${verdict.evidence.join("\n")}\n${stderr.slice(-2000)}`).toBe("pass");
    expect(code).toBe(0);
    expect(verdict.summary).toMatch(/POST to \/admin\/login\/ passes the CSRF check \(200\)/);
  });

  it("fails with Django's 403 and names SECURE_PROXY_SSL_HEADER when the app does not trust the proxy", async () => {
    const settings = "from .settings import *  # noqa\n\nSECURE_PROXY_SSL_HEADER = None\nCSRF_TRUSTED_ORIGINS = []\n";
    const { code, verdict } = await checkCsrf(["-e", "DJANGO_SETTINGS_MODULE=config.settings_untrusted_proxy"], { "config/settings_untrusted_proxy.py": settings });
    expect(verdict.status, verdict.evidence.join("\n")).toBe("fail");
    expect(code).toBe(1);
    expect(verdict.summary).toContain('403 "CSRF verification failed"');
    expect(verdict.evidence.join("\n")).toContain("Origin: https://127.0.0.1:");
    expect(verdict.fix).toContain('SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")');
  });
});
