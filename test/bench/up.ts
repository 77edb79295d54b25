/**
 * Warm `up` (images and app image cached) to the first 200 through the front, side by side
 * with the bare minimum measured in the same run: the same containers started directly with
 * dockerode (no config, no state, no front) and gunicorn booted, polled until it answers 200.
 *
 *   npm run bench            (after one `up` of the fixture has built everything)
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { request } from "node:http";
import { Agent, fetch } from "undici";
import { readFile } from "node:fs/promises";
import { up } from "../../src/stack.js";
import { resolveStack } from "../../src/config/resolve.js";
import { connectEngine } from "../../src/engine/docker.js";
import { createContainer, ensureNetwork, publishedPort, removeStack, waitReady } from "../../src/engine/containers.js";
import { ensureImages } from "../../src/engine/images.js";
import { stackLabels } from "../../src/engine/labels.js";
import { silentLogger } from "../../src/logger.js";
import { SERVICES } from "../../src/services/definitions.js";
import { loadSecrets } from "../../src/state.js";
import { prodlikeHome } from "../../src/tls/ca.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const HEALTH = "/auth/health/";
const root = resolve(import.meta.dirname, "..", "..");

const parent = await mkdtemp(join(tmpdir(), "prodlike-bench-"));
const dir = join(parent, "render-supabase");
await cp(join(root, "fixtures", "render-supabase"), dir, { recursive: true });
const agent = new Agent({ connect: { ca: await readFile(join(prodlikeHome(), "ca", "ca.pem"), "utf8") } });

try {
  // Warm-up: builds the app image once; not measured.
  const first = await up(dir, { overrides: { httpsPort: 0, httpPort: 0 } });
  const appImage = (await (await connectEngine()).getContainer((await first.app.containerId())!).inspect()).Config.Image;
  await first.down();

  const prodlike: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    prodlike.push(await timeProdlike());
    bare.push(await timeBare(appImage));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p = median(prodlike);
  const b = median(bare);
  console.log(`up to first 200 (warm), median of ${RUNS}:`);
  console.log(`  prodlike up        ${(p / 1000).toFixed(2)} s   runs: ${prodlike.map((x) => (x / 1000).toFixed(2)).join(", ")}`);
  console.log(`  bare containers    ${(b / 1000).toFixed(2)} s   runs: ${bare.map((x) => (x / 1000).toFixed(2)).join(", ")}`);
  console.log(`  ratio              ${(p / b).toFixed(2)}x   (target <= 1.30x)`);
} finally {
  const docker = await connectEngine();
  const stack = await resolveStack(dir);
  await removeStack(docker, stack.project, { volumes: true });
  await removeStack(docker, `${stack.project}-bare`, { volumes: true });
  await rm(parent, { recursive: true, force: true });
}

async function timeProdlike(): Promise<number> {
  const started = performance.now();
  const stack = await up(dir, { overrides: { httpsPort: 0, httpPort: 0 } });
  await until200(() => fetch(`${stack.url}${HEALTH}`, { dispatcher: agent }).then((r) => r.status));
  const elapsed = performance.now() - started;
  await stack.down();
  return elapsed;
}

/** The same services and app image, started directly: what `up` cannot go below. */
async function timeBare(appImage: string): Promise<number> {
  const docker = await connectEngine();
  const description = await resolveStack(dir);
  const project = `${description.project}-bare`;
  const labels = stackLabels(project, dir);
  const logger = silentLogger();
  const secrets = await loadSecrets(dir, ["SECRET_KEY"]);
  const images = await ensureImages(docker, logger);
  const appContainer = await docker.getImage(appImage).inspect();
  const started = performance.now();
  await ensureNetwork(docker, project, labels);
  const start = async (service: (typeof SERVICES)[number]) => {
    const container = await createContainer(docker, {
      project,
      service: service.name,
      name: `prodlike-${project}-${service.name}`,
      image: images[service.image],
      labels,
      env: service.env(description, secrets),
      alias: service.name,
      volumes: service.volume ? { [`prodlike-${description.project}-${service.volume.purpose}`]: service.volume.path } : undefined,
    });
    await container.start();
    await waitReady(container, { what: service.name, timeoutMs: 60_000 });
  };
  await Promise.all([start(SERVICES[0]!).then(() => start(SERVICES[1]!)), start(SERVICES[2]!), start(SERVICES[3]!)]);
  const app = await createContainer(docker, {
    project,
    service: "app",
    name: `prodlike-${project}-app`,
    image: appImage,
    labels,
    env: Object.fromEntries((appContainer.Config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
    cmd: ["bash", "-c", `exec ${description.app.startCommand}`],
    workingDir: "/opt/render/project/src",
    alias: "app",
    publish: [10000],
    memoryMb: description.app.limits.memoryMb,
    cpus: description.app.limits.cpus,
  });
  await app.start();
  const port = await publishedPort(app, 10000);
  await until200(() => status(port));
  const elapsed = performance.now() - started;
  await removeStack(docker, project);
  return elapsed;
}

function status(port: number): Promise<number> {
  return new Promise((resolvePromise) => {
    const req = request({ host: "127.0.0.1", port, path: HEALTH, headers: { host: `render-supabase.onrender.com`, "x-forwarded-proto": "https" } }, (res) => {
      res.resume();
      resolvePromise(res.statusCode ?? 0);
    });
    req.on("error", () => resolvePromise(0));
    req.end();
  });
}

async function until200(probe: () => Promise<number>): Promise<void> {
  for (;;) {
    if ((await probe().catch(() => 0)) === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
