/**
 * The watchdog: one detached process per owner process. Reads `watch <project>` and
 * `release <project>` lines on stdin. When stdin ends (the owner exited or was killed: the
 * kernel closes the pipe) or the owner's pid is gone, it removes the containers and networks
 * of the projects still watched (never volumes), once more 2 s later for creates that were in
 * flight, and exits. Plain `node dist/engine/watchdog-main.js <owner label>`.
 */
import { createInterface } from "node:readline";
import { LABEL_OWNER } from "./labels.js";
import { ownerVerdict, parseOwner } from "./owner.js";

const ownerLabel = process.argv[2] ?? "";
const owner = parseOwner(ownerLabel);
const RETRY_MS = 2000;
const POLL_MS = 1000;

function log(fields: Record<string, unknown>, msg: string): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), pid: process.pid, owner: ownerLabel, ...fields, msg })}\n`);
}

if (!owner) {
  log({}, "usage: watchdog-main.js <host:pidns:boot:pid:start> (the prodlike.owner label of the owner process)");
  process.exit(2);
}

const watched = new Set<string>();
let reaping = false;

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const [verb, project] = line.trim().split(/\s+/);
  if (!project) return;
  if (verb === "watch") watched.add(project);
  else if (verb === "release") watched.delete(project);
});
lines.on("close", () => void reap("the owner's pipe closed"));
const poll = setInterval(() => {
  if (ownerVerdict(owner) === "dead") void reap("the owner's pid is gone");
}, POLL_MS);

async function reap(reason: string): Promise<void> {
  if (reaping) return;
  reaping = true;
  clearInterval(poll);
  const projects = [...watched];
  if (projects.length === 0) process.exit(0);
  const started = Date.now();
  log({ reason, projects }, "owner gone: removing its containers and networks");
  try {
    const { connectEngine } = await import("./docker.js");
    const { reapOwned } = await import("./reaper.js");
    const docker = await connectEngine();
    const round = async (attempt: number) => {
      for (const project of projects) {
        const removed = await reapOwned(docker, project, `${LABEL_OWNER}=${ownerLabel}`).catch((err: unknown) => {
          log({ project, attempt, err: String(err) }, "removal failed");
          return null;
        });
        if (removed && removed.containers.length + removed.networks.length > 0) {
          log({ project, attempt, containers: removed.containers, networks: removed.networks, ms: Date.now() - started }, "removed");
        }
      }
    };
    await round(1);
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    await round(2);
  } catch (err) {
    log({ err: String(err) }, "could not reach the engine: the next `prodlike up` or `prodlike prune` removes the leftovers");
  }
  process.exit(0);
}
