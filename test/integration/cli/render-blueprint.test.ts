import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFixture, fetchApp, leftovers, parseUp, runCli } from "../../helpers/cli.js";

/** fixtures/render-blueprint comes up through its own render.yaml (build.sh migrates). */
describe("prodlike up on render-blueprint", () => {
  let fixture: Awaited<ReturnType<typeof copyFixture>>;
  let url: string;
  let log: string;

  beforeAll(async () => {
    fixture = await copyFixture("render-blueprint");
    const result = await runCli(["up", "-d", fixture.dir, "--port", "0", "--http-port", "0"]);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    url = parseUp(result.stdout).url;
    const { readFile } = await import("node:fs/promises");
    log = await readFile(`${fixture.dir}/.prodlike/up.log`, "utf8");
  });

  afterAll(async () => {
    if (!fixture) return;
    await runCli(["down", fixture.dir, "--volumes"]);
    expect(await leftovers(fixture.project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    await fixture.dispose();
  });

  it("ran migrate during the build, as its buildCommand says", () => {
    expect(log).toMatch(/Applying \w+\.0001_initial\.\.\. OK/);
  });

  it("serves the page with its static CSS through WhiteNoise", async () => {
    const page = await fetchApp(`${url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const css = /href="(\/static\/[^"]+\.css)"/.exec(html)?.[1];
    expect(css, html.slice(0, 500)).toBeDefined();
    const sheet = await fetchApp(`${url}${css}`);
    expect(sheet.status).toBe(200);
    expect(sheet.headers.get("content-type")).toContain("text/css");
  });
});
