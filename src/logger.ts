import { pino, type Logger } from "pino";

export type { Logger };
export type LogFormat = "pretty" | "json";

export interface LoggerOptions {
  format?: LogFormat;
  level?: string;
  /** Where log lines go; defaults to stderr so stdout stays for command output. */
  destination?: NodeJS.WritableStream;
}

/** The one root logger. Made by the CLI (or the API caller) and passed down, never global. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.PRODLIKE_LOG_LEVEL ?? "info";
  const destination = options.destination ?? process.stderr;
  const format = options.format ?? (process.stderr.isTTY ? "pretty" : "json");
  if (format === "json") {
    return pino({ level, base: undefined }, destination as pino.DestinationStream);
  }
  return pino(
    { level, base: undefined },
    pino.transport({
      target: "pino-pretty",
      options: { destination: 2, colorize: process.stderr.isTTY, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" },
    }),
  );
}

/** A logger that drops everything: the default for library callers who pass none. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
