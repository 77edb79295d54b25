import type { Command } from "commander";
import { connectEngine } from "../engine/docker.js";
import { execAttached } from "../engine/exec.js";
import { findServiceContainer, stackServices } from "../engine/inspect.js";
import { ProdlikeError } from "../errors.js";
import { locate, type GlobalOptions } from "./context.js";

export function registerExec(program: Command, _globals: () => GlobalOptions): void {
  program
    .command("exec")
    .description("run a command in a running service's container, with the terminal attached")
    .argument("<args...>", "[dir] <service> -- <command...>")
    .allowUnknownOption()
    .addHelpText(
      "after",
      `
Examples:
  prodlike exec app -- python manage.py shell
  prodlike exec fixtures/render-supabase app -- python manage.py migrate --plan
  prodlike exec postgres -- psql -U postgres`,
    )
    .action(async (args: string[]) => {
      const dash = process.argv.indexOf("--");
      const commandWords = dash >= 0 ? process.argv.slice(dash + 1) : [];
      const before = dash >= 0 ? args.slice(0, args.length - commandWords.length) : args;
      if (before.length < 1 || before.length > 2 || commandWords.length === 0) {
        throw new ProdlikeError("CONFIG_INVALID", "usage: prodlike exec [dir] <service> -- <command...>   e.g. prodlike exec app -- python manage.py shell");
      }
      const [dir, service] = before.length === 2 ? before : [".", before[0]!];
      const where = await locate(dir);
      const docker = await connectEngine();
      const id = await findServiceContainer(docker, where.project, service!);
      if (!id) {
        const names = (await stackServices(docker, where.project)).map((s) => s.name);
        throw new ProdlikeError(
          names.length ? "SERVICE_UNKNOWN" : "STACK_NOT_FOUND",
          names.length ? `no service "${service}" runs in this stack: choose one of ${names.join(", ")}` : `no stack runs for ${where.dir}: start one with \`prodlike up\``,
        );
      }
      process.exitCode = await execAttached(docker, id, commandWords);
    });
}
