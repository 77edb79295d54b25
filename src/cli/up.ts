import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import type { StackOverrides } from "../config/resolve.js";
import { connectEngine } from "../engine/docker.js";
import { isProdlikeError, ProdlikeError } from "../errors.js";
import { stackAlive, up, type RunningStack } from "../stack.js";
import { isAlive, stateDir, writeState } from "../state.js";
import { addProfileOptions, locate, makeLogger, profileOverrides, type GlobalOptions, type ProfileFlags } from "./context.js";
import { outliveClosedOutput, print, reportError } from "./output.js";
import { logFormatFor, tailPlatform } from "./stack-logs.js";

interface UpFlags extends ProfileFlags {
  detach?: boolean;
  port?: string;
  httpPort?: string;
  watch?: boolean;
}

export function registerUp(program: Command, globals: () => GlobalOptions): void {
  const command = program
    .command("up")
    .description("build and start the app and its production-like services; Ctrl-C stops and removes them")
    .argument("[dir]", "the Django project (the folder with manage.py)", ".")
    .option("-d, --detach", "leave the stack running in the engine and return (no watch); stop it with `prodlike down`")
    .option("-p, --port <port>", "HTTPS port of the front on 127.0.0.1 (0 picks a free one)", parsePort)
    .option("--http-port <port>", "plain-HTTP port that redirects to HTTPS (0 picks a free one)", parsePort);
  addProfileOptions(command)
    .option("--no-watch", "do not watch the project: no reload or redeploy on save")
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
      process.exitCode = flags.detach ? await detach(dir, flags, globals()) : await foreground(dir, flags, globals());
    });
}

/**
 * Keep why `up` failed where `prodlike status` reads it. `up` records the failures of a start
 * under way itself; this records those before it (a bad render.yaml or prodlike.yaml, no
 * engine), but never over the state of a stack that runs (`up` twice).
 */
async function recordFailure(dir: string, err: unknown): Promise<void> {
  if (isProdlikeError(err) && err.code === "STACK_RUNNING") return;
  const where = await locate(dir);
  // Only in a Django project or a folder prodlike already keeps state in: `up` in a wrong folder
  // (or one that does not exist) must not leave a .prodlike/ there.
  const present = (path: string) =>
    stat(path).then(
      () => true,
      (statErr: NodeJS.ErrnoException) => {
        if (statErr.code === "ENOENT" || statErr.code === "ENOTDIR") return false;
        throw statErr;
      },
    );
  if (!(await present(join(where.dir, "manage.py"))) && !(await present(stateDir(where.dir)))) return;
  const previous = where.state;
  if (previous && previous.status !== "failed" && previous.pid !== process.pid) {
    const docker = await connectEngine().catch((engineErr: unknown) => {
      if (isProdlikeError(engineErr) && engineErr.code === "ENGINE_UNAVAILABLE") return null;
      throw engineErr;
    });
    // Without an engine no detached stack runs; a foreground one is known by its pid.
    const alive = docker ? await stackAlive(docker, previous.project, previous.pid, previous.detached) : !previous.detached && isAlive(previous.pid);
    if (alive) return;
  }
  await writeState(where.dir, {
    project: where.project,
    dir: where.dir,
    pid: process.pid,
    status: "failed",
    startedAt: new Date().toISOString(),
    error: err instanceof Error ? err.message : String(err),
  });
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
  // The stack goes down on Ctrl-C even when the reader of this output died with the same ^C.
  outliveClosedOutput();
  let stack: RunningStack | undefined;
  let stopRequested: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  let signals = 0;
  // Ended by Ctrl-C (or `kill`): exit 128 + the signal's number once the stack is down, as a shell
  // reports a command that a signal ended and as `docker compose up` exits on Ctrl-C.
  let interrupted = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    interrupted ||= signal === "SIGTERM" ? 143 : 130;
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
      return interrupted;
    }
    stack = first.stack;
    summary(stack);
    const stopTail = await tailPlatform(stack.description.project, logFormatFor(process.stderr, globals.logFormat)).catch((err: unknown) => {
      logger.warn({ err }, "the app's lines cannot be shown here: `prodlike logs -f` shows them");
      return () => {};
    });
    // The stack runs in the engine: nothing of it holds this process open, yet it owns the stack until Ctrl-C.
    const keepAlive = setInterval(() => {}, 3_600_000);
    await stopped.finally(() => (clearInterval(keepAlive), stopTail()));
    await stack.down();
    return interrupted;
  } catch (err) {
    await recordFailure(dir, err).catch((recordErr: unknown) => logger.debug({ err: recordErr }, "could not record the failure for `prodlike status`"));
    return reportError(err, logger);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function summary(stack: RunningStack): void {
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

/**
 * `up -d`: the same `up`, detached: the stack lives in the engine (its platform container runs
 * the front, the links and the app's wakes and restarts) and this process returns. Nothing of
 * prodlike keeps running on this machine; `prodlike down` removes the stack.
 */
async function detach(dir: string, flags: UpFlags, globals: GlobalOptions): Promise<number> {
  const logger = makeLogger(globals);
  try {
    const stack = await up(dir, {
      logger,
      detach: true,
      overrides: overridesFrom(flags),
      onResolved: (description) => {
        for (const warning of description.warnings) logger.warn(warning);
      },
    });
    print(`up: ${stack.url}`);
    for (const [key, value] of Object.entries(stack.env)) print(`${key}=${value}`);
    if (flags.watch !== false) process.stderr.write("detached: files are not watched (run `prodlike up` in the foreground to reload on save)\n");
    return 0;
  } catch (err) {
    await recordFailure(dir, err).catch((recordErr: unknown) => logger.debug({ err: recordErr }, "could not record the failure for `prodlike status`"));
    return reportError(err, logger);
  }
}
