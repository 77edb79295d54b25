/** Wide enough for every service name ("pgbouncer"), so the bars line up as compose's do. */
export const NAME_WIDTH = 9;
/** The name prodlike's own events are printed under. */
export const OWN_NAME = "prodlike";

// SGR codes (open, close). node:util styleText checks the stream itself in some Node versions; here the caller decides.
const STYLES = {
  dim: [2, 22], red: [31, 39], yellow: [33, 39], green: [32, 39], blue: [34, 39], magenta: [35, 39], cyan: [36, 39],
  greenBright: [92, 39], blueBright: [94, 39], magentaBright: [95, 39], cyanBright: [96, 39],
} as const;
type Colour = keyof typeof STYLES;
// compose's rotation, minus the colours that mean something here (red errors, yellow warnings, dim events).
const PALETTE: readonly Colour[] = ["cyan", "green", "magenta", "blue", "cyanBright", "greenBright", "magentaBright", "blueBright"];

// The stack's own services each get their own; other names (a worker) are hashed into the palette.
const KNOWN: Readonly<Record<string, Colour>> = {
  app: "cyan", build: "cyanBright", predeploy: "cyanBright", postgres: "blue", pgbouncer: "blueBright", redis: "magenta", minio: "green", platform: "magentaBright",
};

/** The same colour for a service on every line and in every command. */
export function serviceColour(name: string): Colour {
  const known = KNOWN[name];
  if (known) return known;
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length]!;
}

function paint(colour: boolean, style: Colour, text: string): string {
  const [open, close] = STYLES[style];
  return colour ? `\u001b[${open}m${text}\u001b[${close}m` : text;
}

/** `app       | ` with the bar, coloured per service when `colour`. */
export function servicePrefix(name: string, colour: boolean): string {
  return paint(colour, serviceColour(name), `${name.padEnd(NAME_WIDTH)} |`) + " ";
}

/** One line a service printed, compose style. */
export function formatServiceLine(name: string, line: string, colour: boolean): string {
  return `${servicePrefix(name, colour)}${line}`;
}

export interface LogRecord {
  readonly level?: number;
  readonly time?: number;
  readonly msg?: string;
  readonly service?: string;
  readonly component?: string;
  readonly [key: string]: unknown;
}

// Fields pino or a child's bindings add: a record with nothing else is a line a service printed.
const CONTEXT = new Set(["level", "time", "msg", "service", "component", "pid", "hostname"]);

/**
 * One pino record as one terminal line: a line a service printed (`logger.child({service}).info(line)`,
 * no fields of its own) as `app       | <line>`, with no second timestamp or level; anything
 * else is prodlike's own event, `prodlike  | <msg> key=value`, dimmed (warnings yellow, errors red).
 */
export function formatRecord(record: LogRecord, colour: boolean): string {
  const level = record.level ?? 30;
  const msg = record.msg ?? "";
  const fields = Object.entries(record).filter(([key]) => !CONTEXT.has(key));
  const printedBy = outputOf(record);
  if (printedBy) return formatServiceLine(printedBy, msg, colour);
  const facts = fields.map(([key, value]) => `${key}=${show(value)}`).join(" ");
  const label = level >= 50 ? "error: " : level >= 40 ? "warning: " : "";
  const text = `${label}${msg}${facts ? `  ${facts}` : ""}`;
  const style: Colour = level >= 50 ? "red" : level >= 40 ? "yellow" : "dim";
  return `${paint(colour, "dim", `${OWN_NAME.padEnd(NAME_WIDTH)} |`)} ${paint(colour, style, text)}`;
}

function show(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) || value === "" ? JSON.stringify(value) : value;
  if (value && typeof value === "object" && "message" in value) return JSON.stringify((value as { message: unknown }).message);
  return JSON.stringify(value) ?? String(value);
}

/** The name a record prints under when it is a line a service printed ("build" for build output), else null. */
export function outputOf(record: LogRecord): string | null {
  if (!record.service || (record.level ?? 30) !== 30) return null;
  if (Object.keys(record).some((key) => !CONTEXT.has(key))) return null;
  // The one-off containers' output reads as theirs, not as the running app's.
  if (record.component === "build") return "build";
  if (record.component === "pre-deploy") return "predeploy";
  return record.service;
}

/** A pino record from one line of JSON, or null when the line is not one. */
export function parseRecord(text: string): LogRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return null;
    throw err;
  }
  return value && typeof value === "object" && !Array.isArray(value) ? (value as LogRecord) : null;
}

/** A pino record's JSON text as a terminal line; text that is not a record is passed through. */
export function formatJsonLine(text: string, colour: boolean): string {
  const record = parseRecord(text);
  return record ? formatRecord(record, colour) : text;
}

const CLEAR_LINE = "\r\u001b[2K";

/**
 * A pino destination that prints each record as one terminal line on `out`. With `live`, a
 * progress record (`live: true`) is drawn over the previous one on the same line, and cleared
 * before any other line (`live: "clear"` only clears it).
 */
export function terminalDestination(
  out: NodeJS.WritableStream & { columns?: number },
  options: { colour: boolean; live?: boolean },
): { write(chunk: string): boolean } {
  let shown = false;
  return {
    write(chunk: string): boolean {
      let text = "";
      for (const json of chunk.split("\n")) {
        if (!json) continue;
        const record = parseRecord(json);
        const live = record?.live;
        if (live !== undefined && !options.live) {
          if (live === true) text += `${formatRecord(withoutLive(record!), options.colour)}\n`;
          continue;
        }
        if (shown) text += CLEAR_LINE;
        shown = live === true;
        if (live === "clear") continue;
        if (live === true) {
          const line = formatRecord(withoutLive(record!), false).slice(0, Math.max(20, (out.columns || 80) - 1));
          text += options.colour ? `\u001b[2m${line}\u001b[22m` : line;
        } else text += `${record ? formatRecord(record, options.colour) : json}\n`;
      }
      return out.write(text);
    },
  };
}

function withoutLive(record: LogRecord): LogRecord {
  const { live: _live, ...rest } = record;
  return rest;
}
