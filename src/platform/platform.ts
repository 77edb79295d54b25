import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { VirtualClock } from "../clock.js";
import { createEdge, type AppBackend, type Edge } from "../edge/index.js";
import type { Docker } from "../engine/docker.js";
import { createControlServer, type ControlServer, type LinkSet } from "../links/index.js";
import { HttpError, type ExtraRoutes } from "../links/control-server.js";
import { z } from "zod";
import { AppInstance } from "../services/app.js";
import type { CertificateAuthority } from "../tls/ca.js";
import { appRoutes, OverlayStore } from "./app-routes.js";
import type { PlatformConfig } from "./config.js";
import { OwnerWatch } from "./owner-watch.js";
import { startCloudinary, startLinks } from "./parts.js";

const DeploySchema = z.strictObject({ image: z.string().min(1) });

export interface Platform {
  /** Stop every part (the app container is removed); idempotent. */
  stop(): Promise<void>;
}

/**
 * Everything of a stack that is prodlike's own code, in the platform container: the links and
 * the Cloudinary stand-in, one virtual clock and the control API that the host, the CLI and
 * tests drive; then, once the host has built the app (its build may migrate through the db
 * link) and asks for it with POST /deploy, the app instance (fresh containers on deploy, wake
 * and crash, through the engine socket) and the edge in front of it. Stopped in reverse.
 */
export async function startPlatform(config: PlatformConfig, docker: Docker, logger: Logger): Promise<Platform> {
  const ca: CertificateAuthority = { ...config.ca, certPath: "" };
  const clock = new VirtualClock();
  const started: { stop(): Promise<void> | void }[] = [];
  const stop = async () => {
    for (const part of started.splice(0).reverse()) await Promise.resolve(part.stop()).catch((err: unknown) => logger.debug({ err }, "stopping a part"));
  };
  try {
    const links: LinkSet = await startLinks({ plan: config.links.plan, upstream: config.links, names: config.reachableAs, clock, ca, logger });
    started.push(links);
    const cloudinary = await startCloudinary({ ...config.cloudinary, port: config.ports.cloudinary, names: config.reachableAs, ca, logger });
    started.push(cloudinary);
    const owner = config.owned ? new OwnerWatch({ docker, project: config.project, logger, beforeReap: stop }) : undefined;
    if (owner) started.push({ stop: () => owner.stop() });
    let deployed: { routes: ExtraRoutes; edge: Edge } | undefined;
    let deploying: Promise<{ routes: ExtraRoutes; edge: Edge }> | undefined;
    const control: ControlServer = await createControlServer({
      links,
      clock,
      token: config.token,
      logger,
      // The edge routes (sleep, wake, state) once the app is deployed.
      edge: {
        sleep: () => requireDeployed().sleep(),
        wake: () => requireDeployed().wake(),
        get state() {
          return deployed?.edge.state ?? "deploying";
        },
      },
      host: "0.0.0.0",
      port: config.ports.control,
      routes: async (method, parts, request) => {
        if (parts.length === 1 && parts[0] === "owner" && method === "GET") {
          if (!owner) return [409, { error: { code: "DETACHED", message: "this stack is detached: it has no owner to watch" } }];
          owner.connect(request.req, request.res);
          return "handled";
        }
        if (parts.length === 1 && parts[0] === "deploy" && method === "POST") {
          const parsed = DeploySchema.safeParse(await request.body());
          if (!parsed.success) throw new HttpError(400, "BAD_REQUEST", 'send {"image": "<the built app image>"}');
          const { image } = parsed.data;
          deploying ??= deploy(image).then((result) => (deployed = result));
          await deploying.catch((err: unknown) => {
            deploying = undefined;
            throw err;
          });
          return [200, { state: deployed!.edge.state }];
        }
        if (parts[0] === "app" || (parts[0] === "edge" && parts[1] === "hold")) {
          if (!deployed) return [409, { error: { code: "NOT_DEPLOYED", message: "the app is not deployed yet: it is still building" } }];
          return deployed.routes(method, parts, request);
        }
        return undefined;
      },
    });
    started.push(control);

    const requireDeployed = (): Edge => {
      if (!deployed) throw new HttpError(409, "NOT_DEPLOYED", "the app is not deployed yet: it is still building");
      return deployed.edge;
    };
    /** The first deploy: the app's container from the built image, then the edge in front of it. */
    const deploy = async (image: string): Promise<{ routes: ExtraRoutes; edge: Edge }> => {
      const overlay = new OverlayStore();
      const { app: spec } = config;
      const app = new AppInstance(docker, {
        project: config.project,
        image,
        startCommand: spec.startCommand,
        startCommandSource: spec.startCommandSource,
        env: spec.env,
        perInstance: () => ({ RENDER_INSTANCE_ID: `${spec.instancePrefix}-${randomBytes(3).toString("hex").slice(0, 5)}` }),
        limits: spec.limits,
        cpuLimits: spec.cpuLimits,
        labels: config.labels,
        healthCheckPath: spec.healthCheckPath,
        publicHost: spec.publicHost,
        plan: spec.plan,
        prepare: overlay.prepare,
        logger,
      });
      // Before the control server in the stop order: the app's container goes first.
      started.splice(started.indexOf(control), 0, app);
      await app.start();
      let reachablePorts = { https: config.ports.https, http: config.ports.http };
      const edge: Edge = await createEdge({
        serviceName: config.edge.serviceName,
        publicHost: config.edge.publicHost,
        backend: appBackend(app),
        clock,
        ca,
        logger,
        host: "0.0.0.0",
        port: config.ports.https,
        httpPort: config.ports.http,
        certificateNames: config.reachableAs,
        reachablePorts: () => reachablePorts,
        sleepAfterMs: config.edge.sleepAfterMs ?? undefined,
        coldStartDelayMs: config.edge.coldStartDelayMs,
        healthCheck: { path: spec.healthCheckPath },
      });
      started.splice(started.indexOf(control), 0, edge);
      // Redirects and mapped origins name the ports clients reach: the ones the engine published.
      reachablePorts = await publishedPorts(docker, reachablePorts);
      logger.info({ image }, "app deployed");
      return { routes: appRoutes(app, edge, overlay), edge };
    };
    logger.info({ project: config.project, owned: config.owned }, "platform ready");
    return { stop };
  } catch (err) {
    await stop();
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

/** The host ports the engine published for the front's ports; a port not published keeps its number. */
async function publishedPorts(docker: Docker, ports: { https: number; http: number }): Promise<{ https: number; http: number }> {
  const info = await docker.getContainer(hostname()).inspect().catch(() => null);
  const published = (port: number): number => {
    const binding = info?.NetworkSettings.Ports?.[`${port}/tcp`]?.[0];
    return binding ? Number(binding.HostPort) : port;
  };
  return { https: published(ports.https), http: published(ports.http) };
}
