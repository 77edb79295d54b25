import { createServer } from "node:net";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { ProdlikeError, tailLines } from "../errors.js";
import { PLATFORM_CONFIG_PATH, PLATFORM_PORTS, PLATFORM_SOCKET, type PlatformConfig } from "../platform/config.js";
import { callPlatform, type ControlAccess } from "../platform/client.js";
import type { EngineAccess } from "./access.js";
import { containerLogs, createContainer } from "./containers.js";
import type { Docker } from "./docker.js";
import { containerName, networkName } from "./labels.js";
import { putFiles } from "./put-files.js";

const READY_TIMEOUT_MS = 60_000;

/** Where a client of this process reaches one of the platform's ports. */
export interface Reach {
  readonly host: string;
  readonly port: number;
}

export interface StartedPlatform {
  readonly container: Dockerode.Container;
  readonly name: string;
  readonly control: ControlAccess;
  /** Where this process reaches a port the platform listens on (in its container). */
  reach(containerPort: number): Reach;
}

/**
 * The engine socket's path on the engine's host, mounted into the platform (as testcontainers
 * mounts it into Ryuk): PRODLIKE_ENGINE_SOCKET or TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE, the
 * path of a unix:// DOCKER_HOST, else /var/run/docker.sock (Docker Desktop maps that one too).
 */
export function engineSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.PRODLIKE_ENGINE_SOCKET ?? env.TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE;
  if (override) return override;
  if (env.DOCKER_HOST?.startsWith("unix://")) return env.DOCKER_HOST.slice("unix://".length);
  return PLATFORM_SOCKET;
}

/**
 * A free port on this machine's loopback, for a port that must be the same number inside the
 * container and on the host (the Cloudinary stand-in's: its URL is one for the app and the browser).
 */
export async function freeLocalPort(avoid: readonly number[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    if (!avoid.includes(port)) return port;
  }
  throw new ProdlikeError("PORT_TAKEN", "no free port found on 127.0.0.1 for the Cloudinary stand-in");
}

/**
 * Start the stack's platform container: its file in place (mode 600), the engine socket
 * mounted, the production host names as its aliases on the stack network, the front, control,
 * Cloudinary and host-side db/redis ports published. Resolves once its control API answers.
 */
export async function startPlatformContainer(
  docker: Docker,
  options: {
    config: PlatformConfig;
    image: string;
    access: EngineAccess;
    aliases: readonly string[];
    /** Host ports asked for the front (0: a free one). */
    hostPorts: { https: number; http: number };
    logger: Logger;
  },
): Promise<StartedPlatform> {
  const { config, access } = options;
  const name = containerName(config.project, "platform");
  const dbPort = config.links.plan.db.port;
  const redisPort = config.links.plan.redis.port;
  const sameNumber = access.kind === "local" ? config.ports.cloudinary : undefined;
  const container = await createContainer(docker, {
    project: config.project,
    service: "platform",
    name,
    image: options.image,
    labels: config.labels,
    alias: "platform",
    aliases: options.aliases,
    binds: [`${engineSocketPath()}:${PLATFORM_SOCKET}`],
    publishAddress: access.bindAddress,
    publish: [
      { port: config.ports.https, hostPort: options.hostPorts.https || undefined },
      { port: config.ports.http, hostPort: options.hostPorts.http || undefined },
      config.ports.control,
      { port: config.ports.cloudinary, hostPort: sameNumber },
      dbPort,
      redisPort,
    ],
  });
  try {
    await putFiles(container, "/", [{ path: PLATFORM_CONFIG_PATH.slice(1), data: Buffer.from(JSON.stringify(config)), mode: 0o600, mtime: Math.floor(Date.now() / 1000) }], 0);
    await container.start().catch((err: unknown) => {
      throw portError(err) ?? err;
    });
    const ports = (await container.inspect()).NetworkSettings.Ports ?? {};
    const reach = (containerPort: number): Reach => {
      if (access.kind === "network") return { host: name, port: containerPort };
      const binding = ports[`${containerPort}/tcp`]?.[0];
      if (!binding) throw new ProdlikeError("INTERNAL", `the platform container does not publish port ${containerPort}`);
      return { host: access.host, port: Number(binding.HostPort) };
    };
    const controlAt = reach(config.ports.control);
    const control = { url: `http://${hostForUrl(controlAt.host)}:${controlAt.port}`, token: config.token };
    await waitForControl(container, control);
    options.logger.child({ component: "platform" }).info({ container: name, control: control.url, network: networkName(config.project) }, "platform up");
    return { container, name, control, reach };
  } catch (err) {
    await container.remove({ force: true }).catch(() => {});
    throw err;
  }
}

/** The platform's ports in its container, the front's being fixed ones (the host ports may differ). */
export function platformPorts(cloudinaryPort: number = PLATFORM_PORTS.cloudinary): PlatformConfig["ports"] {
  return { https: PLATFORM_PORTS.https, http: PLATFORM_PORTS.http, control: PLATFORM_PORTS.control, cloudinary: cloudinaryPort };
}

export function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

async function waitForControl(container: Dockerode.Container, control: ControlAccess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    const state = (await container.inspect().catch(() => null))?.State;
    if (state && !state.Running) {
      const logs = await containerLogs(container, 40).catch(() => "");
      throw new ProdlikeError("APP_START_FAILED", `the platform container exited (code ${state.ExitCode}) before its control API answered. Its last lines:\n${tailLines(logs, 30)}`);
    }
    try {
      await callPlatform(control, "GET", "/clock");
      return;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const logs = await containerLogs(container, 40).catch(() => "");
  throw new ProdlikeError(
    "NOT_READY",
    `the platform's control API at ${control.url} did not answer within ${READY_TIMEOUT_MS / 1000} s (${String(last)}). ` +
      `If prodlike runs in a container, or the engine is remote, check that this process can reach that address. The platform's last lines:\n${tailLines(logs, 30)}`,
  );
}

function portError(err: unknown): ProdlikeError | undefined {
  const message = (err as { json?: { message?: string }; message?: string }).json?.message ?? (err as Error).message ?? "";
  if (!/port is already allocated|address already in use|bind/i.test(message)) return undefined;
  return new ProdlikeError(
    "PORT_TAKEN",
    `the engine could not publish a port of the front: ${message}. Free it, or choose others with --port <port> / --http-port <port> (0 picks a free one)`,
    { cause: err },
  );
}
