import { PassThrough } from "node:stream";
import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { ProdlikeError, tailLines } from "../errors.js";
import type { Docker } from "./docker.js";
import { randomUUID } from "node:crypto";
import { LABEL_SERVICE, LABEL_VOLUME_ID, networkName, projectFilter, volumeName } from "./labels.js";

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
  /** Container port published on 127.0.0.1 (a free host port) for host-side clients. */
  readonly publish?: readonly number[];
  /** Named volume → mount path. */
  readonly volumes?: Readonly<Record<string, string>>;
  readonly memoryMb?: number;
  readonly cpus?: number;
  /** `host:ip` entries for /etc/hosts: production host names that resolve to the stack's links. */
  readonly extraHosts?: readonly string[];
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
/** The stack network's gateway: the host's address on it, where the links listen. */
export async function networkGateway(docker: Docker, project: string): Promise<string> {
  const info = await docker.getNetwork(networkName(project)).inspect();
  const gateway = (info.IPAM?.Config as { Gateway?: string }[] | undefined)?.find((c) => c.Gateway)?.Gateway;
  if (!gateway) throw new ProdlikeError("INTERNAL", `network ${networkName(project)} has no IPv4 gateway; the links need one to listen on`);
  return gateway;
}

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

export async function createContainer(docker: Docker, spec: ContainerSpec): Promise<Dockerode.Container> {
  const network = networkName(spec.project);
  const exposed = Object.fromEntries((spec.publish ?? []).map((port) => [`${port}/tcp`, {}]));
  const bindings = Object.fromEntries((spec.publish ?? []).map((port) => [`${port}/tcp`, [{ HostIp: "127.0.0.1", HostPort: "" }]]));
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
      Binds: Object.entries(spec.volumes ?? {}).map(([volume, path]) => `${volume}:${path}`),
      Memory: spec.memoryMb ? spec.memoryMb * 1024 * 1024 : undefined,
      MemorySwap: spec.memoryMb ? spec.memoryMb * 1024 * 1024 : undefined,
      NanoCpus: spec.cpus ? Math.round(spec.cpus * 1e9) : undefined,
      ExtraHosts: spec.extraHosts ? [...spec.extraHosts] : undefined,
    },
    NetworkingConfig: {
      EndpointsConfig: { [network]: { Aliases: spec.alias ? [spec.alias] : [] } },
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
    const health = state.Health?.Status;
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

export async function containerLogs(container: Dockerode.Container, tail = 50): Promise<string> {
  const buffer = (await container.logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
  return demux(buffer);
}

/** Docker's multiplexed log frames (8-byte headers) to text; plain text passes through. */
export function demux(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length && buffer[offset]! <= 2 && buffer[offset + 1] === 0) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  if (offset === 0) return buffer.toString("utf8");
  return Buffer.concat(parts).toString("utf8");
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

/** Remove every container and network of a stack (and its volumes when asked). */
export async function removeStack(docker: Docker, project: string, options: { volumes?: boolean } = {}): Promise<ReapResult> {
  const filters = projectFilter(project);
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
  const networks = await docker.listNetworks({ filters });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => {})));
  let volumes = 0;
  if (options.volumes) {
    const list = (await docker.listVolumes({ filters })).Volumes ?? [];
    await Promise.all(list.map((v) => docker.getVolume(v.Name).remove().catch(() => {})));
    volumes = list.length;
  }
  return { containers: containers.length, networks: networks.length, volumes };
}
