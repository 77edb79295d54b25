import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import type { GlobalOptions } from "./context.js";
import { registerChaos } from "./chaos.js";
import { registerCheck } from "./check.js";
import { registerClock } from "./clock.js";
import { registerDoctor } from "./doctor.js";
import { registerDown } from "./down.js";
import { registerEnv } from "./env.js";
import { registerExec } from "./exec.js";
import { registerImages } from "./images.js";
import { registerLogs } from "./logs.js";
import { registerPrune } from "./prune.js";
import { outputClosed, reportError } from "./output.js";
import { registerStatus } from "./status.js";
import { registerUp } from "./up.js";

export function createProgram(): Command {
  const program = new Command("prodlike")
    .description(
      "Run a Django app as it runs on a free-tier PaaS (Render + gunicorn, Postgres behind a pooler, Redis, S3/Cloudinary) — and reproduce that production's failures.",
    )
    .addOption(new Option("--log-format <format>", "pretty (default on a terminal) | json").choices(["pretty", "json"]))
    .option("--log-level <level>", "trace | debug | info | warn | error", "info")
    .version(packageVersion(), "-V, --version", "print prodlike's version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText(
      "after",
      `
Start here:
  prodlike doctor                     check the engine, images and ports
  prodlike up fixtures/render-supabase
  prodlike status -o json             services, states, URLs
  prodlike down --volumes             stop it and delete its data`,
    );
  const globals = () => program.opts<GlobalOptions>();
  registerUp(program, globals);
  registerDown(program, globals);
  registerPrune(program, globals);
  registerStatus(program, globals);
  registerLogs(program, globals);
  registerExec(program, globals);
  registerEnv(program, globals);
  registerClock(program, globals);
  registerChaos(program, globals);
  registerCheck(program, globals);
  registerImages(program, globals);
  registerDoctor(program, globals);
  return program;
}

/** The version in prodlike's package.json (two levels up from src/cli/ and from dist/cli/). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

export async function main(argv: readonly string[]): Promise<number> {
  // `prodlike env | head -1`: a closed pipe ends the command, with no stack trace. Except where
  // the command must finish (`prodlike up | tee log` and Ctrl-C: tee dies with the terminal's
  // process group, and `up` still tears its stack down and exits as it would have).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
      outputClosed();
    });
  }
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    return reportError(err);
  }
}
