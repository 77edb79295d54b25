/**
 * A stack owner for the reaper tests, run as its own process (`node --import tsx`): makes a
 * network and two labelled `sleep infinity` containers through prodlike's engine code, hands
 * the project to the watchdog unless told "no-watch", prints "ready <pid> <watchdog pid>" and
 * waits to be killed. "release" hands the project over and takes it back (as `down` does).
 *   owner-child.ts <project> <dir> [watch|no-watch|release]
 */
import { createContainer, ensureNetwork } from "../../../src/engine/containers.js";
import { connectEngine } from "../../../src/engine/docker.js";
import { containerName, stackLabels } from "../../../src/engine/labels.js";
import { releaseStack, watchdogPid, watchStack } from "../../../src/engine/watchdog.js";
import { createLogger } from "../../../src/logger.js";

const [project, dir, mode] = process.argv.slice(2);
if (!project || !dir) throw new Error("usage: owner-child.ts <project> <dir> [watch|no-watch]");
const logger = createLogger({ format: "json" });
const docker = await connectEngine();
const labels = stackLabels(project, dir);
if (mode !== "no-watch") watchStack(project, logger);
await ensureNetwork(docker, project, labels);
for (const service of ["one", "two"]) {
  const container = await createContainer(docker, {
    project,
    service,
    name: containerName(project, service),
    image: "debian:bookworm-slim",
    labels,
    cmd: ["sleep", "infinity"],
  });
  await container.start();
}
if (mode === "release") releaseStack(project);
process.stdout.write(`ready ${process.pid} ${watchdogPid() ?? 0}\n`);
setInterval(() => {}, 1 << 30);
