import tls from "node:tls";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { RedisLink } from "../../../src/links/redis/redis-link.js";
import { useTempCa } from "../../helpers/ca.js";
import { command, fakeRedis } from "../links/fake-redis.js";
import { cleanup, disposers } from "../links/helpers.js";
import { nearlyValid, oddText } from "./mutate.js";
import { exchange, expectRecovered, fuzzListener, measureBaseline, type Target } from "./process-health.js";

const temp = useTempCa();
let link: RedisLink;

beforeAll(async () => {
  const redis = await fakeRedis();
  // No opening timeout to hide behind: a connection whose client left must be released because it left.
  link = await new RedisLink({
    name: "redis",
    upstream: { host: "127.0.0.1", port: redis.port },
    clock: new VirtualClock(),
    tls: { ca: temp.ca, names: ["localhost", "127.0.0.1"] },
    openingTimeoutMs: 600_000,
  }).start();
  disposers.push(() => link.stop());
});
afterAll(cleanup);

const arg = fc.oneof(fc.stringMatching(/^[A-Za-z0-9:_-]{0,16}$/), fc.string({ maxLength: 20 }));
const valid = fc
  .array(fc.tuple(fc.constantFrom("PING", "SET", "GET", "ECHO", "DEL", "MULTI", "HELLO", "AUTH"), fc.array(arg, { maxLength: 3 })), { minLength: 1, maxLength: 3 })
  .map((commands) => Buffer.from(commands.map(([name, args]) => command(name, ...args)).join(""), "latin1"));
const inline = fc.array(arg, { minLength: 1, maxLength: 4 }).map((words) => Buffer.from(`${words.join(" ")}\r\n`));

/** RESP's own mistakes: counts and lengths that lie (negative, huge, not numbers), a bulk that is not '$', an inline line over 64 KB. */
const count = fc.oneof(fc.integer().map(String), oddText, fc.constantFrom("-1", "0", "1048577", "536870913", "99999999999999999999"));
const structured = [
  fc.tuple(count, fc.array(arg, { maxLength: 3 })).map(([n, args]) => Buffer.from(`*${n}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`)),
  fc.tuple(count, arg).map(([length, a]) => Buffer.from(`*1\r\n$${length}\r\n${a}\r\n`)),
  fc.tuple(fc.constantFrom("+", "-", ":", "%", "~", "\0", "#"), arg).map(([type, a]) => Buffer.from(`*1\r\n${type}${a}\r\n`)),
  fc.tuple(fc.constantFrom("\n", "\r", ""), arg).map(([eol, a]) => Buffer.from(`*1${eol}$${a.length}${eol}${a}${eol}`)),
  fc.integer({ min: 60_000, max: 70_000 }).map((n) => Buffer.from(`${"A".repeat(n)}\r\n`)),
  inline,
];
const badInput = nearlyValid(valid, structured);

const RESP_TYPES = "+-:$*_,#!=(%~>|";
function checkReply(reply: Buffer): void {
  if (reply.length === 0) return;
  expect(RESP_TYPES).toContain(String.fromCharCode(reply[0]!));
}

describe("the redis link under malformed RESP", () => {
  it("replies in RESP or closes, and stays healthy", async () => {
    const target: Target = { port: link.port, tls: { ca: temp.ca.certPem, servername: "localhost" } };
    const probe = async () => {
      const result = await exchange(target, Buffer.from(command("PING")), { deadlineMs: 5_000, until: (reply) => reply.toString() === "+PONG\r\n" });
      expect(result.reply.toString(), `PING through the redis link ended ${result.end}`).toBe("+PONG\r\n");
    };
    await fuzzListener({
      name: "redis link",
      target,
      inputs: badInput,
      probe,
      kind: (result) => {
        const text = result.reply.toString("latin1");
        return text.startsWith("-ERR Protocol error") ? "protocol-error" : (text[0] ?? "?");
      },
      check: (result) => checkReply(result.reply),
    });
  });

  it("releases a connection whose client left during the TLS handshake", async () => {
    const baseline = measureBaseline();
    // Clients that give up 0–40 ms after connecting: some before, some during, some after their handshake.
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const socket = tls.connect({ port: link.port, host: "127.0.0.1", ca: temp.ca.certPem, servername: "localhost" });
        socket.on("error", () => undefined); // the destroy below can race the handshake
        return new Promise<void>((resolve) => setTimeout(() => resolve(void socket.destroy()), i % 40));
      }),
    );
    await expect.poll(() => link.connections().map((c) => `${c.id}:${c.state}`), { timeout: 10_000, interval: 50 }).toEqual([]);
    await expectRecovered(baseline, async () => {
      const result = await exchange({ port: link.port, tls: { ca: temp.ca.certPem, servername: "localhost" } }, Buffer.from(command("PING")), { deadlineMs: 5_000, until: (r) => r.toString() === "+PONG\r\n" });
      expect(result.reply.toString()).toBe("+PONG\r\n");
    });
  });
});
