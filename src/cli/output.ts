import type { Logger } from "pino";
import { isProdlikeError } from "../errors.js";

let closedOutputEndsCommand = true;

/**
 * For a command that must finish its work even when the reader of its output is gone: the
 * foreground `up`, whose `| tee` dies with Ctrl-C while the stack still has to be torn down.
 */
export function outliveClosedOutput(): void {
  closedOutputEndsCommand = false;
}

/**
 * stdout or stderr got EPIPE (`prodlike logs -f | head -1`): the command ends there, quietly, or
 * (see outliveClosedOutput) goes on with nothing more written to the closed stream.
 */
export function outputClosed(): void {
  if (closedOutputEndsCommand) process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
}

/** Command output (not logs) goes to stdout. */
export function print(text = ""): void {
  // Its reader went away (EPIPE, see main.ts): the output has nowhere to go.
  if (process.stdout.destroyed) return;
  process.stdout.write(`${text}\n`);
}

/** Print an error the way its kind deserves and return the exit code. */
export function reportError(err: unknown, logger?: Logger): number {
  if (isProdlikeError(err) && err.isUserError()) {
    process.stderr.write(`\nerror: ${err.message}\n`);
    return 1;
  }
  logger?.flush?.();
  process.stderr.write(`\nprodlike failed unexpectedly (a bug: please report it with the lines below)\n`);
  let current: unknown = err;
  let depth = 0;
  while (current && depth < 5) {
    process.stderr.write(`${depth === 0 ? "" : "caused by: "}${current instanceof Error ? current.stack ?? current.message : String(current)}\n`);
    current = current instanceof Error ? current.cause : undefined;
    depth++;
  }
  return 2;
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd()).join("\n");
}
