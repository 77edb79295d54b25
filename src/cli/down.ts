import type { Command } from "commander";
import { connectEngine } from "../engine/docker.js";
import { projectFilter } from "../engine/labels.js";
import { ProdlikeError } from "../errors.js";
import { removeStackAndWait, stopAllStacks, type StoppedStack } from "../engine/stop-all.js";
import { clearState, isAlive, readState } from "../state.js";
import { locate, makeLogger, type GlobalOptions } from "./context.js";
import { print } from "./output.js";

interface DownFlags {
  all?: boolean;
  volumes?: boolean;
  timeout: string;
}

export function registerDown(program: Command, globals: () => GlobalOptions): void {
  program
    .command("down")
    .description("stop a stack: its process, containers and network (the data volumes stay unless --volumes)")
    .argument("[dir]", "the project folder (default: this one); with --all, only the stacks of projects inside it")
    .option("-a, --all", "stop every prodlike stack on this Docker engine, whoever started it")
    .option("-v, --volumes", "also delete the database and MinIO volumes (all data of the stack)")
    .option("-t, --timeout <seconds>", "how long a stack's process may take to stop before it is killed", "30")
    .addHelpText(
      "after",
      `
A stack that a foreground \`prodlike up\` owns is stopped by that process: \`down\` sends it SIGTERM
(as Ctrl-C would), waits for it, kills it after --timeout. Then it removes whatever is left (a
detached stack, \`up -d\`, is only containers: its platform container runs the front and the app) (containers and network carry the label
prodlike.project=<name>). The volumes (the database, MinIO's files) stay, so the next \`up\`
finds the data; --volumes deletes them.

Examples:
  prodlike down                        the stack of the project in this folder
  prodlike down ~/code/shop --volumes  that project's stack and its data
  prodlike down --all                  every prodlike stack on this engine
  prodlike down --all "$CI_WORKSPACE"  only the stacks of projects inside the CI workspace

Leftovers of a process that was killed are removed by its watchdog within seconds, by the next
\`prodlike up\` at the latest; \`prodlike prune\` also clears old app images.`,
    )
    .action(async (dir: string | undefined, flags: DownFlags) => {
      const timeoutMs = parseTimeout(flags.timeout);
      if (flags.all) return downAll(dir, flags, timeoutMs, globals());
      const where = await locate(dir ?? ".");
      const docker = await connectEngine();
      // Counted first: the owning process removes its own containers when signalled.
      const before = await docker.listContainers({ all: true, filters: projectFilter(where.project) });
      const beforeNetworks = await docker.listNetworks({ filters: projectFilter(where.project) });
      // A detached stack has no owner process: its platform goes with the containers.
      const owner = where.state?.detached ? undefined : where.state?.pid;
      if (owner && owner !== process.pid && isAlive(owner)) {
        process.kill(owner, "SIGTERM");
        const deadline = Date.now() + timeoutMs;
        while (isAlive(owner) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        if (isAlive(owner)) process.kill(owner, "SIGKILL");
      }
      const removed = await removeStackAndWait(docker, where.project, { volumes: flags.volumes });
      await clearState(where.dir);
      const parts = [`${Math.max(before.length, removed.containers)} container(s)`, `${Math.max(beforeNetworks.length, removed.networks)} network(s)`];
      if (flags.volumes) parts.push(`${removed.volumes} volume(s)`);
      print(`down: ${where.project}: removed ${parts.join(", ")}${flags.volumes ? "" : " (volumes kept: --volumes deletes them)"}`);
    });
}

async function downAll(under: string | undefined, flags: DownFlags, timeoutMs: number, globals: GlobalOptions): Promise<void> {
  const docker = await connectEngine();
  const stacks = await stopAllStacks(docker, {
    under,
    volumes: flags.volumes,
    timeoutMs,
    logger: makeLogger(globals),
    statePid: async (dir) => (await readState(dir))?.pid,
  });
  const where = under ? ` with a project folder inside ${under}` : " on this engine";
  if (stacks.length === 0) {
    print(`down --all: no prodlike stack${where}`);
    return;
  }
  for (const stack of stacks) {
    if (stack.dir) {
      const state = await readState(stack.dir);
      if (state?.project === stack.project) await clearState(stack.dir);
    }
    print(`down: ${stack.project}${stack.dir ? ` (${stack.dir})` : ""}: ${describe(stack, flags.volumes === true)}`);
  }
  const total = (key: "containers" | "networks" | "volumes") => stacks.reduce((sum, s) => sum + s[key].length, 0);
  print(
    `down --all: ${stacks.length} stack(s)${where}: removed ${total("containers")} container(s), ${total("networks")} network(s)` +
      (flags.volumes ? `, ${total("volumes")} volume(s)` : " (volumes kept: --volumes deletes them)"),
  );
}

function describe(stack: StoppedStack, volumes: boolean): string {
  const parts = [`removed ${stack.containers.length} container(s)${names(stack.containers)}`, `${stack.networks.length} network(s)${names(stack.networks)}`];
  if (volumes) parts.push(`${stack.volumes.length} volume(s)${names(stack.volumes)}`);
  const owner = stack.signalled.length > 0 ? `stopped pid ${stack.signalled.join(", ")}; ` : "";
  return owner + parts.join(", ");
}

function names(list: readonly string[]): string {
  return list.length > 0 ? ` [${list.join(", ")}]` : "";
}

function parseTimeout(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) throw new ProdlikeError("CONFIG_INVALID", `--timeout "${value}" is not a number of seconds: write e.g. --timeout 30`);
  return seconds * 1000;
}
