import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import type { StackOverrides } from "../config/resolve.js";
import { ProdlikeError } from "../errors.js";
import { up, type RunningStack } from "../stack.js";
import { isAlive, readState, stateDir } from "../state.js";
import { addProfileOptions, locate, makeLogger, profileOverrides, type GlobalOptions, type ProfileFlags } from "./context.js";
import { print, reportError } from "./output.js";

interface UpFlags extends ProfileFlags {
  detach?: boolean;
  port?: string;
  httpPort?: string;
  daemonChild?: boolean;
  watch?: boolean;
}

export function registerUp(program: Command, globals: () => GlobalOptions): void {
  const command = program
    .command("up")
    .description("build and start the app and its production-like services; Ctrl-C stops and removes them")
    .argument("[dir]", "the Django project (the folder with manage.py)", ".")
    .option("-d, --detach", "start in the background and return; stop later with `prodlike down`")
    .option("-p, --port <port>", "HTTPS port of the front on 127.0.0.1 (0 picks a free one)", parsePort)
    .option("--http-port <port>", "plain-HTTP port that redirects to HTTPS (0 picks a free one)", parsePort);
  addProfileOptions(command)
    .option("--no-watch", "do not watch the project: no reload or redeploy on save")
    .addOption(hidden("--daemon-child"))
    .addHelpText(
      "after",
      `
Examples:
  prodlike up                      the project in this folder, in the foreground
  prodlike up -d fixtures/render-supabase && curl -k https://127.0.0.1:8443/auth/health/
  prodlike up --plan starter -e CONN_MAX_AGE=0

Reads render.yaml, Procfile, runtime.txt/.python-version, requirements.txt, build.sh, .env and
prodlike.yaml. The app gets DEBUG=False, PORT=10000, DATABASE_URL (through PgBouncer, sslmode=require),
REDIS_URL and Render's RENDER_* variables, as in production.`,
    )
    .action(async (dir: string, flags: UpFlags) => {
      process.exitCode = flags.detach ? await detach(dir, globals()) : await foreground(dir, flags, globals());
    });
}

function hidden(flags: string): Option {
  return new Option(flags).hideHelp();
}

function parsePort(value: string): string {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ProdlikeError("CONFIG_INVALID", `--port "${value}" is not a port number: use 0-65535 (0 picks a free one)`);
  }
  return value;
}

function overridesFrom(flags: UpFlags): StackOverrides {
  return {
    httpsPort: flags.port === undefined ? undefined : Number(flags.port),
    httpPort: flags.httpPort === undefined ? undefined : Number(flags.httpPort),
    ...profileOverrides(flags),
  };
}

async function foreground(dir: string, flags: UpFlags, globals: GlobalOptions): Promise<number> {
  const logger = makeLogger(globals);
  let stack: RunningStack | undefined;
  let stopRequested: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write("\nforced exit: containers may be left; `prodlike down` removes them\n");
      process.exit(130);
    }
    logger.info({ signal }, "stopping (Ctrl-C again to force)");
    stopRequested?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const starting = up(dir, {
      logger,
      watch: flags.watch !== false,
      overrides: overridesFrom(flags),
      onResolved: (description) => {
        for (const warning of description.warnings) logger.warn(warning);
        logger.info(
          { project: description.project, plan: description.app.plan, start: description.app.startCommand },
          `starting ${description.app.serviceName} (${description.app.publicHost})`,
        );
      },
    });
    const first = await Promise.race([starting.then((s) => ({ stack: s })), stopped.then(() => null)]);
    if (first === null) {
      // Interrupted while starting: let `up` finish or fail, then tear down what it made.
      stack = await starting.catch(() => undefined);
      await stack?.down();
      return 130;
    }
    stack = first.stack;
    summary(stack, flags.daemonChild === true);
    await stopped;
    await stack.down();
    return 0;
  } catch (err) {
    return reportError(err, logger);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function summary(stack: RunningStack, quiet: boolean): void {
  if (quiet) return;
  const { app } = stack.description;
  print("");
  print(`  ${app.serviceName} is up, as on Render (${app.plan} plan, ${app.limits.memoryMb} MB)`);
  print(`  app        ${stack.url}   (Host: ${app.publicHost}; the CA: ~/.prodlike/ca/ca.pem)`);
  print(`  http       ${stack.httpUrl}   (301 → https)`);
  print(`  database   ${stack.env.DATABASE_URL}`);
  print(`  redis      ${stack.env.REDIS_URL}`);
  print("");
  print("  Ctrl-C stops and removes the stack (the database volume is kept).");
  print("");
}

/** `up -d`: the same `up` in a background process that keeps the front running. */
async function detach(dir: string, globals: GlobalOptions): Promise<number> {
  const { dir: absolute, state } = await locate(dir);
  if (state && isAlive(state.pid) && state.status !== "failed") {
    return reportError(new ProdlikeError("STACK_RUNNING", `a stack for ${absolute} is already running (pid ${state.pid}): \`prodlike status\` shows it, \`prodlike down\` stops it`));
  }
  await mkdir(stateDir(absolute), { recursive: true });
  const logFile = join(stateDir(absolute), "up.log");
  const out = openSync(logFile, "w");
  const args = process.argv.slice(2).filter((a) => a !== "-d" && a !== "--detach");
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args, "--daemon-child", "--log-format", "json"], {
    detached: true,
    stdio: ["ignore", out, out],
    cwd: process.cwd(),
  });
  child.unref();
  process.stderr.write(`starting in the background (pid ${child.pid}); its log: ${logFile}\n`);
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await readState(resolve(absolute));
    const mine = now !== null && now.pid === child.pid ? now : null;
    if (mine?.status === "running") {
      print(`up: ${mine.urls?.app}`);
      for (const [key, value] of Object.entries(mine.hostEnv ?? {})) print(`${key}=${value}`);
      return 0;
    }
    if (mine?.status === "failed") {
      process.stderr.write(`\nerror: ${mine.error}\n(full log: ${logFile})\n`);
      return 1;
    }
    if (!isAlive(child.pid!)) {
      process.stderr.write(`\nerror: the background process exited before the stack was up; its log (${logFile}) says why\n`);
      return 1;
    }
  }
}
