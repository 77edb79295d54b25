import { lookup } from "node:dns/promises";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { Docker } from "./docker.js";

/**
 * How this process reaches what a stack publishes, wherever the engine runs:
 * - "local": the engine shares this machine's loopback (Linux, Docker Desktop, Podman machine,
 *   Colima): ports bind to 127.0.0.1.
 * - "remote": DOCKER_HOST names another machine (tcp://, ssh://): ports bind to the address
 *   that host name resolves to, and clients use the host name (testcontainers' rule).
 * - "network": this process runs in a container of the same engine (a CI container job with
 *   the socket mounted): it joins the stack's network and uses container names and ports.
 */
export interface EngineAccess {
  readonly kind: "local" | "remote" | "network";
  /** HostIp of published ports. */
  readonly bindAddress: string;
  /** The host clients here use for published ports ("127.0.0.1", the remote engine's name). */
  readonly host: string;
  /** With "network": this process's own container, to connect to the stack's network. */
  readonly container?: string;
}

/** Decide once per process; PRODLIKE_HOST_OVERRIDE (or testcontainers' TESTCONTAINERS_HOST_OVERRIDE) names the host outright. */
export async function resolveAccess(docker: Docker, env: NodeJS.ProcessEnv = process.env): Promise<EngineAccess> {
  const override = env.PRODLIKE_HOST_OVERRIDE ?? env.TESTCONTAINERS_HOST_OVERRIDE;
  if (override) return { kind: "remote", host: override, bindAddress: await addressOf(override) };
  const remote = remoteHost(env.DOCKER_HOST);
  if (remote) return { kind: "remote", host: remote, bindAddress: await addressOf(remote) };
  const self = await ownContainer(docker);
  if (self) return { kind: "network", host: "127.0.0.1", bindAddress: "127.0.0.1", container: self };
  return { kind: "local", host: "127.0.0.1", bindAddress: "127.0.0.1" };
}

/** The host part of a DOCKER_HOST that points at another machine; undefined for sockets and loopback. */
export function remoteHost(dockerHost: string | undefined): string | undefined {
  if (!dockerHost || !/^(tcp|ssh|http|https):\/\//.test(dockerHost)) return undefined;
  const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return host === "localhost" || host === "127.0.0.1" || host === "::1" ? undefined : host;
}

async function addressOf(host: string): Promise<string> {
  if (/^[\d.]+$/.test(host) || host.includes(":")) return host;
  return (await lookup(host, { family: 4 }).catch(() => ({ address: "0.0.0.0" }))).address;
}

/**
 * This process's container, when it runs in one that the engine knows: the container id from
 * /proc/self/mountinfo or cgroup (Docker and Podman name it there), or the default host name.
 */
async function ownContainer(docker: Docker): Promise<string | undefined> {
  const candidates = new Set<string>();
  for (const file of ["/proc/self/mountinfo", "/proc/self/cgroup"]) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const match of text.matchAll(/(?:containers|docker|libpod)[-/]([0-9a-f]{64})/g)) candidates.add(match[1]!);
  }
  candidates.add(hostname());
  for (const id of candidates) {
    const info = await docker.getContainer(id).inspect().catch(() => null);
    if (info?.State?.Running) return info.Id;
  }
  return undefined;
}
