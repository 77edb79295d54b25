import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { removeStack } from "../../../src/engine/containers.js";
import { connectEngine, type Docker } from "../../../src/engine/docker.js";
import { LABEL_DIR, LABEL_OWNER, LABEL_PROJECT, LABEL_SERVICE, stackLabels } from "../../../src/engine/labels.js";
import { currentOwner, formatOwner } from "../../../src/engine/owner.js";
import { runCli } from "../../helpers/cli.js";
import { countByLabel, startOwner, testProject, type OwnerChild } from "../engine/helpers.js";

/** `prodlike down --all` and `prodlike prune` on the real engine, scoped to a temp folder so other stacks on the engine are safe. */
describe("down --all and prune", () => {
  let docker: Docker;
  let parent: string;
  let outside: string;
  const projects: string[] = [];
  const children: OwnerChild[] = [];
  const images: string[] = [];

  beforeAll(async () => {
    docker = await connectEngine();
    parent = await mkdtemp(join(tmpdir(), "prodlike-reap-cli-"));
    outside = await mkdtemp(join(tmpdir(), "prodlike-reap-outside-"));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.process.kill("SIGKILL");
      await child.exited;
    }
    for (const project of projects.splice(0)) await removeStack(docker, project, { volumes: true });
    for (const image of images.splice(0)) await docker.getImage(image).remove({ force: true }).catch(() => {});
  });

  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it("down --all <folder> stops the owners of the stacks inside it, removes their containers, networks and (--volumes) volumes", async () => {
    const a = testProject("all-a");
    const b = testProject("all-b");
    const c = testProject("all-out");
    projects.push(a, b, c);
    const ownerA = await startOwner(a, join(parent, "a"));
    const ownerB = await startOwner(b, join(parent, "b"), "no-watch");
    const ownerC = await startOwner(c, join(outside, "c"));
    children.push(ownerA, ownerB, ownerC);
    await docker.createVolume({ Name: `prodlike-${a}-pgdata`, Labels: stackLabels(a, join(parent, "a")) });

    const result = await runCli(["down", "--all", parent, "--volumes", "--timeout", "10"], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`down: ${a} (${join(parent, "a")}): stopped pid ${ownerA.pid}; removed 2 container(s) [prodlike-${a}-one, prodlike-${a}-two]`);
    expect(result.stdout).toContain(`1 network(s) [prodlike-${a}], 1 volume(s) [prodlike-${a}-pgdata]`);
    expect(result.stdout).toContain(`down: ${b} (${join(parent, "b")}): stopped pid ${ownerB.pid}; removed 2 container(s)`);
    expect(result.stdout).toMatch(/down --all: 2 stack\(s\) with a project folder inside .*: removed 4 container\(s\), 2 network\(s\), 1 volume\(s\)/);
    // The owners got SIGTERM, as `prodlike down` sends one.
    expect(await ownerA.exited).toEqual([null, "SIGTERM"]);
    expect(await ownerB.exited).toEqual([null, "SIGTERM"]);
    expect(await countByLabel(a, docker)).toEqual({ containers: 0, networks: 0 });
    expect(await countByLabel(b, docker)).toEqual({ containers: 0, networks: 0 });
    expect((await docker.listVolumes({ filters: { label: [`${LABEL_PROJECT}=${a}`] } })).Volumes ?? []).toHaveLength(0);
    // A stack outside the folder is not touched.
    expect(await countByLabel(c, docker)).toEqual({ containers: 2, networks: 1 });
    expect(ownerC.process.exitCode).toBeNull();

    const again = await runCli(["down", "--all", parent]);
    expect(again.stdout).toContain(`down --all: no prodlike stack with a project folder inside ${parent}`);
  });

  it("prune --dry-run lists and prune removes: dead stacks, stale app images, stopped builds, and (--volumes) data of deleted projects", async () => {
    const dead = testProject("prune-dead");
    const gone = testProject("prune-gone");
    const kept = testProject("prune-kept");
    projects.push(dead, gone, kept);
    const goneDir = join(parent, "gone"); // never created: the project folder was deleted
    const keptDir = join(parent, "kept");
    await mkdir(keptDir, { recursive: true });

    // A stack whose owner was killed, without a watchdog (the sweep's case).
    const owner = await startOwner(dead, join(parent, "dead"), "no-watch");
    owner.process.kill("SIGKILL");
    await owner.exited;
    // App images: one of a deleted project, two builds of a live project (the older one goes).
    await appImage(gone, goneDir, "aaa");
    await appImage(kept, keptDir, "old");
    await new Promise((resolve) => setTimeout(resolve, 1100)); // Created has a 1 s resolution
    await appImage(kept, keptDir, "new");
    // A stopped build container without an owner label (older prodlike): the sweep cannot judge it, prune takes it.
    const deadOwner = formatOwner({ ...currentOwner(), pid: owner.pid });
    const build = await docker.createContainer({
      name: `prodlike-${kept}-build`,
      Image: "debian:bookworm-slim",
      Cmd: ["true"],
      Labels: { [LABEL_PROJECT]: kept, [LABEL_DIR]: keptDir, [LABEL_SERVICE]: "build" },
    });
    await build.start();
    await build.wait();
    await docker.createVolume({ Name: `prodlike-${gone}-pgdata`, Labels: { [LABEL_PROJECT]: gone, [LABEL_DIR]: goneDir, [LABEL_OWNER]: deadOwner } });
    await docker.createVolume({ Name: `prodlike-${kept}-pgdata`, Labels: { [LABEL_PROJECT]: kept, [LABEL_DIR]: keptDir, [LABEL_OWNER]: deadOwner } });

    const dry = await runCli(["prune", "--dry-run", "--under", parent]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("prune: would remove 1 stack(s) of dead processes (2 container(s), 1 network(s))");
    expect(dry.stdout).toContain(`  ${dead} (pid ${owner.pid}): `);
    expect(dry.stdout).toContain("prune: would remove 2 app image(s)");
    expect(dry.stdout).toContain(`  prodlike-app/${gone}:aaa (project folder gone)`);
    expect(dry.stdout).toContain(`  prodlike-app/${kept}:old (a newer build exists)`);
    expect(dry.stdout).not.toContain(`prodlike-app/${kept}:new`);
    expect(dry.stdout).toContain("prune: would remove 1 stopped build/pre-deploy container(s)");
    expect(dry.stdout).toContain(`  prodlike-${kept}-build (it has no owner label)`);
    expect(dry.stdout).toContain("prune: kept 1 volume(s) of deleted projects (--volumes deletes them)");
    expect(dry.stdout).toContain(`  prodlike-${gone}-pgdata (project folder gone)`);
    // A dry run removes nothing.
    expect(await countByLabel(dead, docker)).toEqual({ containers: 2, networks: 1 });
    expect(await countByLabel(kept, docker)).toEqual({ containers: 1, networks: 0 });
    expect(await imageExists(`prodlike-app/${gone}:aaa`)).toBe(true);

    const real = await runCli(["prune", "--under", parent]);
    expect(real.code, real.stdout + real.stderr).toBe(0);
    expect(real.stdout).toContain("prune: removed 1 stack(s) of dead processes (2 container(s), 1 network(s))");
    expect(real.stdout).toContain("prune: removed 2 app image(s)");
    expect(await countByLabel(dead, docker)).toEqual({ containers: 0, networks: 0 });
    expect(await countByLabel(kept, docker)).toEqual({ containers: 0, networks: 0 });
    expect(await imageExists(`prodlike-app/${gone}:aaa`)).toBe(false);
    expect(await imageExists(`prodlike-app/${kept}:old`)).toBe(false);
    expect(await imageExists(`prodlike-app/${kept}:new`)).toBe(true);
    expect(await volumeExists(`prodlike-${gone}-pgdata`)).toBe(true);

    const volumes = await runCli(["prune", "--volumes", "--under", parent]);
    expect(volumes.stdout).toContain("prune: removed 1 volume(s) of deleted projects");
    expect(await volumeExists(`prodlike-${gone}-pgdata`)).toBe(false);
    // The data of a project whose folder exists stays.
    expect(await volumeExists(`prodlike-${kept}-pgdata`)).toBe(true);
  });

  async function appImage(project: string, dir: string, tag: string): Promise<void> {
    const container = await docker.createContainer({ Image: "debian:bookworm-slim", Cmd: ["true"], Labels: { ...stackLabels(project, dir), [LABEL_SERVICE]: "build" } });
    await container.commit({ repo: `prodlike-app/${project}`, tag, changes: [`LABEL prodlike.inputs=${tag}`] } as object);
    await container.remove({ force: true });
    images.push(`prodlike-app/${project}:${tag}`);
  }

  async function imageExists(name: string): Promise<boolean> {
    return (await docker.getImage(name).inspect().catch(() => null)) !== null;
  }

  async function volumeExists(name: string): Promise<boolean> {
    return (await docker.getVolume(name).inspect().catch(() => null)) !== null;
  }
});
