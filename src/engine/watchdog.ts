import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { currentOwner, formatOwner } from "./owner.js";
import { cacheDir, PACKAGE_ROOT } from "./paths.js";

/**
 * The watchdog entry, compiled JS from `dist/` (also when prodlike runs from its sources under
 * a transformer such as vitest: the watchdog is a plain `node` process).
 */
export const WATCHDOG_ENTRY = join(PACKAGE_ROOT, "dist", "engine", "watchdog-main.js");
const LOG_LIMIT = 1024 * 1024;

let watchdog: ChildProcess | undefined;
let warned = false;
const watched = new Set<string>();

/**
 * Have this process's watchdog remove the project's containers and networks if this process
 * dies before `releaseStack` (kill -9 included: the kernel closes the watchdog's stdin). One
 * watchdog per process, started by the first stack; it never keeps this process alive.
 */
export function watchStack(project: string, logger: Logger): void {
  watched.add(project);
  const child = ensureWatchdog(logger);
  child?.stdin?.write(`watch ${project}\n`);
}

/** The stack is down (or handed over): the watchdog forgets it. */
export function releaseStack(project: string): void {
  if (!watched.delete(project)) return;
  watchdog?.stdin?.write(`release ${project}\n`);
}

/** The watchdog's pid, when one runs (for tests and `prodlike doctor`). */
export function watchdogPid(): number | undefined {
  return watchdog?.exitCode === null ? watchdog.pid : undefined;
}

function ensureWatchdog(logger: Logger): ChildProcess | undefined {
  if (watchdog && watchdog.exitCode === null && watchdog.signalCode === null) return watchdog;
  // Off: only the platform's owner watch removes the stack (tests of that watch alone use it).
  if (process.env.PRODLIKE_WATCHDOG === "off") return undefined;
  if (!existsSync(WATCHDOG_ENTRY)) {
    if (!warned) {
      warned = true;
      logger.warn(
        { entry: WATCHDOG_ENTRY },
        "no watchdog (prodlike is not built: run `npm run build`): if this process is killed, its containers stay until the next `prodlike up` or `prodlike prune`",
      );
    }
    return undefined;
  }
  const log = openLog();
  const child = spawn(process.execPath, [WATCHDOG_ENTRY, formatOwner(currentOwner())], {
    detached: true,
    stdio: ["pipe", "ignore", log ?? "ignore"],
    env: process.env,
  });
  if (log !== undefined) closeSync(log);
  child.on("error", (err) => logger.warn({ err }, "the watchdog could not start: leftovers of a killed process wait for the next `prodlike up`"));
  child.on("exit", () => {
    if (watchdog === child) watchdog = undefined;
  });
  child.stdin?.on("error", () => {});
  // Neither the process nor its pipe may keep this process alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  watchdog = child;
  // A watchdog started again (the previous one was killed) takes over every watched stack.
  for (const project of watched) child.stdin?.write(`watch ${project}\n`);
  logger.debug({ pid: child.pid }, "watchdog started");
  return child;
}

function openLog(): number | undefined {
  try {
    mkdirSync(cacheDir(), { recursive: true });
    const file = join(cacheDir(), "watchdog.log");
    const size = existsSync(file) ? statSync(file).size : 0;
    return openSync(file, size > LOG_LIMIT ? "w" : "a");
  } catch {
    return undefined;
  }
}
