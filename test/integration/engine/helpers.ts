import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { connectEngine, type Docker } from "../../../src/engine/docker.js";
import { LABEL_PROJECT } from "../../../src/engine/labels.js";

const REPO = resolve(import.meta.dirname, "..", "..", "..");
const CHILD = join(REPO, "test", "integration", "engine", "owner-child.ts");

export interface OwnerChild {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly watchdogPid: number;
  readonly exited: Promise<unknown>;
}

/** A unique project name for one test: never collides with a real stack. */
export function testProject(tag: string): string {
  return `reaper-${tag}-${randomBytes(3).toString("hex")}`;
}

/** Start owner-child.ts and wait until its containers run. */
export async function startOwner(project: string, dir: string, mode: "watch" | "no-watch" | "release" = "watch"): Promise<OwnerChild> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, project, dir, mode], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  const exited = once(child, "exit");
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const line = await new Promise<string>((resolvePromise, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^ready (\d+) (\d+)$/m.exec(out);
      if (ready) resolvePromise(ready[0]);
    });
    void exited.then(() => reject(new Error(`owner-child exited before it was ready:\n${stderr}`)));
    setTimeout(() => reject(new Error(`owner-child not ready in 60 s:\n${stderr}`)), 60_000);
  });
  const [, pid, watchdogPid] = line.split(" ");
  return { process: child, pid: Number(pid), watchdogPid: Number(watchdogPid), exited };
}

/** Containers and networks labelled with the project. */
export async function countByLabel(project: string, docker?: Docker): Promise<{ containers: number; networks: number }> {
  const engine = docker ?? (await connectEngine());
  const filters = { label: [`${LABEL_PROJECT}=${project}`] };
  const [containers, networks] = await Promise.all([engine.listContainers({ all: true, filters }), engine.listNetworks({ filters })]);
  return { containers: containers.length, networks: networks.length };
}
