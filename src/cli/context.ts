import { resolve } from "node:path";
import { projectName } from "../config/resolve.js";
import { readState, type StackState } from "../state.js";
import { createLogger, type LogFormat, type Logger } from "../logger.js";

export interface GlobalOptions {
  readonly logFormat?: LogFormat;
  readonly logLevel?: string;
}

export function makeLogger(options: GlobalOptions): Logger {
  return createLogger({ format: options.logFormat, level: options.logLevel });
}

/** What a command knows about a project dir without reading its config (which may be broken). */
export async function locate(dir: string | undefined): Promise<{ dir: string; project: string; state: StackState | null }> {
  const absolute = resolve(dir ?? ".");
  return { dir: absolute, project: projectName(absolute), state: await readState(absolute) };
}
