import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { ProdlikeError, tailLines } from "../errors.js";
import type { Docker } from "./docker.js";
import { randomUUID } from "node:crypto";
import { demux } from "./demux.js";
import { LABEL_SERVICE, LABEL_VOLUME_ID, networkName, projectFilter, volumeName } from "./labels.js";
import { keepRunLog } from "./run-log.js";

export { demux };

export interface ContainerSpec {
  readonly project: string;
  readonly service: string;
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  readonly cmd?: readonly string[];
  readonly user?: string;
  readonly workingDir?: string;
  /** Network alias on the stack network (the service's host name for the others). */
  readonly alias?: string;
  /** More network aliases (the production host names the platform answers under). */
  readonly aliases?: readonly string[];
  /** Container ports published for clients outside the engine: a free host port, or the one given. */
  readonly publish?: readonly (number | { readonly port: number; readonly hostPort?: number })[];
  /** HostIp of published ports: 127.0.0.1 with a local engine, the engine host's address with a remote one. */
  readonly publishAddress?: string;
  /** `source:target[:mode]` bind mounts (the engine socket into the platform). */
  readonly binds?: readonly string[];
  /** Named volume → mount path. */
  readonly volumes?: Readonly<Record<string, string>>;
  readonly memoryMb?: number;
  readonly cpus?: number;
}

export async function ensureNetwork(docker: Docker, project: string, labels: Record<string, string>): Promise<string> {
  const name = networkName(project);
  const existing = await docker.getNetwork(name).inspect().catch(() => null);
  if (!existing) await docker.createNetwork({ Name: name, Driver: "bridge", Labels: labels, CheckDuplicate: true });
  return name;
}

/**
 * A named volume of the stack. `id` is a random label set at creation: it tells a fresh volume
 * from a kept one (the engine's CreatedAt follows the folder's mtime, so it cannot).
 */
export async function ensureVolume(
  docker: Docker,
  project: string,
  purpose: string,
  labels: Record<string, string>,
): Promise<{ name: string; created: boolean; id: string }> {
  const name = volumeName(project, purpose);
  const existing = (await docker.getVolume(name).inspect().catch(() => null)) as { Labels?: Record<string, string> | null } | null;
  if (existing) return { name, created: false, id: existing.Labels?.[LABEL_VOLUME_ID] ?? "unlabelled" };
  const id = randomUUID();
  await docker.createVolume({ Name: name, Labels: { ...labels, [LABEL_VOLUME_ID]: id } });
  return { name, created: true, id };
}

/** json-file (Podman reads it as k8s-file), rotated; `docker logs` and the API read across the files. */
export const CONTAINER_LOGS = { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } } as const;

export async function createContainer(docker: Docker, spec: ContainerSpec): Promise<Dockerode.Container> {
  const network = networkName(spec.project);
  const published = (spec.publish ?? []).map((entry) => (typeof entry === "number" ? { port: entry, hostPort: undefined } : entry));
  const exposed = Object.fromEntries(published.map(({ port }) => [`${port}/tcp`, {}]));
  const hostIp = spec.publishAddress ?? "127.0.0.1";
  const bindings = Object.fromEntries(published.map(({ port, hostPort }) => [`${port}/tcp`, [{ HostIp: hostIp, HostPort: hostPort ? String(hostPort) : "" }]]));
  // A leftover of the same name (a crashed run) would block the create: it belongs to this stack.
  await docker.getContainer(spec.name).remove({ force: true, v: false }).catch(() => {});
  return docker.createContainer({
    name: spec.name,
    Image: spec.image,
    Cmd: spec.cmd ? [...spec.cmd] : undefined,
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    User: spec.user,
    WorkingDir: spec.workingDir,
    Labels: { ...spec.labels, [LABEL_SERVICE]: spec.service },
    ExposedPorts: exposed,
    HostConfig: {
      NetworkMode: network,
      PortBindings: bindings,
      Binds: [...Object.entries(spec.volumes ?? {}).map(([volume, path]) => `${volume}:${path}`), ...(spec.binds ?? [])],
      Memory: spec.memoryMb ? spec.memoryMb * 1024 * 1024 : undefined,
      MemorySwap: spec.memoryMb ? spec.memoryMb * 1024 * 1024 : undefined,
      NanoCpus: spec.cpus ? Math.round(spec.cpus * 1e9) : undefined,
      // A stack under load logs every request: the engine keeps at most 3 × 10 MB per container.
      LogConfig: CONTAINER_LOGS,
    },
    NetworkingConfig: {
      EndpointsConfig: { [network]: { Aliases: [...(spec.alias ? [spec.alias] : []), ...(spec.aliases ?? [])] } },
    },
  });
}

/** Host port that Docker picked for a published container port. */
export async function publishedPort(container: Dockerode.Container, port: number): Promise<number> {
  const info = await container.inspect();
  const binding = info.NetworkSettings.Ports?.[`${port}/tcp`]?.[0];
  if (!binding) throw new ProdlikeError("INTERNAL", `container ${info.Name} does not publish port ${port}`);
  return Number(binding.HostPort);
}

/** The container's address on a network (the platform reaches the app there). */
export async function containerAddress(container: Dockerode.Container, network: string): Promise<string> {
  const info = await container.inspect();
  const address = info.NetworkSettings.Networks?.[network]?.IPAddress;
  if (!address) throw new ProdlikeError("INTERNAL", `container ${info.Name} has no address on network ${network}`);
  return address;
}

export interface WaitOptions {
  /** What is awaited, for the error: "postgres accepting connections". */
  readonly what: string;
  readonly timeoutMs: number;
  /** Extra readiness check run each poll once the container runs (and is healthy, if it has a health check). */
  readonly probe?: () => Promise<boolean>;
  readonly hint?: (logs: string) => string | undefined;
}

/**
 * Wait until the container is running and healthy (when it has a HEALTHCHECK) and `probe`
 * passes. A container that exits or never gets ready is an error carrying its last log lines.
 */
export async function waitReady(container: Dockerode.Container, options: WaitOptions): Promise<void> {
  const started = Date.now();
  let delay = 100;
  for (;;) {
    const info = await container.inspect();
    const state = info.State;
    if (!state.Running) {
      const logs = await containerLogs(container, 40);
      const hint = options.hint?.(logs);
      throw new ProdlikeError(
        "NOT_READY",
        `${info.Name.replace(/^\//, "")} exited (code ${state.ExitCode}${state.OOMKilled ? ", killed: out of memory" : ""}) while waiting for ${options.what}. ` +
          `Its last log lines:\n${tailLines(logs)}${hint ? `\n${hint}` : ""}`,
      );
    }
    // Podman reports `Health: {Status: ""}` for an image without a HEALTHCHECK (Docker: no Health): none.
    const health = state.Health?.Status || undefined;
    // Podman without systemd never schedules HEALTHCHECK runs: ask it to run one now.
    if (health === "starting" && Date.now() - started > 2_000) await runPodmanHealthcheck(container);
    const healthy = health === undefined || health === "healthy";
    if (healthy && (!options.probe || (await options.probe().catch(() => false)))) return;
    if (Date.now() - started > options.timeoutMs) {
      const logs = await containerLogs(container, 30);
      const hint = options.hint?.(logs);
      throw new ProdlikeError(
        "NOT_READY",
        `${info.Name.replace(/^\//, "")} did not become ready (${options.what}) within ${Math.round(options.timeoutMs / 1000)} s` +
          `${health ? ` (health: ${health})` : ""}. Its last log lines:\n${tailLines(logs)}${hint ? `\n${hint}` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, 500);
  }
}

/**
 * Podman's own API runs a container's health check on request (Docker has no such call: 404,
 * ignored). Rootless Podman without systemd schedules none, so health stays "starting" otherwise.
 */
async function runPodmanHealthcheck(container: Dockerode.Container): Promise<void> {
  const modem = container.modem as { dial(options: object, callback: (err: unknown) => void): void };
  await new Promise<void>((resolve) => {
    modem.dial({ path: `/v4.0.0/libpod/containers/${container.id}/healthcheck`, method: "GET", statusCodes: { 200: true, 404: true, 409: true, 500: true } }, () => resolve());
  });
}

export async function containerLogs(container: Dockerode.Container, tail = 50): Promise<string> {
  const buffer = (await container.logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
  return demux(buffer);
}


/** Follow a container's output as lines. Returns a stop function. */
export async function followLogs(
  docker: Docker,
  container: Dockerode.Container,
  onLine: (line: string, stream: "stdout" | "stderr") => void,
  options: { since?: number; tail?: number } = {},
): Promise<() => void> {
  const stream = (await container.logs({
    stdout: true,
    stderr: true,
    follow: true,
    since: options.since ?? 0,
    tail: options.tail,
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const split = (name: "stdout" | "stderr") => {
    const out = new PassThrough();
    let rest = "";
    out.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) onLine(line, name);
    });
    return out;
  };
  docker.modem.demuxStream(stream, split("stdout"), split("stderr"));
  stream.on("error", () => {});
  return () => stream.destroy();
}

export interface ReapResult {
  readonly containers: number;
  readonly networks: number;
  readonly volumes: number;
}

export interface RemoveStackOptions {
  readonly volumes?: boolean;
  readonly logger?: Logger;
  /** Keep the run's log first (keepRunLog). Default true; false for a repeated pass over a stack already being removed. */
  readonly keepLog?: boolean;
}

/** Remove every container and network of a stack (and its volumes when asked). */
export async function removeStack(docker: Docker, project: string, options: RemoveStackOptions = {}): Promise<ReapResult> {
  const filters = projectFilter(project);
  const containers = await docker.listContainers({ all: true, filters });
  // The run's log first: removing the platform container would take it along.
  const platform = containers.find((c) => c.Labels[LABEL_SERVICE] === "platform");
  if (platform && options.keepLog !== false) await keepRunLog(docker, platform).catch((err: unknown) => options.logger?.debug({ err }, "could not keep the run's log"));
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
  const networks = await docker.listNetworks({ filters });
  await Promise.all(networks.map((n) => removeNetwork(docker, n.Id)));
  let volumes = 0;
  if (options.volumes) {
    const list = (await docker.listVolumes({ filters })).Volumes ?? [];
    await Promise.all(list.map((v) => docker.getVolume(v.Name).remove().catch(() => {})));
    volumes = list.length;
  }
  return { containers: containers.length, networks: networks.length, volumes };
}

/**
 * Remove a network, first disconnecting what is still attached: containers that are not the
 * stack's (a CI job's container that joined it to reach the stack) would block the removal.
 */
export async function removeNetwork(docker: Docker, id: string): Promise<void> {
  const network = docker.getNetwork(id);
  const info = (await network.inspect().catch(() => null)) as { Containers?: Record<string, unknown> } | null;
  for (const container of Object.keys(info?.Containers ?? {})) await network.disconnect({ Container: container, Force: true }).catch(() => {});
  await network.remove().catch(() => {});
}
