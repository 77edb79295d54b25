import type { Command } from "commander";
import { removeStack } from "../engine/containers.js";
import { connectEngine } from "../engine/docker.js";
import { projectFilter } from "../engine/labels.js";
import { clearState, isAlive } from "../state.js";
import { locate, type GlobalOptions } from "./context.js";
import { print } from "./output.js";

export function registerDown(program: Command, _globals: () => GlobalOptions): void {
  program
    .command("down")
    .description("stop a stack: its process, containers and network (the data volumes stay unless --volumes)")
    .argument("[dir]", "the project folder", ".")
    .option("-v, --volumes", "also delete the database and MinIO volumes (all data of the stack)")
    .option("-t, --timeout <seconds>", "how long the stack's process may take to stop before it is killed", "30")
    .action(async (dir: string, flags: { volumes?: boolean; timeout: string }) => {
      const where = await locate(dir);
      const docker = await connectEngine();
      // Counted first: the owning process removes its own containers when signalled.
      const before = await docker.listContainers({ all: true, filters: projectFilter(where.project) });
      const beforeNetworks = await docker.listNetworks({ filters: projectFilter(where.project) });
      const owner = where.state?.pid;
      if (owner && owner !== process.pid && isAlive(owner)) {
        process.kill(owner, "SIGTERM");
        const deadline = Date.now() + Number(flags.timeout) * 1000;
        while (isAlive(owner) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        if (isAlive(owner)) process.kill(owner, "SIGKILL");
      }
      const removed = await removeStack(docker, where.project, { volumes: flags.volumes });
      await clearState(where.dir);
      const parts = [`${Math.max(before.length, removed.containers)} container(s)`, `${Math.max(beforeNetworks.length, removed.networks)} network(s)`];
      if (flags.volumes) parts.push(`${removed.volumes} volume(s)`);
      print(`down: ${where.project}: removed ${parts.join(", ")}${flags.volumes ? "" : " (volumes kept: --volumes deletes them)"}`);
    });
}
