import { pino, type Logger } from "pino";
import { terminalDestination } from "./log-format.js";

export type { Logger };
export type LogFormat = "pretty" | "json";

export interface LoggerOptions {
  format?: LogFormat;
  level?: string;
  /** Where log lines go; defaults to stderr so stdout stays for command output. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * The one root logger. Made by the CLI (or the API caller) and passed down, never global.
 * "pretty" prints compose-style lines (`app       | <line>`, prodlike's own events under
 * `prodlike`), coloured on a terminal; "json" (the default off a terminal) prints pino's ndjson.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.PRODLIKE_LOG_LEVEL ?? "info";
  const destination = options.destination ?? process.stderr;
  const tty = destination.isTTY === true;
  const format = options.format ?? (tty ? "pretty" : "json");
  if (format === "json") {
    return pino({ level, base: undefined }, destination as pino.DestinationStream);
  }
  const logger = pino({ level, base: undefined }, terminalDestination(destination, { colour: tty && !process.env.NO_COLOR, live: tty }));
  // Children are made with Object.create(parent): they see this too.
  if (tty) (logger as unknown as Record<symbol, boolean>)[LIVE_PROGRESS] = true;
  return logger;
}

const LIVE_PROGRESS = Symbol.for("prodlike.liveProgress");

/** Whether a logger prints to a terminal that redraws a live progress line (else: a line every few seconds). */
export function hasLiveProgress(logger: Logger): boolean {
  return (logger as unknown as Record<symbol, boolean | undefined>)[LIVE_PROGRESS] === true;
}

/** A logger that drops everything: the default for library callers who pass none. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
