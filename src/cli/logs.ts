import type { Command } from "commander";
import { containerLogs, followLogs } from "../engine/containers.js";
import { connectEngine } from "../engine/docker.js";
import { stackServices } from "../engine/inspect.js";
import { ProdlikeError } from "../errors.js";
import { formatRecord, formatServiceLine, outputOf, parseRecord } from "../log-format.js";
import { locate, type GlobalOptions } from "./context.js";
import { wantsColour } from "./stack-logs.js";

export function registerLogs(program: Command, _globals: () => GlobalOptions): void {
  program
    .command("logs")
    .description("print the logs of a stack's services (all of them, or one)")
    .argument("[dir]", "the project folder", ".")
    .argument("[service]", "app | postgres | pgbouncer | redis | minio | platform")
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
      const print = linePrinter(chosen.map((s) => s.name));
      if (!flags.follow) {
        for (const s of chosen) {
          const text = await containerLogs(docker.getContainer(s.container), Number(flags.tail));
          for (const line of text.replace(/\n$/, "").split("\n")) print(s.name, line);
        }
        return;
      }
      const stops = await Promise.all(chosen.map((s) => followLogs(docker, docker.getContainer(s.container), (line) => print(s.name, line), { tail: Number(flags.tail) })));
      await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
      stops.forEach((stop) => stop());
    });
}

/**
 * On a terminal, compose's look: `name      | line`, a colour per service, and the platform's
 * ndjson as one line per record (the app's lines under `app`, prodlike's events under
 * `prodlike`; app lines it relays are left out when the app's own are printed). Off a
 * terminal, the lines as they are (ndjson stays ndjson), prefixed only when several services print.
 */
export function linePrinter(services: readonly string[], out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): (service: string, line: string) => void {
  if (!out.isTTY) {
    const prefixed = services.length > 1;
    return (service, line) => out.write(`${prefixed ? `${service.padEnd(9)} | ` : ""}${line}\n`);
  }
  const colour = wantsColour(out);
  const appPrinted = services.includes("app");
  return (service, line) => {
    const record = service === "platform" ? parseRecord(line) : null;
    if (!record) return out.write(`${formatServiceLine(service, line, colour)}\n`);
    if (appPrinted && outputOf(record) === "app") return true;
    return out.write(`${formatRecord(record, colour)}\n`);
  };
}
