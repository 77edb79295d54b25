import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { checkInstanceName } from "./config/instance.js";
import { projectName, resolveStack, type StackOverrides } from "./config/resolve.js";
import type { StackDescription } from "./config/types.js";
import { assertPortFree } from "./edge/index.js";
import { resolveAccess, type EngineAccess } from "./engine/access.js";
import { buildApp } from "./engine/app-build.js";
import { ensureNetwork, ensureVolume, removeStack } from "./engine/containers.js";
import { connectEngine, type Docker } from "./engine/docker.js";
import { ensureImages } from "./engine/images.js";
import { containerName, networkName, stackLabels } from "./engine/labels.js";
import { ensurePlatformImage } from "./engine/platform-image.js";
import { freeLocalPort, hostForUrl, platformPorts, startPlatformContainer, type StartedPlatform } from "./engine/platform-container.js";
import { sweepOrphans } from "./engine/reaper.js";
import { releaseStack, watchStack } from "./engine/watchdog.js";
import { ProdlikeError } from "./errors.js";
import { silentLogger } from "./logger.js";
import { PlatformClient } from "./platform/client.js";
import type { PlatformConfig } from "./platform/config.js";
import { appEnv, cloudinaryEnv, postgresUrl, productionCloudName, serviceId, type AppEndpoints, type GitInfo } from "./services/app-env.js";
import { runPreDeploy, startServices } from "./services/backing-services.js";
import { SERVICES } from "./services/definitions.js";
import { planLinks, redisUrl } from "./services/link-plan.js";
import { startWatch, type DeployHooks } from "./stack-watch.js";
import { isAlive, loadSecrets, readState, saveSecrets, writeControl, writeState } from "./state.js";
import { loadOrCreateCa } from "./tls/ca.js";
import type { WatchSession } from "./watch/index.js";
import { RunningStack, type HostEnv } from "./running-stack.js";

export { RunningStack, type HostEnv };

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
  /**
   * A stack that outlives this process (`prodlike up -d`): no owner, so nothing removes it
   * when this process exits; `prodlike down` does. Default false: the stack goes with its owner.
   */
  readonly detach?: boolean;
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

  const docker = await connectEngine();
  const previous = sideStack ? null : await readState(description.dir);
  if (previous && previous.status !== "failed" && (await stackAlive(docker, previous.project, previous.pid, previous.detached))) {
    throw new ProdlikeError(
      "STACK_RUNNING",
      `a stack for ${description.dir} is already running (${previous.detached ? "detached" : `pid ${previous.pid}`}, ${previous.urls?.app ?? "starting"}). ` +
        "Use `prodlike status` to see it, or `prodlike down` to stop it first.",
    );
  }
  await sweepOrphans(docker, logger);
  // Leftovers of a run whose owner died belong to nobody now.
  await removeStack(docker, project);
  // Until the platform watches its owner, a watchdog process removes the stack if this one dies.
  watchStack(project, logger);
  const startedAt = new Date().toISOString();
  const detached = options.detach === true;
  if (!sideStack) await writeState(description.dir, { project, dir: description.dir, pid: process.pid, detached, status: "starting", startedAt });

  try {
    // A taken port should fail in a second, not after the build.
    const access = await resolveAccess(docker);
    if (access.kind === "local") {
      await assertPortFree(description.ports.https, "--port");
      await assertPortFree(description.ports.http, "--http-port");
    }
    const stack = await startStack(docker, description, access, logger, options);
    if (!sideStack) await writeState(description.dir, {
      project,
      dir: description.dir,
      pid: process.pid,
      detached,
      status: "running",
      startedAt,
      urls: { app: stack.url, http: stack.httpUrl },
      hostEnv: stack.env,
    });
    // A detached stack is on its own now: the watchdog must not remove it when this process exits.
    if (detached) releaseStack(project);
    return stack;
  } catch (err) {
    await removeStack(docker, project).catch(() => {});
    releaseStack(project);
    if (!sideStack) await writeState(description.dir, {
      project,
      dir: description.dir,
      pid: process.pid,
      detached,
      status: "failed",
      startedAt,
      error: err instanceof Error ? err.message : String(err),
    });
    throw err;
  }
}

/** Whether the stack recorded in a state file still runs: its owner process, or (detached) its platform container. */
export async function stackAlive(docker: Docker, project: string, pid: number, detached: boolean | undefined): Promise<boolean> {
  if (!detached) return isAlive(pid);
  const info = await docker.getContainer(containerName(project, "platform")).inspect().catch(() => null);
  return info?.State?.Running === true;
}

/** The Cloudinary stand-in's network alias: a `*.localhost` name, which browsers resolve to 127.0.0.1 where its port is published. */
const CLOUDINARY_HOST = "cloudinary.localhost";
/** The SDK's `cdn_subdomain=True` spreads http URLs over a1–a5.<cname>: names of the stand-in too. */
const CLOUDINARY_CDN_SUBDOMAINS = ["a1", "a2", "a3", "a4", "a5"];

async function startStack(docker: Docker, description: StackDescription, access: EngineAccess, logger: Logger, options: UpOptions): Promise<RunningStack> {
  const { project, dir, app: appSpec } = description;
  const detached = options.detach === true;
  const labels = stackLabels(project, dir, { owned: !detached });
  const generatedKeys = generatedKeysOf(description);
  const [images, platformImage, secrets, ca] = await Promise.all([
    ensureImages(docker, logger),
    ensurePlatformImage(docker, logger),
    loadSecrets(dir, [...generatedKeys, "SECRET_KEY"], { save: false }),
    loadOrCreateCa(),
  ]);
  await ensureNetwork(docker, project, labels);
  // Run from a container of this engine: join the stack's network to reach it by name.
  if (access.kind === "network") await docker.getNetwork(networkName(project)).connect({ Container: access.container });
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
  // Kept only now: new secrets over a volume made with lost ones would lock the next run out.
  await saveSecrets(dir, secrets);
  const ports = await startServices(docker, description, secrets, images, labels, logger, access.bindAddress);

  const plan = planLinks(description);
  // Locally the stand-in's port is the same number in its container and on the host: one URL for both.
  const cloudinaryPort = access.kind === "local" ? await freeLocalPort([8443, 8080, 9000, plan.db.port, plan.redis.port]) : undefined;
  const platformConfigPorts = platformPorts(cloudinaryPort);
  const cloudinary = {
    url: `https://${CLOUDINARY_HOST}:${platformConfigPorts.cloudinary}`,
    cloudName: productionCloudName(description),
    apiKey: secrets.cloudinaryKey,
    apiSecret: secrets.cloudinarySecret,
  };
  const database = { user: description.database.user, password: secrets.postgresPassword, database: description.database.databaseName };
  const endpoints: AppEndpoints = {
    database: { ...database, host: plan.db.host, port: plan.db.port, url: postgresUrl({ ...database, host: plan.db.host, port: plan.db.port }, plan.db.params) },
    redisUrl: redisUrl(plan.redis, plan.redis.host, plan.redis.port, secrets.redisPassword),
    cloudinary,
  };
  const env = appEnv(description, secrets, endpoints, await gitInfo(dir));
  const platformName = containerName(project, "platform");
  const config: PlatformConfig = {
    project,
    labels,
    token: randomBytes(24).toString("base64url"),
    ca: { certPem: ca.certPem, keyPem: ca.keyPem },
    owned: !detached,
    reachableAs: [...new Set([access.host, platformName, "platform"])],
    ports: platformConfigPorts,
    links: { plan, db: { host: "pgbouncer", port: servicePort("pgbouncer") }, redis: { host: "redis", port: servicePort("redis") } },
    cloudinary: {
      host: CLOUDINARY_HOST,
      cloudName: cloudinary.cloudName,
      apiKey: cloudinary.apiKey,
      apiSecret: cloudinary.apiSecret,
      s3: { endpoint: `http://minio:${servicePort("minio")}`, accessKeyId: secrets.minioUser, secretAccessKey: secrets.minioPassword },
    },
    app: {
      startCommand: appSpec.startCommand,
      startCommandSource: appSpec.startCommandSource,
      env,
      instancePrefix: serviceId(description),
      limits: appSpec.limits,
      cpuLimits: process.env.PRODLIKE_CPU_LIMITS !== "off",
      healthCheckPath: appSpec.healthCheckPath,
      publicHost: appSpec.publicHost,
      plan: appSpec.plan,
    },
    edge: { serviceName: appSpec.serviceName, publicHost: appSpec.publicHost, sleepAfterMs: appSpec.limits.sleepAfterMs, coldStartDelayMs: appSpec.coldStartDelayMs },
  };
  // The links must answer before the build: a build command may migrate through them.
  const started: StartedPlatform = await startPlatformContainer(docker, {
    config,
    image: platformImage,
    access,
    aliases: [plan.db.host, plan.redis.host, CLOUDINARY_HOST, ...CLOUDINARY_CDN_SUBDOMAINS.map((sub) => `${sub}.${CLOUDINARY_HOST}`)],
    // From a container job the front is reached by name: fixed host ports would only collide between jobs.
    hostPorts: access.kind === "network" ? { https: 0, http: 0 } : { https: description.ports.https, http: description.ports.http },
    logger,
  });
  const platform = new PlatformClient(started.control);
  const release = detached ? () => {} : await platform.own();
  try {
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
      caPem: ca.certPem,
      logger,
      // The folder's, not the instance's: every stack of the folder can reuse a build whose inputs match.
      repository: `prodlike-app/${projectName(dir)}`,
    };
    const build = await buildApp(docker, buildOptions);
    if (appSpec.preDeployCommand) await runPreDeploy(docker, description, build.image, env, labels, logger);
    await platform.deploy(build.image).catch((err: unknown) => {
      throw new ProdlikeError("APP_START_FAILED", err instanceof Error ? err.message : String(err), { cause: err });
    });
    if (!options.overrides?.projectSuffix) await writeControl(dir, started.control);

    const front = started.reach(platformConfigPorts.https);
    const httpFront = started.reach(platformConfigPorts.http);
    const dbAt = started.reach(plan.db.port);
    const redisAt = started.reach(plan.redis.port);
    const cloudinaryAt = started.reach(platformConfigPorts.cloudinary);
    const hostCloudinary = { ...cloudinary, url: `https://${hostForUrl(cloudinaryAt.host)}:${cloudinaryAt.port}` };
    const s3 = access.kind === "network" ? { host: containerName(project, "minio"), port: servicePort("minio") } : { host: access.host, port: ports.minio! };
    const hostEnv: HostEnv = {
      APP_URL: `https://${hostForUrl(front.host)}:${front.port}`,
      DATABASE_URL: postgresUrl({ ...database, host: dbAt.host, port: dbAt.port }, plan.db.params),
      REDIS_URL: redisUrl(plan.redis, redisAt.host, redisAt.port, secrets.redisPassword),
      PRODLIKE_CA: ca.certPath,
      S3_ENDPOINT: `http://${hostForUrl(s3.host)}:${s3.port}`,
      S3_ACCESS_KEY_ID: secrets.minioUser,
      S3_SECRET_ACCESS_KEY: secrets.minioPassword,
      // Plain HTTP for the API here: a host-side script's SDK trusts only certifi's CAs, not prodlike's.
      CLOUDINARY_URL: cloudinaryEnv(hostCloudinary, false, { uploadPrefix: `http://${hostForUrl(cloudinaryAt.host)}:${cloudinaryAt.port}` }).CLOUDINARY_URL!,
      // A browser here resolves the app's *.localhost name only when the engine is local.
      CLOUDINARY_BROWSE_URL: `${access.kind === "local" ? cloudinary.url : hostCloudinary.url}/`,
      CONTROL_URL: started.control.url,
    };
    let watch: WatchSession | undefined;
    if (options.watch && !detached) watch = await startWatching({ docker, description, platform, buildOptions, image: build.image, env, endpoints, options, logger });
    return new RunningStack({
      description,
      docker,
      platform,
      url: hostEnv.APP_URL,
      httpUrl: `http://${hostForUrl(httpFront.host)}:${httpFront.port}`,
      watch,
      release,
      env: hostEnv,
      logger,
      caPem: ca.certPem,
    });
  } catch (err) {
    release();
    throw err;
  }
}

function servicePort(name: string): number {
  return SERVICES.find((service) => service.name === name)!.port;
}

/** What a deploy on Render does for each kind of change, with the current settings. */
async function startWatching(parts: {
  docker: Docker;
  description: StackDescription;
  platform: PlatformClient;
  buildOptions: Parameters<typeof buildApp>[1];
  /** The image running now. */
  image: string;
  env: Record<string, string>;
  endpoints: AppEndpoints;
  options: UpOptions;
  logger: Logger;
}): Promise<WatchSession> {
  const { docker, description, platform, buildOptions, endpoints, options, logger } = parts;
  const { dir } = description;
  let current = { description, env: parts.env, image: parts.image };
  const hooks: DeployHooks = {
    containerId: () => platform.app.containerId(),
    rebuildAndRedeploy: async () => {
      const rebuilt = await buildApp(docker, { ...buildOptions, buildCommand: current.description.app.buildCommand, env: current.env });
      if (current.description.app.preDeployCommand) await runPreDeploy(docker, current.description, rebuilt.image, current.env, buildOptions.labels, logger);
      // The old version serves while the new one boots; requests wait only for the switch.
      await platform.app.redeploy({ image: rebuilt.image });
      current = { ...current, image: rebuilt.image };
    },
    reresolve: async () => {
      const next = await resolveStack(dir, options.overrides);
      const nextSecrets = await loadSecrets(dir, [...generatedKeysOf(next), "SECRET_KEY"]);
      const nextEnv = appEnv(next, nextSecrets, endpoints, await gitInfo(dir));
      const unapplied = changedSettings(current.description, next);
      if (unapplied.length > 0) logger.warn({ changed: unapplied }, `${unapplied.join(", ")} changed: restart \`prodlike up\` to apply that`);
      const envChanged = JSON.stringify(nextEnv) !== JSON.stringify(current.env);
      const startChanged = next.app.startCommand !== current.description.app.startCommand;
      current = { ...current, description: next, env: nextEnv };
      if (envChanged || startChanged) {
        await platform.app.redeploy({ env: nextEnv, startCommand: next.app.startCommand, startCommandSource: next.app.startCommandSource });
      }
    },
  };
  let pushing = Promise.resolve();
  const session = await startWatch({
    docker,
    description,
    hold: (fn) => platform.hold(fn),
    hooks,
    app: platform.app,
    // After each change, the platform learns the files reloaded since the image was built: a
    // wake or a crash restart then starts with them, whether or not this process still runs.
    onApplied: () => {
      pushing = pushing.then(pushOverlay).catch((err: unknown) => logger.warn({ err }, "could not send the reloaded files to the platform: a wake starts without them"));
    },
    logger,
  });
  const pushOverlay = async () => {
    const entries = [...session.reloader.applied];
    await platform.app.setOverlay(current.image, {
      files: entries.flatMap(([, file]) => (file ? [file] : [])),
      removed: entries.flatMap(([path, file]) => (file ? [] : [path])),
    });
  };
  return session;
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

