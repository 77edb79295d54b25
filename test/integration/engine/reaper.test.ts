import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureNetwork, removeStack } from "../../../src/engine/containers.js";
import { connectEngine, type Docker } from "../../../src/engine/docker.js";
import { LABEL_DIR, LABEL_OWNER, LABEL_PROJECT, stackLabels } from "../../../src/engine/labels.js";
import { currentOwner, formatOwner } from "../../../src/engine/owner.js";
import { sweepOrphans } from "../../../src/engine/reaper.js";
import { silentLogger } from "../../../src/logger.js";
import { createServer } from "node:net";
import { isProdlikeError } from "../../../src/errors.js";
import { up } from "../../../src/stack.js";
import { isAlive } from "../../../src/state.js";
import { copyFixture } from "../../helpers/cli.js";
import { countByLabel, startOwner, testProject, type OwnerChild } from "./helpers.js";

/** The reaper on the real engine: the watchdog after kill -9, and the sweep of dead owners. */
describe("reaper", () => {
  let docker: Docker;
  let parent: string;
  const projects: string[] = [];
  const children: OwnerChild[] = [];

  beforeAll(async () => {
    docker = await connectEngine();
    parent = await mkdtemp(join(tmpdir(), "prodlike-reaper-"));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.process.kill("SIGKILL");
      await child.exited;
    }
    for (const project of projects.splice(0)) await removeStack(docker, project);
  });

  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it("removes a killed owner's containers and network within 10 s (the watchdog)", async () => {
    const project = testProject("kill9");
    projects.push(project);
    const owner = await startOwner(project, join(parent, "kill9"));
    children.push(owner);
    expect(owner.watchdogPid, "the watchdog runs (is dist/ built?)").toBeGreaterThan(0);
    expect(await countByLabel(project, docker)).toEqual({ containers: 2, networks: 1 });

    const killed = Date.now();
    owner.process.kill("SIGKILL");
    await expect.poll(() => countByLabel(project, docker), { timeout: 20_000, interval: 100 }).toEqual({ containers: 0, networks: 0 });
    const latency = Date.now() - killed;
    console.log(`watchdog reap after kill -9: ${latency} ms`);
    expect(latency).toBeLessThan(10_000);
    // Its work done, the watchdog exits.
    await expect.poll(() => isAlive(owner.watchdogPid), { timeout: 10_000 }).toBe(false);
  });

  it("removes only the killed owner's stack, not another owner's", async () => {
    const doomed = testProject("doomed");
    const living = testProject("living");
    projects.push(doomed, living);
    const a = await startOwner(doomed, join(parent, "doomed"));
    const b = await startOwner(living, join(parent, "living"));
    children.push(a, b);
    a.process.kill("SIGKILL");
    await expect.poll(() => countByLabel(doomed, docker), { timeout: 15_000 }).toEqual({ containers: 0, networks: 0 });
    expect(await countByLabel(living, docker)).toEqual({ containers: 2, networks: 1 });
    expect(isAlive(b.watchdogPid)).toBe(true);
  });

  it("leaves a released stack alone when its owner dies", async () => {
    const project = testProject("released");
    projects.push(project);
    const owner = await startOwner(project, join(parent, "released"), "release");
    children.push(owner);
    owner.process.kill("SIGKILL");
    await owner.exited;
    // Nothing watched any more: the watchdog exits at once, without removing anything.
    await expect.poll(() => isAlive(owner.watchdogPid), { timeout: 10_000 }).toBe(false);
    expect(await countByLabel(project, docker)).toEqual({ containers: 2, networks: 1 });
  });

  it("sweeps the stack of a dead owner, keeps a live owner's and another host's", async () => {
    const dead = testProject("dead");
    const live = testProject("live");
    const foreign = testProject("foreign");
    const reused = testProject("reused");
    projects.push(dead, live, foreign, reused);
    // Owners without a watchdog: only the sweep can clean up after them.
    const a = await startOwner(dead, join(parent, "dead"), "no-watch");
    const b = await startOwner(live, join(parent, "live"), "no-watch");
    children.push(a, b);
    expect(a.watchdogPid).toBe(0);
    a.process.kill("SIGKILL");
    await a.exited;
    // A stack of a process on another host sharing the engine, and one whose pid (ours) was
    // reused: same pid, another start time.
    const me = currentOwner();
    await labelledNetwork(foreign, { [LABEL_OWNER]: formatOwner({ ...me, host: "ci-runner-7" }) });
    await labelledNetwork(reused, { [LABEL_OWNER]: formatOwner({ ...me, start: String(Number(me.start) - 1) }) });

    const started = Date.now();
    const swept = await sweepOrphans(docker, silentLogger());
    console.log(`sweep: ${Date.now() - started} ms, ${swept.length} stack(s) removed`);
    const mine = Object.fromEntries(swept.filter((s) => projects.includes(s.project)).map((s) => [s.project, s]));
    expect(Object.keys(mine).sort()).toEqual([dead, reused].sort());
    expect([...mine[dead]!.containers].sort()).toEqual([`prodlike-${dead}-one`, `prodlike-${dead}-two`]);
    expect(mine[dead]!.networks).toEqual([`prodlike-${dead}`]);
    expect(mine[dead]!.ownerPid).toBe(a.pid);
    expect(await countByLabel(dead, docker)).toEqual({ containers: 0, networks: 0 });
    expect(await countByLabel(reused, docker)).toEqual({ containers: 0, networks: 0 });
    expect(await countByLabel(live, docker)).toEqual({ containers: 2, networks: 1 });
    expect(await countByLabel(foreign, docker)).toEqual({ containers: 0, networks: 1 });
    const idle = Date.now();
    await sweepOrphans(docker, silentLogger());
    console.log(`sweep with nothing to remove: ${Date.now() - idle} ms`);
    // Volumes are the user's data: the sweep never touches them.
    const volume = await docker.createVolume({ Name: `prodlike-${dead}-pgdata`, Labels: { [LABEL_PROJECT]: dead, [LABEL_DIR]: join(parent, "dead"), [LABEL_OWNER]: formatOwner({ ...me, pid: a.pid }) } });
    await sweepOrphans(docker, silentLogger());
    expect((await docker.getVolume(volume.name).inspect()).Name).toBe(`prodlike-${dead}-pgdata`);
    await docker.getVolume(volume.name).remove();
  });

  it("up() sweeps the leftovers of dead owners before its own Docker work", async () => {
    const dead = testProject("up-sweep");
    projects.push(dead);
    const owner = await startOwner(dead, join(parent, "up-sweep"), "no-watch");
    owner.process.kill("SIGKILL");
    await owner.exited;
    expect(await countByLabel(dead, docker)).toEqual({ containers: 2, networks: 1 });
    // A taken port makes this up() fail fast, after the sweep and before any build.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const fixture = await copyFixture("render-supabase");
    try {
      const port = (blocker.address() as { port: number }).port;
      const error = await up(fixture.dir, { overrides: { httpsPort: port, httpPort: 0 } }).catch((err: unknown) => err);
      expect(isProdlikeError(error, "PORT_TAKEN"), String(error)).toBe(true);
      expect(await countByLabel(dead, docker)).toEqual({ containers: 0, networks: 0 });
      expect(await countByLabel(fixture.project, docker)).toEqual({ containers: 0, networks: 0 });
    } finally {
      blocker.close();
      await fixture.dispose();
    }
  });

  async function labelledNetwork(project: string, extra: Record<string, string>): Promise<void> {
    await ensureNetwork(docker, project, { ...stackLabels(project, join(parent, project)), ...extra });
  }
});
