import type { Command } from "commander";
import { containerLogs, followLogs } from "../engine/containers.js";
import { connectEngine } from "../engine/docker.js";
import { stackServices } from "../engine/inspect.js";
import { ProdlikeError } from "../errors.js";
import { locate, type GlobalOptions } from "./context.js";

export function registerLogs(program: Command, _globals: () => GlobalOptions): void {
  program
    .command("logs")
    .description("print the logs of a stack's services (all of them, or one)")
    .argument("[dir]", "the project folder", ".")
    .argument("[service]", "app | postgres | pgbouncer | redis | minio")
    .option("-f, --follow", "keep printing new lines until Ctrl-C")
    .option("-n, --tail <lines>", "how many past lines of each service", "100")
    .action(async (dir: string, service: string | undefined, flags: { follow?: boolean; tail: string }) => {
      const where = await locate(dir);
      const docker = await connectEngine();
      const all = await stackServices(docker, where.project);
      const chosen = service ? all.filter((s) => s.name === service) : all;
      if (chosen.length === 0) {
        const names = all.map((s) => s.name).join(", ");
        throw new ProdlikeError(
          all.length === 0 ? "STACK_NOT_FOUND" : "SERVICE_UNKNOWN",
          all.length === 0 ? `no stack runs for ${where.dir}: start one with \`prodlike up\`` : `no service "${service}" in this stack: choose one of ${names}`,
        );
      }
      const prefix = (name: string) => (chosen.length > 1 ? `${name.padEnd(9)} | ` : "");
      if (!flags.follow) {
        for (const s of chosen) {
          const text = await containerLogs(docker.getContainer(s.container), Number(flags.tail));
          for (const line of text.replace(/\n$/, "").split("\n")) process.stdout.write(`${prefix(s.name)}${line}\n`);
        }
        return;
      }
      const stops = await Promise.all(
        chosen.map((s) => followLogs(docker, docker.getContainer(s.container), (line) => process.stdout.write(`${prefix(s.name)}${line}\n`), { tail: Number(flags.tail) })),
      );
      await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
      stops.forEach((stop) => stop());
    });
}
