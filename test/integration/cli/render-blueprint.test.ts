import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downFixture, fetchApp, upFixture, type FixtureStack } from "../../helpers/cli.js";

/** fixtures/render-blueprint comes up through its own render.yaml (build.sh migrates). */
describe("prodlike up on render-blueprint", () => {
  let stack: FixtureStack | undefined;
  let url: string;
  let log: string;

  beforeAll(async () => {
    stack = await upFixture("render-blueprint");
    url = stack.url;
    log = stack.log;
  });

  afterAll(() => downFixture(stack));

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
