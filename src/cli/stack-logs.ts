import { followLogs } from "../engine/containers.js";
import { connectEngine } from "../engine/docker.js";
import { findServiceContainer } from "../engine/inspect.js";
import { ProdlikeError } from "../errors.js";
import { formatJsonLine } from "../log-format.js";
import type { LogFormat } from "../logger.js";

type Out = NodeJS.WritableStream & { isTTY?: boolean };

/** Whether `out` gets colours: a terminal, unless NO_COLOR is set (no-color.org). */
export function wantsColour(out: Out): boolean {
  return out.isTTY === true && !process.env.NO_COLOR;
}

/** The format a command's log lines take: the flag, else compose-style on a terminal and ndjson off it. */
export function logFormatFor(out: Out, chosen?: LogFormat): LogFormat {
  return chosen ?? (out.isTTY ? "pretty" : "json");
}

/**
 * Print what the stack's platform prints while `up` runs in the foreground: the app's lines
 * (the platform follows every app container, across wakes and restarts) and the platform's own
 * events. ndjson as the platform writes it, or one compose-style line per record. Returns a stop function.
 */
export async function tailPlatform(project: string, format: LogFormat, out: Out = process.stderr): Promise<() => void> {
  const docker = await connectEngine();
  const id = await findServiceContainer(docker, project, "platform");
  if (!id) throw new ProdlikeError("STACK_NOT_FOUND", `the platform container of ${project} is gone: run \`prodlike up\` again`);
  const colour = wantsColour(out);
  return followLogs(docker, docker.getContainer(id), (line) => {
    out.write(format === "json" ? `${line}\n` : `${formatJsonLine(line, colour)}\n`);
  });
}
