import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type Dockerode from "dockerode";
import { demux } from "./demux.js";
import type { Docker } from "./docker.js";
import { LABEL_DIR, LABEL_PROJECT } from "./labels.js";

/** Runs whose log is kept per project: the one that just ended and the two before it. */
export const RUN_LOGS_KEPT = 3;

/**
 * When a stack is removed, its platform container's output (the edge's requests, the links,
 * the app's lines it relays, the clock) goes to `<project dir>/.prodlike/logs/<project>-<time>.log`
 * (mode 600), so a run's log outlives `down` and the next `up`. Only for a project folder on this
 * host that has `.prodlike/`; the oldest logs beyond RUN_LOGS_KEPT are removed.
 */
export async function keepRunLog(docker: Docker, container: Pick<Dockerode.ContainerInfo, "Id" | "Labels">): Promise<string | undefined> {
  const dir = container.Labels[LABEL_DIR];
  const project = container.Labels[LABEL_PROJECT];
  if (!dir || !project || !existsSync(join(dir, ".prodlike"))) return undefined;
  const logs = join(dir, ".prodlike", "logs");
  await mkdir(logs, { recursive: true, mode: 0o700 });
  const raw = (await docker.getContainer(container.Id).logs({ stdout: true, stderr: true, timestamps: true, follow: false })) as unknown as Buffer;
  const file = join(logs, `${project}-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
  await writeFile(file, demux(raw), { mode: 0o600 });
  const runs = (await readdir(logs)).filter((name) => name.startsWith(`${project}-`) && name.endsWith(".log")).sort();
  await Promise.all(runs.slice(0, Math.max(0, runs.length - RUN_LOGS_KEPT)).map((name) => rm(join(logs, name), { force: true })));
  return file;
}
