import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABEL_PROJECT } from "../../../src/engine/labels.js";
import { copyFixture, fetchApp, leftovers, parseUp, REPO, runCli } from "../../helpers/cli.js";

/** Why rootless Podman cannot be set up here by scripts/podman.sh, or undefined when it can. */
function podmanUnsupported(): string | undefined {
  if (process.platform !== "linux") return `scripts/podman.sh needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return "scripts/podman.sh needs root (it installs podman and makes a user)";
  if (!existsSync("/usr/bin/podman") && !existsSync("/usr/bin/apt-get")) return "no podman and no apt-get to install it";
  return undefined;
}

/** bash scripts/podman.sh ARGS: its stdout (DOCKER_HOST=… for start); rejects with its log on failure. */
function podmanScript(args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["scripts/podman.sh", ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Its own process group: a timeout ends the script and what it waits on (apt-get), not the
    // service it started (setsid: a session of its own; `stop` ends that one by its pid).
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`scripts/podman.sh ${args.join(" ")} failed (${code}):\n${stderr}${stdout}`));
    });
  });
}

const unsupported = podmanUnsupported();

/**
 * Rootless Podman 4.x through its Docker-compatible socket (scripts/podman.sh: user
 * prodlike-podman, DOCKER_HOST=unix:///run/user/<uid>/podman/podman.sock), as docs/podman.md
 * describes. Root runs prodlike; the engine is that user's. The same sequence as on Docker:
 * `up -d`, health 200, the 500 after idle then 200, the fix, `down --volumes`: nothing left there.
 * The first run builds every image in Podman's own store (and the base image with debootstrap);
 * the images stay for the next run, except this test's app images.
 */
// Locally a machine that cannot may skip it; in CI a missing piece fails the run (beforeAll throws).
describe.skipIf(unsupported !== undefined && process.env.CI !== "true")("prodlike against rootless Podman (DOCKER_HOST=unix://…/podman.sock)", () => {
  let podman: Docker | undefined;
  let fixture: Awaited<ReturnType<typeof copyFixture>> | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (unsupported) throw new Error(`rootless Podman cannot run here: ${unsupported}`);
    const started = Date.now();
    const out = await podmanScript(["start"], 1_200_000);
    const dockerHost = /^DOCKER_HOST=(unix:\/\/\S+)$/m.exec(out)?.[1];
    if (!dockerHost) throw new Error(`no DOCKER_HOST=unix://… line from scripts/podman.sh start:\n${out}`);
    console.log(`podman service at ${dockerHost} in ${Date.now() - started} ms`);
    // The platform mounts the socket at DOCKER_HOST's path (engineSocketPath).
    env = { DOCKER_HOST: dockerHost };
    podman = new Docker({ socketPath: dockerHost.slice("unix://".length) });
    fixture = await copyFixture("render-supabase");
  }, 1_300_000);

  afterAll(async () => {
    try {
      if (fixture) {
        await runCli(["down", fixture.dir, "--volumes"], { env }).catch(() => undefined);
        // The app images of this (temporary) project: each run's project is a new one.
        const images = await podman?.listImages({ filters: { label: [`${LABEL_PROJECT}=${fixture.project}`] } }).catch(() => []);
        for (const image of images ?? []) await podman!.getImage(image.Id).remove({ force: true }).catch(() => undefined);
        await fixture.dispose();
      }
    } finally {
      // Removes that user's containers, networks and volumes, ends the service and its processes.
      await podmanScript(["stop"], 180_000);
    }
  }, 400_000);

  const labelled = async () => {
    const filters = { label: [`${LABEL_PROJECT}=${fixture!.project}`] };
    const [containers, networks, volumes] = await Promise.all([
      podman!.listContainers({ all: true, filters }),
      podman!.listNetworks({ filters }),
      podman!.listVolumes({ filters }),
    ]);
    return { containers: containers.length, networks: networks.length, volumes: volumes.Volumes?.length ?? 0 };
  };

  it("up -d there; health, the 500 after idle, the fix, down --volumes: nothing left on either engine", async () => {
    const dir = fixture!.dir;
    const args = ["up", "-d", dir, "--plan", "starter", "-e", "CONN_MAX_AGE=600", "--port", "0", "--http-port", "0"];
    const up = await runCli(args, { env, timeoutMs: 2_400_000 });
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    const { url } = parseUp(up.stdout);
    expect(new URL(url).hostname).toBe("127.0.0.1");
    expect((await fetchApp(`${url}/auth/health/`)).status).toBe(200);
    // The stack runs in Podman, not in the machine's Docker engine.
    expect((await labelled()).containers).toBe(6);
    expect(await leftovers(fixture!.project)).toMatchObject({ containers: 0, networks: 0 });

    expect((await runCli(["idle", "16m", dir], { env })).code).toBe(0);
    expect((await fetchApp(`${url}/auth/health/`)).status).toBe(500);
    expect((await fetchApp(`${url}/auth/health/`)).status).toBe(200);
    const down = await runCli(["down", dir, "--volumes"], { env });
    expect(down.code, down.stderr).toBe(0);
    expect(await labelled()).toEqual({ containers: 0, networks: 0, volumes: 0 });

    const fixed = await runCli([...args, "-e", "CONN_HEALTH_CHECKS=true"], { env });
    expect(fixed.code, fixed.stderr.slice(-3000)).toBe(0);
    const again = parseUp(fixed.stdout).url;
    expect((await fetchApp(`${again}/auth/health/`)).status).toBe(200);
    expect((await runCli(["idle", "16m", dir], { env })).code).toBe(0);
    expect((await fetchApp(`${again}/auth/health/`)).status).toBe(200);
    const downAgain = await runCli(["down", dir, "--volumes"], { env });
    expect(downAgain.code, downAgain.stderr).toBe(0);
    expect(await labelled()).toEqual({ containers: 0, networks: 0, volumes: 0 });
    expect(await leftovers(fixture!.project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
  }, 2_700_000);
});
