import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveStack } from "../../../src/config/resolve.js";
import { isProdlikeError } from "../../../src/errors.js";
import { runCheck, selectScenarios } from "../../../src/scenarios/runner.js";
import { SCENARIOS } from "../../../src/scenarios/registry.js";
import type { Scenario } from "../../../src/scenarios/scenario.js";
import { REPO } from "../../helpers/cli.js";

const fake = (id: string, applies: true | string = true): Scenario => ({
  id,
  title: `the ${id} scenario`,
  applies: () => applies,
  run: async () => ({ status: "pass", summary: "ok", evidence: [], fix: "" }),
});
const DIR = join(REPO, "fixtures", "render-supabase");

describe("the scenario registry", () => {
  it("has unique kebab-case ids and a title for each", () => {
    const ids = SCENARIOS.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const scenario of SCENARIOS) {
      expect(scenario.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(scenario.title.length).toBeGreaterThan(10);
    }
    expect(ids).toEqual(expect.arrayContaining(["ssl-redirect-loop", "allowed-hosts", "static-files", "start-command"]));
  });
});

describe("selectScenarios", () => {
  const all = [fake("a"), fake("b"), fake("c")];
  const check = { paths: [], clientTimeoutMs: 30_000, only: [] as string[], skip: [] as string[] };

  it("runs all by default, --only and --skip narrow it, the flags beat prodlike.yaml's only", () => {
    expect(selectScenarios(all, { check }, {}).map((s) => s.id)).toEqual(["a", "b", "c"]);
    expect(selectScenarios(all, { check }, { only: ["c", "a"] }).map((s) => s.id)).toEqual(["a", "c"]);
    expect(selectScenarios(all, { check: { ...check, only: ["b"] } }, {}).map((s) => s.id)).toEqual(["b"]);
    expect(selectScenarios(all, { check: { ...check, only: ["b"] } }, { only: ["a"] }).map((s) => s.id)).toEqual(["a"]);
    expect(selectScenarios(all, { check: { ...check, skip: ["a"] } }, { skip: ["b"] }).map((s) => s.id)).toEqual(["c"]);
  });

  it("names the known scenarios when an id is unknown", () => {
    try {
      selectScenarios(all, { check }, { only: ["nope"] });
      expect.unreachable();
    } catch (err) {
      expect(isProdlikeError(err, "CONFIG_INVALID")).toBe(true);
      expect((err as Error).message).toMatch(/no scenario "nope": the scenarios are a, b, c/);
    }
  });
});

describe("runCheck without a stack", () => {
  it("reports scenarios that do not apply as skipped and starts nothing", async () => {
    const seen: string[] = [];
    const report = await runCheck(DIR, { scenarios: [fake("neon-only", "the database is not Neon")], onResult: (r) => seen.push(r.id) });
    expect(report.results).toEqual([expect.objectContaining({ id: "neon-only", status: "skip", summary: "does not apply: the database is not Neon" })]);
    expect(seen).toEqual(["neon-only"]);
    expect(report.project).toMatch(/-check$/);
    expect(report.startupMs).toBeNull();
  });

  it("gives the check's stack its own project name and reads prodlike.yaml's check settings", async () => {
    const normal = await resolveStack(DIR);
    const check = await resolveStack(DIR, { projectSuffix: "check" });
    expect(check.project).toBe(`${normal.project}-check`);
    expect(normal.check).toEqual({ paths: [], clientTimeoutMs: 30_000, only: [], skip: [] });
  });
});
