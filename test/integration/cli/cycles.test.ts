import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFixture, leftovers, runCli } from "../../helpers/cli.js";
import { seededDelays, sigintCycle } from "./cycles-run.js";

const CYCLES = Number(process.env.PRODLIKE_CYCLES ?? 10);
const SEED = Number(process.env.PRODLIKE_CYCLES_SEED ?? Date.now() % 100_000);

/**
 * Ctrl-C at random points of `prodlike up`, again and again on one project: after each exit,
 * nothing labelled with the stack is left (containers, network); the volumes stay for the next
 * up, as they do after a normal Ctrl-C, and go with the final `down --volumes`.
 */
describe(`${CYCLES} cycles of up + Ctrl-C at a random point (seed ${SEED})`, () => {
  let fixture: Awaited<ReturnType<typeof copyFixture>>;

  beforeAll(async () => {
    fixture = await copyFixture("render-supabase");
  });

  afterAll(async () => {
    if (!fixture) return;
    const down = await runCli(["down", fixture.dir, "--volumes"]);
    expect(down.code, down.stderr).toBe(0);
    expect(await leftovers(fixture.project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    await fixture.dispose();
  });

  it("leaves no container or network behind after any of them", { timeout: CYCLES * 240_000 }, async () => {
    // Up to 25 s: from before prodlike's signal handler exists to a stack that is fully up.
    const delays = seededDelays(SEED, CYCLES, 25_000);
    const results = [];
    for (const [i, delay] of delays.entries()) {
      const cycle = await sigintCycle(fixture.dir, fixture.project, delay);
      console.log(
        `cycle ${i + 1}: SIGINT at ${(delay / 1000).toFixed(1)} s (${cycle.wasUp ? "up" : "starting"}), exit ${cycle.exit} after ${(cycle.ms / 1000).toFixed(1)} s, ` +
          `left at exit ${cycle.atExit.containers}c/${cycle.atExit.networks}n, settled ${cycle.settled.containers}c/${cycle.settled.networks}n, watchdogs ${cycle.watchdogs}`,
      );
      results.push(cycle);
      expect(cycle.settled, `cycle ${i + 1} (SIGINT at ${delay} ms) left resources; its stderr:\n${cycle.stderrTail}`).toEqual({ containers: 0, networks: 0 });
      // Ctrl-C is a clean stop: 0 (was up), 130 (interrupted while starting), or the signal itself before the handler existed.
      expect(["0", "130", "SIGINT"]).toContain(cycle.exit);
      // And no process of it is left: its watchdog exits with it.
      expect(cycle.watchdogs).toBe(0);
    }
    // The CLI itself takes its stack down before exiting: nothing should wait for the watchdog.
    expect(results.filter((r) => r.atExit.containers + r.atExit.networks > 0)).toEqual([]);
  });
});
