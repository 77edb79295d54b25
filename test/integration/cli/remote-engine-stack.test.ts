import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABEL_PROJECT } from "../../../src/engine/labels.js";
import { copyFixture, fetchApp, leftovers, parseUp, runCli } from "../../helpers/cli.js";
import { startRemoteEngine, type RemoteEngine } from "../../helpers/remote-engine.js";

const ENGINE = "it-stack";

/**
 * A remote engine: a second dockerd in its own network namespace, reachable from here only at
 * tcp://<its address>:2375, as a team's CI machine would be. With DOCKER_HOST pointing at it,
 * `prodlike up -d` builds every image there, publishes the front, the links and the control API
 * on that address, and the same sequence as on a local engine passes from this host.
 */
describe("prodlike against a remote engine (DOCKER_HOST=tcp://…)", () => {
  let engine: RemoteEngine;
  let remote: Docker;
  let fixture: Awaited<ReturnType<typeof copyFixture>>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    engine = await startRemoteEngine(ENGINE);
    remote = new Docker({ host: engine.address, port: 2375 });
    fixture = await copyFixture("render-supabase");
    // The engine's own socket, on its host, for the platform container to mount.
    env = { DOCKER_HOST: engine.dockerHost, PRODLIKE_ENGINE_SOCKET: `/run/prodlike-test/${ENGINE}/exec/docker.sock` };
  }, 300_000);

  afterAll(async () => {
    if (fixture) {
      await runCli(["down", fixture.dir, "--volumes"], { env }).catch(() => undefined);
      await fixture.dispose();
    }
    await engine?.stop();
  }, 300_000);

  const labelled = async () => {
    const filters = { label: [`${LABEL_PROJECT}=${fixture.project}`] };
    const [containers, networks] = await Promise.all([remote.listContainers({ all: true, filters }), remote.listNetworks({ filters })]);
    return { containers: containers.length, networks: networks.length };
  };

  it("up -d builds there; health, the 500 after idle, the fix, down: nothing left on either engine", async () => {
    const up = await runCli(["up", "-d", fixture.dir, "--plan", "starter", "-e", "CONN_MAX_AGE=600"], { env, timeoutMs: 1_200_000 });
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    const { url, env: hostEnv } = parseUp(up.stdout);
    // Published on the engine's address, the host DOCKER_HOST names.
    expect(new URL(url).hostname).toBe(engine.address);
    expect(new URL(hostEnv.DATABASE_URL!).hostname).toBe(engine.address);
    expect((await fetchApp(`${url}/auth/health/`)).status).toBe(200);
    // The stack runs there, not here.
    expect((await labelled()).containers).toBe(6);
    expect(await leftovers(fixture.project)).toMatchObject({ containers: 0, networks: 0 });

    expect((await runCli(["idle", "16m", fixture.dir], { env })).code).toBe(0);
    expect((await fetchApp(`${url}/auth/health/`)).status).toBe(500);
    expect((await fetchApp(`${url}/auth/health/`)).status).toBe(200);
    expect((await runCli(["down", fixture.dir], { env })).code).toBe(0);
    expect(await labelled()).toEqual({ containers: 0, networks: 0 });

    const fixed = await runCli(["up", "-d", fixture.dir, "--plan", "starter", "-e", "CONN_MAX_AGE=600", "-e", "CONN_HEALTH_CHECKS=true"], { env });
    expect(fixed.code, fixed.stderr.slice(-3000)).toBe(0);
    const again = parseUp(fixed.stdout).url;
    expect((await fetchApp(`${again}/auth/health/`)).status).toBe(200);
    expect((await runCli(["idle", "16m", fixture.dir], { env })).code).toBe(0);
    expect((await fetchApp(`${again}/auth/health/`)).status).toBe(200);
    expect((await runCli(["down", fixture.dir], { env })).code).toBe(0);
    expect(await labelled()).toEqual({ containers: 0, networks: 0 });
    expect(await leftovers(fixture.project)).toMatchObject({ containers: 0, networks: 0 });
  }, 1_500_000);
});
