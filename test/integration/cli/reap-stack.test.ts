import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive } from "../../../src/state.js";
import { downFixture, leftovers, upFixture, type FixtureStack } from "../../helpers/cli.js";

/** The promise of the reaper on a whole stack: kill -9 of `up -d`'s process, and its containers are gone within 10 s. */
describe("kill -9 of a stack's process", () => {
  let stack: FixtureStack | undefined;

  afterAll(async () => {
    await downFixture(stack);
  });

  it("leaves no container or network of render-supabase 10 s later (volumes stay)", async () => {
    stack = await upFixture("render-supabase");
    const state = JSON.parse(await readFile(join(stack.fixture.dir, ".prodlike", "state.json"), "utf8")) as { pid: number; status: string };
    expect(state.status).toBe("running");
    expect(isAlive(state.pid)).toBe(true);
    const before = await leftovers(stack.fixture.project);
    expect(before.containers).toBe(5);
    expect(before.networks).toBe(1);

    const killed = Date.now();
    process.kill(state.pid, "SIGKILL");
    await expect.poll(async () => {
      const now = await leftovers(stack!.fixture.project);
      return { containers: now.containers, networks: now.networks };
    }, { timeout: 30_000, interval: 200 }).toEqual({ containers: 0, networks: 0 });
    const latency = Date.now() - killed;
    console.log(`full stack: containers and network gone ${latency} ms after kill -9`);
    expect(latency).toBeLessThan(10_000);
    // The data is the user's: the volumes stay for the next up (downFixture removes them).
    expect((await leftovers(stack.fixture.project)).volumes).toBe(before.volumes);
  });
});
