import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { resolveStack, type StackOverrides } from "./config/resolve.js";
import type { StackDescription } from "./config/types.js";
import { buildApp, PIP_CACHE_VOLUME, APP_SOURCE_DIR } from "./engine/app-build.js";
import { createContainer, ensureNetwork, ensureVolume, publishedPort, removeStack, waitReady } from "./engine/containers.js";
import { connectEngine, type Docker } from "./engine/docker.js";
import { ensureImages } from "./engine/images.js";
import { containerName, stackLabels } from "./engine/labels.js";
import { runOneOff } from "./engine/one-off.js";
import { ProdlikeError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { AppInstance } from "./services/app.js";
import { appEnv, instanceEnv, postgresUrl, type AppEndpoints, type GitInfo } from "./services/app-env.js";
import { PGBOUNCER_PORT, SERVICES, type ServiceDefinition } from "./services/definitions.js";
import { clearState, isAlive, loadSecrets, readState, writeState, type Secrets } from "./state.js";
import { VirtualClock, type Clock } from "./clock.js";
import { assertPortFree, createEdge, type AppBackend, type Edge } from "./edge/index.js";

export interface UpOptions {
  readonly logger?: Logger;
  readonly overrides?: StackOverrides;
  /** Called once the stack description is resolved (warnings, the plan) and before Docker work. */
  readonly onResolved?: (stack: StackDescription) => void;
}

export interface HostEnv {
  readonly APP_URL: string;
  readonly DATABASE_URL: string;
  readonly REDIS_URL: string;
  readonly S3_ENDPOINT: string;
  readonly [key: string]: string;
}

/** A stack that runs: the containers, the app and the edge. Stop it with `down()`. */
export class RunningStack implements AsyncDisposable {
  readonly description: StackDescription;
  readonly url: string;
  readonly httpUrl: string;
  readonly env: HostEnv;
  readonly app: AppInstance;
  readonly #docker: Docker;
  readonly edge: Edge;
  readonly clock: Clock;
  readonly #logger: Logger;
  #stopping: Promise<void> | undefined;

  constructor(parts: { description: StackDescription; docker: Docker; edge: Edge; clock: Clock; app: AppInstance; env: HostEnv; logger: Logger }) {
    this.description = parts.description;
    this.#docker = parts.docker;
    this.edge = parts.edge;
    this.clock = parts.clock;
    this.app = parts.app;
    this.env = parts.env;
    this.url = parts.edge.httpsUrl;
    this.httpUrl = parts.edge.httpUrl;
    this.#logger = parts.logger;
  }

  /** Stop the edge, remove containers and network; volumes only when asked. Idempotent. */
  down(options: { volumes?: boolean } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info({ project: this.description.project }, "stopping the stack");
      await this.edge.stop();
      await this.app.stop();
      await removeStack(this.#docker, this.description.project, options);
      const state = await readState(this.description.dir);
      if (state?.pid === process.pid) await clearState(this.description.dir);
    })();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }
}

export async function up(dir: string, options: UpOptions = {}): Promise<RunningStack> {
  const logger = options.logger ?? silentLogger();
  const description = await resolveStack(dir, options.overrides);
  options.onResolved?.(description);
  const { project } = description;

  const previous = await readState(description.dir);
  if (previous && previous.pid !== process.pid && isAlive(previous.pid) && previous.status !== "failed") {
    throw new ProdlikeError(
      "STACK_RUNNING",
      `a stack for ${description.dir} is already running (pid ${previous.pid}, ${previous.urls?.app ?? "starting"}). ` +
        "Use `prodlike status` to see it, or `prodlike down` to stop it first.",
    );
  }
  const docker = await connectEngine();
  // Leftovers of a run whose owner died belong to nobody now.
  await removeStack(docker, project);
  const startedAt = new Date().toISOString();
  await writeState(description.dir, { project, dir: description.dir, pid: process.pid, status: "starting", startedAt });

  try {
    // A taken port should fail in a second, not after the build.
    await assertPortFree(description.ports.https, "--port");
    await assertPortFree(description.ports.http, "--http-port");
    const stack = await startServicesAndApp(docker, description, logger);
    await writeState(description.dir, {
      project,
      dir: description.dir,
      pid: process.pid,
      status: "running",
      startedAt,
      urls: { app: stack.url, http: stack.httpUrl },
      hostEnv: stack.env,
    });
    return stack;
  } catch (err) {
    await removeStack(docker, project).catch(() => {});
    await writeState(description.dir, {
      project,
      dir: description.dir,
      pid: process.pid,
      status: "failed",
      startedAt,
      error: err instanceof Error ? err.message : String(err),
    });
    throw err;
  }
}

/** The edge's view of the app: wake and restart are fresh containers, as on Render. */
function appBackend(app: AppInstance): AppBackend {
  return {
    ensureRunning: async () => app.address ?? (await app.start()),
    restart: () => app.start(),
    stop: () => app.stop(),
  };
}

async function startServicesAndApp(docker: Docker, description: StackDescription, logger: Logger): Promise<RunningStack> {
  const { project, dir, app: appSpec } = description;
  const labels = stackLabels(project, dir);
  const generatedKeys = Object.entries(appSpec.env).flatMap(([key, source]) => (source.kind === "generated" ? [key] : []));
  const [images, secrets] = await Promise.all([ensureImages(docker, logger), loadSecrets(dir, [...generatedKeys, "SECRET_KEY"])]);
  await ensureNetwork(docker, project, labels);
  const volumes = new Map<string, { name: string; created: boolean; id: string }>();
  for (const service of SERVICES) {
    if (service.volume) volumes.set(service.name, await ensureVolume(docker, project, service.volume.purpose, labels));
  }

  const ports = await startServices(docker, description, secrets, images, labels, logger);
  const database = {
    host: "pgbouncer",
    port: PGBOUNCER_PORT,
    user: description.database.user,
    password: secrets.postgresPassword,
    database: description.database.databaseName,
  };
  const endpoints: AppEndpoints = {
    database: { ...database, url: postgresUrl(database) },
    redisUrl: `redis://default:${encodeURIComponent(secrets.redisPassword)}@redis:6379/0`,
  };
  const env = appEnv(description, secrets, endpoints, await gitInfo(dir));

  const build = await buildApp(docker, {
    project,
    dir,
    pythonImage: images.python,
    buildCommand: appSpec.buildCommand,
    buildCommandSource: description.files.includes("render.yaml") ? "render.yaml buildCommand" : "Render's default for Python",
    env,
    // A fresh database volume means the build (which may migrate) must run again.
    salt: volumes.get("postgres")?.id ?? "",
    labels,
    logger,
  });
  if (appSpec.preDeployCommand) await runPreDeploy(docker, description, build.image, env, labels, logger);

  const app = new AppInstance(docker, {
    project,
    image: build.image,
    startCommand: appSpec.startCommand,
    startCommandSource: appSpec.startCommandSource,
    env,
    perInstance: () => instanceEnv(description),
    limits: appSpec.limits,
    labels,
    healthCheckPath: appSpec.healthCheckPath,
    publicHost: appSpec.publicHost,
    logger,
  });
  await app.start().catch(async (err) => {
    await app.stop();
    throw new ProdlikeError("APP_START_FAILED", err instanceof Error ? err.message : String(err), { cause: err });
  });
  // The edge comes last, once there is an app to route to (its health checks start at once).
  const clock = new VirtualClock();
  const edge = await createEdge({
    serviceName: appSpec.serviceName,
    publicHost: appSpec.publicHost,
    backend: appBackend(app),
    clock,
    logger,
    port: description.ports.https,
    httpPort: description.ports.http,
    sleepAfterMs: appSpec.limits.sleepAfterMs ?? undefined,
    healthCheck: { path: appSpec.healthCheckPath },
  }).catch(async (err) => {
    await app.stop();
    throw err;
  });

  const hostDb = { ...database, host: "127.0.0.1", port: ports.pgbouncer! };
  const hostEnv: HostEnv = {
    APP_URL: edge.httpsUrl,
    DATABASE_URL: postgresUrl(hostDb),
    REDIS_URL: `redis://default:${encodeURIComponent(secrets.redisPassword)}@127.0.0.1:${ports.redis}/0`,
    S3_ENDPOINT: `http://127.0.0.1:${ports.minio}`,
    S3_ACCESS_KEY_ID: secrets.minioUser,
    S3_SECRET_ACCESS_KEY: secrets.minioPassword,
  };
  return new RunningStack({ description, docker, edge, clock, app, env: hostEnv, logger });
}

/** Start the backing services in dependency order, in parallel where they are independent. */
async function startServices(
  docker: Docker,
  description: StackDescription,
  secrets: Secrets,
  images: Record<string, string>,
  labels: Record<string, string>,
  logger: Logger,
): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  const started = new Map<string, Promise<void>>();
  const start = (service: ServiceDefinition): Promise<void> => {
    const existing = started.get(service.name);
    if (existing) return existing;
    const promise = (async () => {
      await Promise.all(service.after.map((name) => start(SERVICES.find((s) => s.name === name)!)));
      const container = await createContainer(docker, {
        project: description.project,
        service: service.name,
        name: containerName(description.project, service.name),
        image: images[service.image]!,
        labels,
        env: service.env(description, secrets),
        alias: service.name,
        publish: [service.port],
        volumes: service.volume ? { [`prodlike-${description.project}-${service.volume.purpose}`]: service.volume.path } : undefined,
      });
      await container.start();
      const t0 = Date.now();
      await waitReady(container, { what: service.what, timeoutMs: service.readyTimeoutMs });
      ports[service.name] = await publishedPort(container, service.port);
      logger.info({ service: service.name, seconds: ((Date.now() - t0) / 1000).toFixed(1) }, `${service.name} ready`);
    })();
    started.set(service.name, promise);
    return promise;
  };
  await Promise.all(SERVICES.map(start));
  return ports;
}

async function runPreDeploy(docker: Docker, description: StackDescription, image: string, env: Record<string, string>, labels: Record<string, string>, logger: Logger): Promise<void> {
  const command = description.app.preDeployCommand!;
  const log = logger.child({ component: "pre-deploy", service: "app" });
  log.info(`pre-deploy: ${command}`);
  const result = await runOneOff(
    docker,
    {
      project: description.project,
      service: "pre-deploy",
      name: containerName(description.project, "pre-deploy"),
      image,
      labels,
      env: { ...env, ...instanceEnv(description) },
      cmd: ["bash", "-c", command],
      workingDir: APP_SOURCE_DIR,
    },
    log,
  );
  await result.container.remove({ force: true }).catch(() => {});
  if (result.exitCode !== 0) {
    throw new ProdlikeError(
      "APP_BUILD_FAILED",
      `the pre-deploy command \`${command}\` failed with exit code ${result.exitCode}; the deploy stops here, as on Render. Last lines:\n${result.output.split("\n").slice(-20).join("\n")}`,
    );
  }
}


async function gitInfo(dir: string): Promise<GitInfo> {
  const git = (args: string[]) =>
    promisify(execFile)("git", ["-C", dir, ...args])
      .then((r) => r.stdout.trim())
      .catch(() => "");
  const [commit, branch] = await Promise.all([git(["rev-parse", "HEAD"]), git(["rev-parse", "--abbrev-ref", "HEAD"])]);
  return { commit: commit || "0".repeat(40), branch: branch || "main" };
}

export { PIP_CACHE_VOLUME };
