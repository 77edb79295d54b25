import { PassThrough } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { formatJsonLine, serviceColour } from "../../src/log-format.js";
import { createLogger } from "../../src/logger.js";

/** A destination that says it is (or is not) a terminal, and keeps what was written. */
function sink(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream, lines: () => text.split("\n").filter(Boolean) };
}

const GUNICORN = "[2026-11-29 21:33:57 +0000] [9] [INFO] Booting worker with pid: 9";

describe("terminal log lines", () => {
  it("prints a line the app printed once, as `app       | <line>`, with no second time, level or service field", () => {
    const out = sink(true);
    createLogger({ format: "pretty", destination: out.stream }).child({ service: "app" }).info(GUNICORN);
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(stripVTControlCharacters(lines[0]!)).toBe(`app       | ${GUNICORN}`);
    expect(lines[0]).not.toMatch(/INFO:|service|"app"/);
  });

  it("sets prodlike's own events apart: under `prodlike`, dimmed, facts on the same line", () => {
    const out = sink(true);
    const logger = createLogger({ format: "pretty", destination: out.stream });
    logger.info({ project: "p-1", start: "gunicorn config.wsgi" }, "starting web");
    logger.child({ service: "minio" }).info({ seconds: "1.3" }, "minio ready");
    logger.warn(".env:3: the value of A opens with \" and never closes");
    const [starting, ready, warning] = out.lines();
    expect(stripVTControlCharacters(starting!)).toBe('prodlike  | starting web  project=p-1 start="gunicorn config.wsgi"');
    expect(starting).toContain("\u001b[2m");
    expect(stripVTControlCharacters(ready!)).toBe("prodlike  | minio ready  seconds=1.3");
    expect(stripVTControlCharacters(warning!)).toBe('prodlike  | warning: .env:3: the value of A opens with " and never closes');
    expect(warning).toContain("\u001b[33m");
  });

  it("prints build output under `build`, and the same service in the same colour every time", () => {
    const out = sink(true);
    createLogger({ format: "pretty", destination: out.stream }).child({ component: "build", service: "app" }).info("Collecting Django==5.2");
    expect(stripVTControlCharacters(out.lines()[0]!)).toBe("build     | Collecting Django==5.2");
    createLogger({ format: "pretty", destination: out.stream }).child({ component: "pre-deploy", service: "app" }).info("Applying notes.0001_initial... OK");
    expect(stripVTControlCharacters(out.lines()[1]!)).toBe("predeploy | Applying notes.0001_initial... OK");
    expect(serviceColour("app")).toBe(serviceColour("app"));
    expect(new Set(["app", "build", "postgres", "pgbouncer", "redis", "minio", "platform"].map(serviceColour)).size).toBe(7);
  });

  it("has no colours when the destination is not a terminal", () => {
    const out = sink(false);
    createLogger({ format: "pretty", destination: out.stream }).child({ service: "app" }).info(GUNICORN);
    expect(out.lines()).toEqual([`app       | ${GUNICORN}`]);
  });

  it("keeps pino's ndjson, unchanged, off a terminal", () => {
    const out = sink(false);
    createLogger({ destination: out.stream }).child({ service: "app" }).info(GUNICORN);
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, service: "app", msg: GUNICORN });
    expect(Object.keys(JSON.parse(lines[0]!)).sort()).toEqual(["level", "msg", "service", "time"]);
  });

  it("passes through text that is not a pino record", () => {
    expect(formatJsonLine("plain text", false)).toBe("plain text");
    expect(formatJsonLine("[1,2]", false)).toBe("[1,2]");
  });
});
