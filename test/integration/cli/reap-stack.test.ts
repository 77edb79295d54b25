import { afterEach, describe, expect, it } from "vitest";
import { downFixture, leftovers, upForeground, type FixtureStack } from "../../helpers/cli.js";

/**
 * The promise of the reaper on a whole stack: kill -9 of the process that owns it (a foreground
 * `prodlike up`), and its containers and network are gone within 10 s; the volumes stay.
 * Two things remove it: the host-side watchdog, and the platform container itself, which sees
 * its owner's connection close (Ryuk's rule). Each is tested alone.
 */
describe("kill -9 of a stack's owner process", () => {
  let stack: { fixture: FixtureStack["fixture"] } | undefined;

  afterEach(async () => {
    await downFixture(stack);
    stack = undefined;
  });

  const killAndWait = async (env: NodeJS.ProcessEnv, what: string) => {
    const { fixture, child } = await upForeground("render-supabase", { env });
    stack = { fixture };
    const before = await leftovers(fixture.project);
    // app, minio, pgbouncer, platform, postgres, redis
    expect(before.containers).toBe(6);
    expect(before.networks).toBe(1);

    const killed = Date.now();
    child.kill("SIGKILL");
    await expect.poll(async () => {
      const now = await leftovers(fixture.project);
      return { containers: now.containers, networks: now.networks };
    }, { timeout: 30_000, interval: 200 }).toEqual({ containers: 0, networks: 0 });
    const latency = Date.now() - killed;
    console.log(`${what}: containers and network gone ${latency} ms after kill -9`);
    expect(latency).toBeLessThan(10_000);
    // The data is the user's: the volumes stay for the next up (downFixture removes them).
    expect((await leftovers(fixture.project)).volumes).toBe(before.volumes);
  };

  it("leaves no container or network 10 s later (watchdog and platform)", async () => {
    await killAndWait({}, "watchdog and platform");
  });

  it("leaves none when only the platform watches its owner (no host watchdog: a remote engine's case)", async () => {
    await killAndWait({ PRODLIKE_WATCHDOG: "off" }, "platform alone");
  });
});
