import { PassThrough } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { linePrinter } from "../../../src/cli/logs.js";

function sink(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream, lines: () => text.split("\n").filter(Boolean) };
}

const relayed = JSON.stringify({ level: 30, time: 1, service: "app", msg: "GET / 200" });
const event = JSON.stringify({ level: 30, time: 1, service: "app", seconds: "2.7", msg: "app is up" });

describe("prodlike logs", () => {
  it("on a terminal: compose-style prefixes, the platform's records one line each, the app's lines once", () => {
    const out = sink(true);
    const print = linePrinter(["app", "platform", "postgres"], out.stream);
    print("app", "GET / 200");
    print("platform", relayed);
    print("platform", event);
    print("postgres", "LOG:  database system is ready");
    expect(out.lines().map((line) => stripVTControlCharacters(line))).toEqual([
      "app       | GET / 200",
      "prodlike  | app is up  seconds=2.7",
      "postgres  | LOG:  database system is ready",
    ]);
  });

  it("on a terminal, the platform alone shows the app's lines it relays", () => {
    const out = sink(true);
    linePrinter(["platform"], out.stream)("platform", relayed);
    expect(stripVTControlCharacters(out.lines()[0]!)).toBe("app       | GET / 200");
  });

  it("off a terminal: the lines as they are, ndjson included", () => {
    const out = sink(false);
    const print = linePrinter(["app", "platform"], out.stream);
    print("platform", relayed);
    expect(out.lines()).toEqual([`platform  | ${relayed}`]);
    const one = sink(false);
    linePrinter(["platform"], one.stream)("platform", event);
    expect(one.lines()).toEqual([event]);
  });
});
