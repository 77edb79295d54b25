import { describe, expect, it } from "vitest";
import { isProdlikeError } from "../../../src/errors.js";
import { parseToxic } from "../../../src/links/parse-toxic.js";

function message(input: unknown, kind?: "tcp" | "postgres" | "redis"): string {
  try {
    parseToxic(input, kind);
  } catch (err) {
    expect(isProdlikeError(err, "TOXIC_INVALID")).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected parseToxic to throw");
}

describe("parseToxic", () => {
  it("fills Toxiproxy's defaults: name type_stream, downstream, toxicity 1", () => {
    expect(parseToxic({ type: "latency", attributes: { latency: 100 } })).toEqual({
      type: "latency",
      name: "latency_downstream",
      stream: "downstream",
      toxicity: 1,
      attributes: { latency: 100, jitter: 0 },
    });
  });

  it("takes durations for millisecond attributes and strings from a CLI", () => {
    expect(parseToxic({ type: "idle_drop", attributes: { timeout: "16m", close_notify: "false" } }, "postgres").attributes).toEqual({
      timeout: 960_000,
      mode: "silent",
      close_notify: false,
    });
    expect(parseToxic({ type: "limit_data", attributes: { bytes: "100" } }).attributes).toEqual({ bytes: 100 });
  });

  it("names the toxic, the attribute and the allowed range", () => {
    expect(message({ type: "latency", name: "slow", attributes: { latency: -5 } })).toBe(
      'toxic "slow" (latency): attribute "latency" must be a number of ms from 0 to 3600000 (or a duration such as 500ms, 16m); got -5',
    );
    expect(message({ type: "bandwidth", attributes: { rate: 1.5 } })).toMatch(/attribute "rate" must be a whole number of KB\/s from 0/);
    expect(message({ type: "idle_drop", attributes: { mode: "loud" } }, "postgres")).toMatch(/attribute "mode" must be one of "silent", "fatal"; got "loud"/);
  });

  it("rejects unknown types, attributes, fields and a toxic on the wrong kind of link", () => {
    expect(message({ type: "lag" })).toMatch(/unknown toxic type "lag": use one of latency, bandwidth/);
    expect(message({ type: "latency", attributes: { delay: 1 } })).toMatch(/unknown attribute "delay"; latency takes latency, jitter/);
    expect(message({ type: "latency", toxicity: 2 })).toMatch(/toxicity/);
    expect(message({ type: "latency", colour: "red" })).toMatch(/colour/);
    expect(message({ type: "neon_suspend" }, "redis")).toMatch(/does not apply to a redis link; it applies to postgres links/);
  });
});
