import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { parseDuration, VirtualClock, type Clock } from "./clock.js";
import { checkInstanceName } from "./config/instance.js";
import { projectName, resolveStack, type StackOverrides } from "./config/resolve.js";
import type { StackDescription } from "./config/types.js";
import { assertPortFree, createEdge, type AppBackend, type Edge } from "./edge/index.js";
import { APP_SOURCE_DIR, buildApp, RENDER_UID } from "./engine/app-build.js";
import { putOverlay, type Overlay } from "./engine/put-files.js";
import { containerLogs, ensureNetwork, ensureVolume, networkGateway, removeStack } from "./engine/containers.js";
import { connectEngine, type Docker } from "./engine/docker.js";
import { ensureImages } from "./engine/images.js";
import { stackLabels } from "./engine/labels.js";
import { sweepOrphans } from "./engine/reaper.js";
import { releaseStack, watchStack } from "./engine/watchdog.js";
import { ProdlikeError } from "./errors.js";
import { createControlServer, type ControlServer, type LinkSet } from "./links/index.js";
import { silentLogger } from "./logger.js";
import { AppInstance } from "./services/app.js";
import { appEnv, cloudinaryEnv, instanceEnv, postgresUrl, productionCloudName, type AppEndpoints, type GitInfo } from "./services/app-env.js";
import { runPreDeploy, startServices } from "./services/backing-services.js";
import { SERVICES } from "./services/definitions.js";
import { planLinks, redisUrl } from "./services/link-plan.js";
import { startCloudinary, startLinks, type CloudinaryEndpoint } from "./stack-parts.js";
import { startWatch, type DeployHooks } from "./stack-watch.js";
import type { WatchSession } from "./watch/index.js";
import { clearState, isAlive, loadSecrets, readState, writeControl, writeState } from "./state.js";
import { loadOrCreateCa } from "./tls/ca.js";
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit, type Response as UndiciResponse } from "undici";
import { execCapture, type ExecResult } from "./engine/exec.js";
import { findServiceContainer, stackServices } from "./engine/inspect.js";
import type { AppLogLine } from "./services/app.js";

export interface UpOptions {
  readonly logger?: Logger;
  readonly overrides?: StackOverrides;
  /** Watch the project and redeploy on change, as `prodlike up` does (default false for the API). */
  readonly watch?: boolean;
  /** Called once the stack description is resolved (warnings, the plan) and before Docker work. */
  readonly onResolved?: (stack: StackDescription) => void;
  /**
   * Run this stack as a named instance of the folder's stack: its own containers, network,
   * volumes and free ports, no `.prodlike/state.json` entry (the CLI's `prodlike up` stack of
   * the folder is left alone), so several stacks of one folder run at once. Lowercase letters,
   * digits and dashes; it must be unique among the folder's running stacks.
   */
  readonly instance?: string;
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
  readonly links: LinkSet;
  readonly #control: ControlServer;
  readonly #cloudinary: CloudinaryEndpoint;
  readonly #watch: WatchSession | undefined;
  readonly #logger: Logger;
  readonly #agent: Agent;
  #stopping: Promise<void> | undefined;

  constructor(parts: {
    description: StackDescription;
    docker: Docker;
    edge: Edge;
    clock: Clock;
    app: AppInstance;
    links: LinkSet;
    control: ControlServer;
    cloudinary: CloudinaryEndpoint;
    watch: WatchSession | undefined;
    env: HostEnv;
    logger: Logger;
    caPem: string;
  }) {
    this.description = parts.description;
    this.#docker = parts.docker;
    this.edge = parts.edge;
    this.clock = parts.clock;
    this.links = parts.links;
    this.#control = parts.control;
    this.#cloudinary = parts.cloudinary;
    this.#watch = parts.watch;
    this.app = parts.app;
    this.env = parts.env;
    this.url = parts.edge.httpsUrl;
    this.httpUrl = parts.edge.httpUrl;
    this.#logger = parts.logger;
    // The edge's certificate is issued by prodlike's own CA: trust it here, and only here.
    this.#agent = new Agent({ connect: { ca: parts.caPem } });
  }

  /**
   * A request through the edge, as a browser would make it: HTTPS, Render's headers, sleep
   * and wake. `path` is relative to the app's URL ("/notes/") or a full URL. Redirects are
   * followed unless `redirect: "manual"` is given (then a 301 loop shows as it is).
   */
  fetch(path: string, init: UndiciRequestInit = {}): Promise<UndiciResponse> {
    return undiciFetch(new URL(path, this.url), { dispatcher: this.#agent, ...init });
  }

  /**
   * Run a command in a service's container (default the app) and collect its output.
   * A string runs under `bash -c` in the app's folder; an array runs as it is.
   */
  async exec(command: string | readonly string[], options: { service?: string; env?: Readonly<Record<string, string>> } = {}): Promise<ExecResult> {
    const service = options.service ?? "app";
    const id = service === "app" ? this.app.containerId : await findServiceContainer(this.#docker, this.description.project, service);
    if (!id) {
      const names = (await stackServices(this.#docker, this.description.project)).map((s) => s.name);
      throw new ProdlikeError(
        "SERVICE_UNKNOWN",
        service === "app" ? "the app has no running container (asleep or stopped): call wake() first" : `no service "${service}" runs in this stack: choose one of ${names.join(", ")}`,
      );
    }
    const cmd = typeof command === "string" ? ["bash", "-c", command] : command;
    return execCapture(this.#docker, id, cmd, { env: options.env });
  }

  /**
   * What a service printed. For the app, every line since the stack started (or since
   * `since`, epoch ms), across wakes and restarts; for the others, the last `tail` lines.
   */
  async logs(options: { service?: string; since?: number; tail?: number } = {}): Promise<string[]> {
    const service = options.service ?? "app";
    if (service === "app") {
      const lines = this.app.logs({ since: options.since }).map((entry: AppLogLine) => entry.line);
      return options.tail === undefined ? lines : lines.slice(-options.tail);
    }
    const id = await findServiceContainer(this.#docker, this.description.project, service);
    if (!id) throw new ProdlikeError("SERVICE_UNKNOWN", `no service "${service}" runs in this stack`);
    const text = await containerLogs(this.#docker.getContainer(id), options.tail ?? 200);
    return text.replace(/\n$/, "").split("\n");
  }

  /** Stop the edge, remove containers and network; volumes only when asked. Idempotent. */
  down(options: { volumes?: boolean } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info({ project: this.description.project }, "stopping the stack");
      await this.#watch?.close();
      await this.#control.stop();
      await this.edge.stop();
      await this.app.stop();
      await this.links.stop();
      await this.#cloudinary.stop();
      await removeStack(this.#docker, this.description.project, options);
      releaseStack(this.description.project);
      await this.#agent.close().catch(() => {});
      const state = await readState(this.description.dir);
      if (state?.pid === process.pid && state.project === this.description.project) await clearState(this.description.dir);
    })();
    return this.#stopping;
  }

  /** Act as if `duration` (ms or "16m") passed: idle timers fire in order (pooler drops, sleep). */
  async idle(duration: number | string): Promise<void> {
    await this.clock.advance(typeof duration === "number" ? duration : parseDuration(duration));
  }

  sleep(): Promise<void> {
    return this.edge.sleep();
  }

  wake(): Promise<void> {
    return this.edge.wake();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }
}

/** Start the stack of the Django project in `dir` (the public `up` in api.ts wraps this one). */
export async function up(dir: string, options: UpOptions = {}): Promise<RunningStack> {
  if (options.instance !== undefined) options = { ...options, overrides: { ...options.overrides, projectSuffix: checkInstanceName(options.instance) } };
  // A side stack (an instance, `prodlike check`'s) is owned by its process alone: no state or control file, no one-per-folder rule.
  const sideStack = Boolean(options.overrides?.projectSuffix);
  const logger = options.logger ?? silentLogger();
  const description = await resolveStack(dir, options.overrides);
  options.onResolved?.(description);
  const { project } = description;

  const previous = sideStack ? null : await readState(description.dir);
  if (previous && previous.pid !== process.pid && isAlive(previous.pid) && previous.status !== "failed") {
    throw new ProdlikeError(
      "STACK_RUNNING",
      `a stack for ${description.dir} is already running (pid ${previous.pid}, ${previous.urls?.app ?? "starting"}). ` +
        "Use `prodlike status` to see it, or `prodlike down` to stop it first.",
    );
  }
  const docker = await connectEngine();
  await sweepOrphans(docker, logger);
  // Leftovers of a run whose owner died belong to nobody now.
  await removeStack(docker, project);
  watchStack(project, logger);
  const startedAt = new Date().toISOString();
  if (!sideStack) await writeState(description.dir, { project, dir: description.dir, pid: process.pid, status: "starting", startedAt });

  try {
    // A taken port should fail in a second, not after the build.
    await assertPortFree(description.ports.https, "--port");
    await assertPortFree(description.ports.http, "--http-port");
    const stack = await startServicesAndApp(docker, description, logger, options);
    if (!sideStack) await writeState(description.dir, {
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
    releaseStack(project);
    if (!sideStack) await writeState(description.dir, {
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

async function startServicesAndApp(docker: Docker, description: StackDescription, logger: Logger, options: UpOptions): Promise<RunningStack> {
  const { project, dir, app: appSpec } = description;
  const labels = stackLabels(project, dir);
  const generatedKeys = generatedKeysOf(description);
  const [images, secrets, ca] = await Promise.all([
    ensureImages(docker, logger),
    loadSecrets(dir, [...generatedKeys, "SECRET_KEY"]),
    loadOrCreateCa(),
  ]);
  await ensureNetwork(docker, project, labels);
  const gateway = await networkGateway(docker, project);
  const volumes = new Map<string, { name: string; created: boolean; id: string }>();
  for (const service of SERVICES) {
    if (service.volume) volumes.set(service.name, await ensureVolume(docker, project, service.volume.purpose, labels));
  }
  const pgdata = volumes.get("postgres");
  if (secrets.fresh && pgdata && !pgdata.created) {
    throw new ProdlikeError(
      "CONFIG_INVALID",
      `the database volume ${pgdata.name} was made with a password kept in ${dir}/.prodlike/secrets.json, which is gone. ` +
        `Run \`prodlike down --volumes ${dir}\` to delete the old data and start fresh (or restore the file).`,
    );
  }
  const ports = await startServices(docker, description, secrets, images, labels, logger);

  // In-process parts are stopped in reverse order if a later step fails.
  const started: { stop(): Promise<void> }[] = [];
  try {
    const clock = new VirtualClock();
    const plan = planLinks(description);
    const links = await startLinks({ plan, gateway, ports, clock, ca, logger });
    started.push(links);
    const cloudinary = await startCloudinary({ gateway, minioPort: ports.minio!, secrets, cloudName: productionCloudName(description), ca, logger });
    started.push(cloudinary);
    const database = { user: description.database.user, password: secrets.postgresPassword, database: description.database.databaseName };
    const endpoints: AppEndpoints = {
      database: { ...database, host: plan.db.host, port: plan.db.port, url: postgresUrl({ ...database, host: plan.db.host, port: plan.db.port }, plan.db.params) },
      redisUrl: redisUrl(plan.redis, plan.redis.host, plan.redis.port, secrets.redisPassword),
      cloudinary,
    };
    const env = appEnv(description, secrets, endpoints, await gitInfo(dir));
    // Inside the containers the production host names resolve to the links on the gateway.
    const extraHosts = [`${plan.db.host}:${gateway}`, `${plan.redis.host}:${gateway}`];

    const buildOptions = {
      project,
      dir,
      pythonImage: images.python,
      buildCommand: appSpec.buildCommand,
      buildCommandSource: description.files.includes("render.yaml") ? "render.yaml buildCommand" : "Render's default for Python",
      env,
      // A fresh database volume means the build (which may migrate) must run again.
      salt: volumes.get("postgres")?.id ?? "",
      labels,
      extraHosts,
      caPem: ca.certPem,
      logger,
      // The folder's, not the instance's: every stack of the folder can reuse a build whose inputs match.
      repository: `prodlike-app/${projectName(dir)}`,
    };
    const build = await buildApp(docker, buildOptions);
    // Files reloaded (or removed) by watch since `overlayImage` was built: every fresh container
    // of that image (a wake, a crash restart) gets them, so it runs the code last reloaded.
    let overlay: () => Overlay = () => ({ files: [], removed: [] });
    let overlayImage = build.image;
    if (appSpec.preDeployCommand) await runPreDeploy(docker, description, build.image, env, labels, extraHosts, logger);

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
      extraHosts,
      plan: appSpec.plan,
      prepare: (container, image) => (image === overlayImage ? putOverlay(container, APP_SOURCE_DIR, overlay(), RENDER_UID) : Promise.resolve()),
      logger,
    });
    started.push(app);
    await app.start().catch((err: unknown) => {
      throw new ProdlikeError("APP_START_FAILED", err instanceof Error ? err.message : String(err), { cause: err });
    });
    // The edge comes last, once there is an app to route to (its health checks start at once).
    const edge = await createEdge({
      serviceName: appSpec.serviceName,
      publicHost: appSpec.publicHost,
      backend: appBackend(app),
      clock,
      ca,
      logger,
      port: description.ports.https,
      httpPort: description.ports.http,
      sleepAfterMs: appSpec.limits.sleepAfterMs ?? undefined,
      coldStartDelayMs: appSpec.coldStartDelayMs,
      healthCheck: { path: appSpec.healthCheckPath },
    });
    started.push(edge);
    const token = randomBytes(24).toString("base64url");
    const control = await createControlServer({ links, clock, token, logger, edge });
    started.push(control);
    if (!options.overrides?.projectSuffix) await writeControl(dir, { url: control.url, token });

    const hostDatabase = { ...database, host: gateway, port: plan.db.port };
    const hostEnv: HostEnv = {
      APP_URL: edge.httpsUrl,
      DATABASE_URL: postgresUrl(hostDatabase, plan.db.params),
      REDIS_URL: redisUrl(plan.redis, gateway, plan.redis.port, secrets.redisPassword),
      PRODLIKE_CA: ca.certPath,
      S3_ENDPOINT: `http://127.0.0.1:${ports.minio}`,
      S3_ACCESS_KEY_ID: secrets.minioUser,
      S3_SECRET_ACCESS_KEY: secrets.minioPassword,
      CLOUDINARY_URL: cloudinaryEnv(cloudinary, false).CLOUDINARY_URL!,
      CLOUDINARY_BROWSE_URL: `${cloudinary.url}/`,
      CONTROL_URL: control.url,
    };
    let watch: WatchSession | undefined;
    if (options.watch) {
      // What a deploy on Render does for each kind of change, with the current settings.
      let current = { description, env };
      const redeployHooks: DeployHooks = {
        containerId: () => app.containerId,
        rebuildAndRedeploy: async () => {
          const rebuilt = await buildApp(docker, { ...buildOptions, buildCommand: current.description.app.buildCommand, env: current.env });
          if (current.description.app.preDeployCommand) await runPreDeploy(docker, current.description, rebuilt.image, current.env, labels, extraHosts, logger);
          // The old version serves while the new one boots; requests wait only for the switch.
          await app.redeploy({ image: rebuilt.image });
          overlayImage = rebuilt.image;
        },
        reresolve: async () => {
          const next = await resolveStack(dir, options.overrides);
          const nextSecrets = await loadSecrets(dir, [...generatedKeysOf(next), "SECRET_KEY"]);
          const nextEnv = appEnv(next, nextSecrets, endpoints, await gitInfo(dir));
          const unapplied = changedSettings(current.description, next);
          if (unapplied.length > 0) logger.warn({ changed: unapplied }, `${unapplied.join(", ")} changed: restart \`prodlike up\` to apply that`);
          const envChanged = JSON.stringify(nextEnv) !== JSON.stringify(current.env);
          const startChanged = next.app.startCommand !== current.description.app.startCommand;
          current = { description: next, env: nextEnv };
          if (envChanged || startChanged) {
            await app.redeploy({ env: nextEnv, startCommand: next.app.startCommand, startCommandSource: next.app.startCommandSource });
          }
        },
      };
      watch = await startWatch({ docker, description, edge, hooks: redeployHooks, app, logger });
      const reloaded = watch.reloader;
      overlay = () => {
        const entries = [...reloaded.applied];
        return {
          files: entries.flatMap(([, file]) => (file ? [file] : [])),
          removed: entries.flatMap(([path, file]) => (file ? [] : [path])),
        };
      };
      started.push({ stop: () => watch!.close() });
    }
    return new RunningStack({ description, docker, edge, clock, app, links, control, cloudinary, watch, env: hostEnv, logger, caPem: ca.certPem });
  } catch (err) {
    for (const part of started.reverse()) await part.stop().catch(() => {});
    throw err;
  }
}





function generatedKeysOf(description: StackDescription): string[] {
  return Object.entries(description.app.env).flatMap(([key, source]) => (source.kind === "generated" ? [key] : []));
}

/** Settings a running stack cannot take over without a new `up`. */
function changedSettings(before: StackDescription, after: StackDescription): string[] {
  const changed: string[] = [];
  if (before.app.plan !== after.app.plan) changed.push("the plan");
  if (before.database.profile !== after.database.profile) changed.push("the database profile");
  if (before.redis.profile !== after.redis.profile) changed.push("the Redis profile");
  if (JSON.stringify(before.ports) !== JSON.stringify(after.ports)) changed.push("the ports");
  if (before.app.healthCheckPath !== after.app.healthCheckPath) changed.push("healthCheckPath");
  if (before.app.publicHost !== after.app.publicHost) changed.push("the public host");
  return changed;
}

async function gitInfo(dir: string): Promise<GitInfo> {
  const git = (args: string[]) =>
    promisify(execFile)("git", ["-C", dir, ...args])
      .then((r) => r.stdout.trim())
      .catch(() => "");
  const [commit, branch] = await Promise.all([git(["rev-parse", "HEAD"]), git(["rev-parse", "--abbrev-ref", "HEAD"])]);
  return { commit: commit || "0".repeat(40), branch: branch || "main" };
}

