import { spawn } from "node:child_process";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { projectName } from "../../../src/config/resolve.js";
import { connectEngine } from "../../../src/engine/docker.js";
import { LABEL_PROJECT } from "../../../src/engine/labels.js";
import { REPO } from "../../helpers/cli.js";

const FIXTURE = join(REPO, "fixtures", "render-supabase");
const EXAMPLE = join(FIXTURE, "tests", "prodlike");
/** The example's stacks: instances of the fixture folder, `<project>-vt<worker>-<hex>` (and `-vt-global-<hex>`). */
const PREFIX = `${projectName(FIXTURE)}-vt`;

/** Every stack project of the example that has resources now. */
async function exampleStacks(): Promise<Set<string>> {
  const docker = await connectEngine();
  const filters = { label: [LABEL_PROJECT] };
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  const all = new Set<string>();
  for (const labels of [...containers.map((c) => c.Labels), ...networks.map((n) => n.Labels), ...(volumes.Volumes ?? []).map((v) => v.Labels)]) {
    if (labels?.[LABEL_PROJECT]?.startsWith(PREFIX)) all.add(labels[LABEL_PROJECT]);
  }
  return all;
}

/**
 * The engine's create/destroy events of prodlike containers, streamed live from now until
 * `stop()`: exact, where polling the engine every half second could miss a short overlap, and
 * where asking for past events could find them gone (the engine keeps only its last 256).
 */
async function recordEvents(): Promise<{ stop(): Promise<string[]> }> {
  const docker = await connectEngine();
  const abort = new AbortController();
  const stream = (await docker.getEvents({
    filters: { type: ["container"], event: ["create", "destroy"], label: [LABEL_PROJECT] },
    abortSignal: abort.signal,
  })) as NodeJS.ReadableStream;
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  stream.on("error", () => {});
  return {
    stop: async () => {
      // Events of the last removals are still on their way.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      abort.abort();
      return text.split("\n").filter(Boolean);
    },
  };
}

/** How many per-file stacks (not the global one) existed at one moment: a stack lives from its first container's `create` to its last `destroy`. */
function mostStacksAtOnce(events: readonly string[]): number {
  const lives = new Map<string, { from: number; to: number }>();
  for (const line of events) {
    const event = JSON.parse(line) as { timeNano: number; Actor: { Attributes: Record<string, string> } };
    const project = event.Actor.Attributes[LABEL_PROJECT];
    if (!project?.startsWith(PREFIX) || project.startsWith(`${PREFIX}-global`)) continue;
    const life = lives.get(project) ?? { from: event.timeNano, to: event.timeNano };
    lives.set(project, { from: Math.min(life.from, event.timeNano), to: Math.max(life.to, event.timeNano) });
  }
  const all = [...lives.values()];
  return Math.max(0, ...all.map((life) => all.filter((other) => other.from <= life.from && life.from < other.to).length));
}

/**
 * Issue 7: the documented vitest example (fixtures/render-supabase/tests/prodlike) passes as a
 * user would run it, its two per-file stacks exist at the same time, and it leaves nothing.
 */
describe("the vitest example", () => {
  it("passes, with the two test files' stacks up at the same time, and leaves nothing behind", async () => {
    expect((await exampleStacks()).size, "stacks of an earlier run of the example are still there").toBe(0);
    const events = await recordEvents();
    const child = spawn(process.execPath, [join(REPO, "node_modules", "vitest", "vitest.mjs"), "run", "--root", EXAMPLE], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: "1", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number>((resolve) => child.on("close", (exit) => resolve(exit ?? -1)));
    output = stripVTControlCharacters(output);

    expect(code, output.slice(-4000)).toBe(0);
    expect(output).toMatch(/Test Files\s+3 passed \(3\)/);
    expect(output).toMatch(/Tests\s+5 passed \(5\)/);
    const overlap = mostStacksAtOnce(await events.stop());
    expect(overlap, "the two files' stacks never existed at the same time").toBe(2);
    expect(await exampleStacks()).toEqual(new Set());
  });
});
