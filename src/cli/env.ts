import type { Command } from "commander";
import { ProdlikeError } from "../errors.js";
import { connectEngine } from "../engine/docker.js";
import { stackAlive } from "../stack.js";
import { locate, type GlobalOptions } from "./context.js";
import { print } from "./output.js";

export function registerEnv(program: Command, _globals: () => GlobalOptions): void {
  program
    .command("env")
    .description("print the URLs a host-side client uses (DATABASE_URL, REDIS_URL, APP_URL, …) of a running stack")
    .argument("[dir]", "the project folder", ".")
    .argument("[key]", "print only this one's value, e.g. DATABASE_URL")
    .option("-o, --output <format>", "shell (KEY=value lines) | json", "shell")
    .addHelpText("after", '\nExample:\n  psql "$(prodlike env . DATABASE_URL)"')
    .action(async (dir: string, key: string | undefined, flags: { output: string }) => {
      const where = await locate(dir);
      const env = where.state?.hostEnv;
      const state = where.state;
      if (!env || !state || !(await stackAlive(await connectEngine(), state.project, state.pid, state.detached))) {
        throw new ProdlikeError("STACK_NOT_FOUND", `no stack runs for ${where.dir}: start it with \`prodlike up -d ${dir}\``);
      }
      if (key) {
        const value = env[key];
        if (value === undefined) throw new ProdlikeError("CONFIG_INVALID", `no "${key}" in the stack's env: choose one of ${Object.keys(env).join(", ")}`);
        print(value);
      } else if (flags.output === "json") print(JSON.stringify(env, null, 2));
      else for (const [name, value] of Object.entries(env)) print(`${name}=${value}`);
    });
}
