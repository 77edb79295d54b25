import { spawn } from "node:child_process";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { projectName } from "../../../src/config/resolve.js";
import { connectEngine } from "../../../src/engine/docker.js";
import { LABEL_PROJECT, LABEL_SERVICE } from "../../../src/engine/labels.js";
import { REPO } from "../../helpers/cli.js";

const FIXTURE = join(REPO, "fixtures", "render-supabase");
const EXAMPLE = join(FIXTURE, "tests", "prodlike");
/** The example's stacks: instances of the fixture folder, `<project>-vt<worker>-<hex>` (and `-vt-global-<hex>`). */
const PREFIX = `${projectName(FIXTURE)}-vt`;

/** Every stack project of the example that has resources now, and which of them have an app running. */
async function exampleStacks(): Promise<{ all: Set<string>; running: Set<string> }> {
  const docker = await connectEngine();
  const filters = { label: [LABEL_PROJECT] };
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  const mine = (labels: Record<string, string> | undefined) => labels?.[LABEL_PROJECT]?.startsWith(PREFIX) === true;
  const all = new Set<string>();
  for (const item of [...containers.map((c) => c.Labels), ...networks.map((n) => n.Labels), ...(volumes.Volumes ?? []).map((v) => v.Labels)]) {
    if (item && mine(item)) all.add(item[LABEL_PROJECT]!);
  }
  const running = new Set(
    containers.filter((c) => mine(c.Labels) && c.Labels[LABEL_SERVICE] === "app" && c.State === "running").map((c) => c.Labels[LABEL_PROJECT]!),
  );
  return { all, running };
}

/**
 * Issue 7: the documented vitest example (fixtures/render-supabase/tests/prodlike) passes as a
 * user would run it, its two per-file stacks run at the same time, and it leaves nothing.
 */
describe("the vitest example", () => {
  it("passes, with the two test files' stacks running at once, and leaves nothing behind", async () => {
    expect((await exampleStacks()).all.size, "stacks of an earlier run of the example are still there").toBe(0);
    const child = spawn(process.execPath, [join(REPO, "node_modules", "vitest", "vitest.mjs"), "run", "--root", EXAMPLE], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));

    // Watch the engine while it runs: the most per-file stacks (not the global one) with an app up at one moment.
    let overlap = 0;
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      const { running } = await exampleStacks();
      overlap = Math.max(overlap, [...running].filter((project) => !project.startsWith(`${PREFIX}-global`)).length);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const code = await exited;
    output = stripVTControlCharacters(output);

    expect(code, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/Test Files\s+3 passed \(3\)/);
    expect(output).toMatch(/Tests\s+5 passed \(5\)/);
    expect(overlap, "the two files' stacks never ran at the same time").toBe(2);
    expect((await exampleStacks()).all).toEqual(new Set());
  });
});
