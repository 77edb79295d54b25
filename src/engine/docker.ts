import { existsSync } from "node:fs";
import Docker from "dockerode";
import { ProdlikeError } from "../errors.js";

export type { Docker };

const SOCKETS = ["/var/run/docker.sock", `${process.env.HOME ?? ""}/.docker/run/docker.sock`, "/run/user/0/docker.sock"];

/** The engine through a socket mounted at `path` (the platform container's view of it). */
export function socketEngine(path: string): Docker {
  return new Docker({ socketPath: path });
}

/** Find the engine (DOCKER_HOST, then the usual sockets) and check that it answers. */
export async function connectEngine(): Promise<Docker> {
  const host = process.env.DOCKER_HOST;
  const socketPath = host ? undefined : SOCKETS.find((path) => existsSync(path));
  const docker = host ? new Docker() : new Docker({ socketPath: socketPath ?? "/var/run/docker.sock" });
  try {
    await withTimeout(docker.ping(), 5000);
  } catch (err) {
    throw new ProdlikeError("ENGINE_UNAVAILABLE", engineHelp(host ?? socketPath), { cause: err });
  }
  return docker;
}

function engineHelp(where: string | undefined): string {
  const at = where ? `at ${where}` : "(no DOCKER_HOST and no socket in /var/run/docker.sock)";
  const fix =
    process.platform === "linux"
      ? "On Linux as root, run `bash scripts/engine.sh` from the prodlike checkout (installs Debian's docker.io and starts dockerd); otherwise start Docker (`sudo systemctl start docker`) or set DOCKER_HOST."
      : "Start Docker Desktop (or Colima/OrbStack), or set DOCKER_HOST to a running engine.";
  return `no Docker engine answers ${at}. ${fix}`;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
