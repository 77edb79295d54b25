import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { createControlServer, type ControlServer } from "../../../src/links/control-server.js";
import { Link } from "../../../src/links/link.js";
import { LinkSet } from "../../../src/links/link-set.js";
import { cleanup, disposers, echoServer } from "../links/helpers.js";
import { nearlyValid, oddText } from "./mutate.js";
import { fuzzListener, type Target } from "./process-health.js";

const TOKEN = "s3cret";
let control: ControlServer;

beforeAll(async () => {
  const echo = await echoServer();
  const clock = new VirtualClock();
  const links = new LinkSet([await new Link({ name: "db", upstream: { host: "127.0.0.1", port: echo.port }, clock }).start()]);
  disposers.push(() => links.stop());
  control = await createControlServer({ links, clock, token: TOKEN });
  disposers.push(() => control.stop());
});
afterAll(cleanup);

const segment = fc.oneof(
  fc.constantFrom("links", "db", "redis", "toxics", "reset", "connections", "clock", "advance", "edge", "sleep", "wake", "..", "."),
  fc.constantFrom("%", "%E0%A4%A", "%FF", "%00", "%2F", "%zz", "%C0%AF"),
  fc.webSegment(),
  oddText.map((s) => encodeURIComponent(s)),
);
const path = fc.array(segment, { maxLength: 5 }).map((parts) => `/${parts.join("/")}`);
const target = fc.oneof({ arbitrary: path, weight: 4 }, fc.constantFrom("*", "http://[", "http://control/links", "//links", "/links?x=%", "/links#frag"), oddText.filter((s) => !/[\s]/.test(s)));
const json = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.record({ type: fc.constantFrom("latency", "timeout", "bandwidth", "slicer", "reset_peer", "limit_data", "nope"), name: oddText, stream: oddText, toxicity: fc.oneof(fc.double(), fc.string()), attributes: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })) }).map((o) => JSON.stringify(o)),
  fc.record({ ms: fc.oneof(fc.integer(), fc.double(), fc.string()), duration: oddText }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  oddText,
);
const valid = fc
  .record({ method: fc.constantFrom("GET", "POST", "DELETE", "PUT", "PATCH"), target, body: json, token: fc.oneof({ arbitrary: fc.constant(TOKEN), weight: 5 }, oddText) })
  .map(({ method, target: url, body, token }) => {
    const length = Buffer.byteLength(body);
    return Buffer.from(`${method} ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n${body}`);
  });
const structured = [
  fc.integer({ min: 65_000, max: 70_000 }).map((n) => Buffer.from(`POST /links/db/toxics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${n}\r\n\r\n${"{".repeat(n)}`)),
  fc.tuple(oddText, oddText).map(([cl, body]) => Buffer.from(`POST /clock/advance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${cl}\r\n\r\n${body}`)),
];
const badRequest = nearlyValid(valid, structured);

/** Answers are HTTP with a status the API means (4xx for a bad request); a 5xx means a request reached code that did not expect it. */
function checkReply(reply: Buffer): void {
  if (reply.length === 0) return;
  const text = reply.toString("latin1");
  expect(text.slice(0, 9)).toBe("HTTP/1.1 ");
  expect(text.slice(9, 10), text.slice(0, 400)).not.toBe("5");
}

describe("the control API under malformed requests", () => {
  it("answers 2xx/4xx or closes, never 5xx or a crash, and stays healthy", async () => {
    const to: Target = { port: control.port };
    const probe = async () => {
      const res = await fetch(`${control.url}/links`, { headers: { authorization: `Bearer ${TOKEN}`, connection: "close" } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { links: { name: string }[] }).links.map((l) => l.name)).toEqual(["db"]);
    };
    await fuzzListener({
      name: "control API",
      target: to,
      inputs: badRequest,
      probe,
      kind: (result) => result.reply.subarray(9, 12).toString("latin1") || "?",
      check: (result) => checkReply(result.reply),
    });
  });
});
