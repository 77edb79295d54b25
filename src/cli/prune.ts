import type { Command } from "commander";
import { connectEngine } from "../engine/docker.js";
import { pruneLeftovers, type PrunedItem } from "../engine/prune.js";
import { makeLogger, type GlobalOptions } from "./context.js";
import { print } from "./output.js";

interface PruneFlags {
  dryRun?: boolean;
  volumes?: boolean;
  under?: string;
}

export function registerPrune(program: Command, globals: () => GlobalOptions): void {
  program
    .command("prune")
    .description("remove what prodlike left behind: stacks of dead processes, old app images, stopped build containers")
    .option("-n, --dry-run", "list what would be removed, remove nothing")
    .option("-v, --volumes", "also delete the volumes (database, MinIO files) of projects whose folder no longer exists")
    .option("--under <folder>", "only what belongs to projects inside this folder (e.g. a CI workspace)")
    .addHelpText(
      "after",
      `
What goes:
  - containers and networks of stacks whose prodlike process died (kill -9, a crash, a reboot);
    stacks of a live process, or of a process on another host sharing the engine, stay
  - app images (prodlike-app/<project>:<hash>) that are not the newest of their project, or
    whose project folder no longer exists; an image a container uses stays
  - stopped build and pre-deploy containers of dead processes (or stopped over 10 minutes ago)
  - with --volumes: the volumes of projects whose folder no longer exists (their data!)
Never touched: base images (prodlike/*), running stacks, the volumes of existing projects.

Examples:
  prodlike prune --dry-run             see what would go
  prodlike prune                       clear it
  prodlike prune --volumes             and the data of deleted projects
  prodlike prune --under /tmp          only what test runs under /tmp left`,
    )
    .action(async (flags: PruneFlags) => {
      const docker = await connectEngine();
      const report = await pruneLeftovers(docker, { dryRun: flags.dryRun, volumes: flags.volumes, under: flags.under, logger: makeLogger(globals()) });
      const verb = flags.dryRun ? "would remove" : "removed";
      const containers = report.stacks.reduce((sum, s) => sum + s.containers.length, 0);
      const networks = report.stacks.reduce((sum, s) => sum + s.networks.length, 0);
      print(`prune: ${verb} ${report.stacks.length} stack(s) of dead processes (${containers} container(s), ${networks} network(s))`);
      for (const stack of report.stacks) {
        print(`  ${stack.project}${stack.ownerPid ? ` (pid ${stack.ownerPid})` : ""}: ${[...stack.containers, ...stack.networks].join(", ")}`);
      }
      section(`${verb} ${report.images.length} app image(s)`, report.images);
      section(`${verb} ${report.containers.length} stopped build/pre-deploy container(s)`, report.containers);
      if (flags.volumes) section(`${verb} ${report.volumes.length} volume(s) of deleted projects`, report.volumes);
      else if (report.keptVolumes.length > 0) section(`kept ${report.keptVolumes.length} volume(s) of deleted projects (--volumes deletes them)`, report.keptVolumes);
      if (report.failed.length > 0) {
        print(`prune: could not remove ${report.failed.length}:`);
        for (const item of report.failed) print(`  ${item.name}: ${item.error}`);
        process.exitCode = 1;
      }
    });
}

function section(title: string, items: readonly PrunedItem[]): void {
  print(`prune: ${title}`);
  for (const item of items) print(`  ${item.name} (${item.reason})`);
}
