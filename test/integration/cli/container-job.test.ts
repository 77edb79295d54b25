import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectName } from "../../../src/config/resolve.js";
import { connectEngine, type Docker } from "../../../src/engine/docker.js";
import { execCapture } from "../../../src/engine/exec.js";
import { ensurePlatformImage } from "../../../src/engine/platform-image.js";
import { silentLogger } from "../../../src/logger.js";
import { copyFixture, leftovers, REPO } from "../../helpers/cli.js";

const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
/** The project as the job sees it: its folder there names the stack. */
const JOB_DIR = "/work/app";
const project = projectName(JOB_DIR);

/**
 * A CI container job (GitHub Actions `container:`, GitLab's docker executor): prodlike runs in a
 * container that has only the engine's socket, the checkout and the project mounted, no access
 * to the engine host's loopback. It joins the stack's network and reaches the front, the links
 * and the control API by name. The job's container is this machine's platform image (Node.js
 * for Linux), with prodlike's checkout mounted as a job would have it.
 */
describe("prodlike in a container job with only the engine socket", () => {
  let docker: Docker;
  let fixture: Awaited<ReturnType<typeof copyFixture>>;
  let job: string;

  const run = async (command: string) => {
    const result = await execCapture(docker, job, ["sh", "-c", command]);
    return { code: result.exitCode, out: `${result.stdout}${result.stderr}` };
  };
  const prodlike = (args: string) => run(`node /prodlike/bin/prodlike.js --log-format json ${args}`);
  /** GET through the front from inside the job, trusting prodlike's CA as the job's own tests would. */
  const get = async (url: string) => {
    const script =
      "const https=require('https');const fs=require('fs');" +
      "https.get(process.argv[1],{ca:fs.readFileSync('/root/.prodlike/ca/ca.pem')},r=>{console.log(r.statusCode);r.resume()})" +
      ".on('error',e=>{console.log('error '+e.message);process.exitCode=1})";
    const result = await run(`node -e "${script}" '${url}'`);
    return result.out.trim();
  };

  beforeAll(async () => {
    docker = await connectEngine();
    fixture = await copyFixture("render-supabase");
    const image = await ensurePlatformImage(docker, silentLogger());
    const binds = ["/var/run/docker.sock:/var/run/docker.sock", `${REPO}:/prodlike:ro`, `${fixture.dir}:${JOB_DIR}`];
    // A job image has the CA bundle of its network (this machine's intercepts TLS: pip needs it).
    if (existsSync(HOST_CA_BUNDLE)) binds.push(`${HOST_CA_BUNDLE}:${HOST_CA_BUNDLE}:ro`);
    const container = await docker.createContainer({
      Image: image,
      Entrypoint: ["sleep", "infinity"],
      Labels: { "prodlike.test": "container-job" },
      HostConfig: { Binds: binds, AutoRemove: false },
    });
    await container.start();
    job = container.id;
  }, 120_000);

  afterAll(async () => {
    if (job) {
      await prodlike("down --all /work").catch(() => undefined);
      await docker.getContainer(job).remove({ force: true }).catch(() => undefined);
    }
    if (fixture) {
      const volumes = (await docker.listVolumes({ filters: { label: [`prodlike.project=${project}`] } })).Volumes ?? [];
      for (const volume of volumes) await docker.getVolume(volume.Name).remove().catch(() => undefined);
      await fixture.dispose();
    }
  });

  it("up -d, the 500 after idle with CONN_MAX_AGE=600, the fix with CONN_HEALTH_CHECKS, down leaves nothing", async () => {
    const up = await prodlike(`up -d ${JOB_DIR} --plan starter -e CONN_MAX_AGE=600`);
    expect(up.code, up.out.slice(-3000)).toBe(0);
    const url = /^APP_URL=(\S+)$/m.exec(up.out)?.[1];
    // Reached by the platform's container name on the stack network, not through the engine host's loopback.
    expect(url).toBe(`https://prodlike-${project}-platform:8443`);
    expect(await get(`${url}/auth/health/`)).toBe("200");

    expect((await prodlike(`idle 16m ${JOB_DIR}`)).code).toBe(0);
    expect(await get(`${url}/auth/health/`)).toBe("500");
    expect(await get(`${url}/auth/health/`)).toBe("200");

    const down = await prodlike(`down ${JOB_DIR}`);
    expect(down.code, down.out).toBe(0);
    expect(await leftovers(project)).toMatchObject({ containers: 0, networks: 0 });

    const fixed = await prodlike(`up -d ${JOB_DIR} --plan starter -e CONN_MAX_AGE=600 -e CONN_HEALTH_CHECKS=true`);
    expect(fixed.code, fixed.out.slice(-3000)).toBe(0);
    expect(await get(`${url}/auth/health/`)).toBe("200");
    expect((await prodlike(`idle 16m ${JOB_DIR}`)).code).toBe(0);
    expect(await get(`${url}/auth/health/`)).toBe("200");
    expect((await prodlike(`down ${JOB_DIR}`)).code).toBe(0);
    expect(await leftovers(project)).toMatchObject({ containers: 0, networks: 0 });
  }, 600_000);
});
