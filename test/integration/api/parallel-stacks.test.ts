import { afterAll, describe, expect, it } from "vitest";
import { up } from "../../../src/api.js";
import { connectEngine } from "../../../src/engine/docker.js";
import { LABEL_SERVICE } from "../../../src/engine/labels.js";
import { readState } from "../../../src/state.js";
import type { RunningStack } from "../../../src/stack.js";
import { copyFixture, leftovers } from "../../helpers/cli.js";

/**
 * Issue 7: two stacks of one folder in one process at once, through the library API: their own
 * names and free ports, one app image, both answering, no state file, nothing left after down.
 */
describe("two instances of one folder at once", () => {
  let fixture: Awaited<ReturnType<typeof copyFixture>> | undefined;
  const stacks: RunningStack[] = [];

  afterAll(async () => {
    await Promise.all(stacks.map((stack) => stack.down({ volumes: true })));
    await fixture?.dispose();
  });

  it("start side by side, answer on their own ports, share the build and leave nothing", async () => {
    fixture = await copyFixture("render-supabase");
    const started = await Promise.allSettled([up(fixture.dir, { instance: "a" }), up({ dir: fixture.dir, instance: "b", overrides: { env: { CONN_HEALTH_CHECKS: "true" } } })]);
    for (const result of started) if (result.status === "fulfilled") stacks.push(result.value);
    for (const result of started) if (result.status === "rejected") throw result.reason;
    const [a, b] = stacks as [RunningStack, RunningStack];

    expect([a.description.project, b.description.project]).toEqual([`${fixture.project}-a`, `${fixture.project}-b`]);
    expect(new URL(a.url).port).not.toBe(new URL(b.url).port);
    expect(new URL(a.url).port).not.toBe("8443");
    for (const stack of [a, b]) expect((await stack.fetch("/auth/health/")).status).toBe(200);
    // Each has its own database: a note written through one is not seen by the other.
    expect((await a.fetch("/notes/", { method: "POST", body: new URLSearchParams({ text: "only in a" }) })).status).toBe(201);
    const notesOf = async (stack: RunningStack) => ((await (await stack.fetch("/notes/")).json()) as { notes: { text: string }[] }).notes.map((n) => n.text);
    expect(await notesOf(a)).toContain("only in a");
    expect(await notesOf(b)).not.toContain("only in a");
    expect((await b.exec("printenv CONN_HEALTH_CHECKS")).stdout.trim()).toBe("true");

    // One build for both: the install-only build command reads nothing of the stack.
    const docker = await connectEngine();
    const images = await Promise.all(
      [a, b].map(async (stack) => {
        const [app] = await docker.listContainers({ filters: { label: [`prodlike.project=${stack.description.project}`, `${LABEL_SERVICE}=app`] } });
        return app?.Image;
      }),
    );
    expect(images[0]).toMatch(new RegExp(`^prodlike-app/${fixture.project}:`));
    expect(images[1]).toBe(images[0]);
    // Instances are their process's own: the folder's state file (the CLI's stack) is untouched.
    expect(await readState(fixture.dir)).toBeNull();

    await Promise.all(stacks.splice(0).map((stack) => stack.down({ volumes: true })));
    for (const project of [a.description.project, b.description.project]) {
      expect(await leftovers(project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    }
  });
});
