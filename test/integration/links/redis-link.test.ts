import net from "node:net";
import tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { RedisLink } from "../../../src/links/redis/redis-link.js";
import { command, fakeRedis } from "./fake-redis.js";
import { useTempCa } from "../../helpers/ca.js";
import { cleanup, disposers } from "./helpers.js";

const temp = useTempCa();
afterEach(cleanup);

async function setup(toxics: unknown[] = []) {
  const redis = await fakeRedis();
  const clock = new VirtualClock();
  const link = await new RedisLink({
    name: "redis",
    upstream: { host: "127.0.0.1", port: redis.port },
    clock,
    tls: { ca: temp.ca, names: ["localhost", "127.0.0.1"] },
    toxics,
  }).start();
  disposers.push(() => link.stop());
  return { redis, clock, link };
}

async function tlsClient(port: number) {
  const socket = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: temp.ca.certPem });
  const state = { text: "", closed: false, error: undefined as string | undefined };
  socket.setEncoding("latin1");
  socket.on("data", (d: string) => (state.text += d));
  socket.on("close", () => (state.closed = true));
  socket.on("error", (e: NodeJS.ErrnoException) => (state.error = e.code));
  disposers.push(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  return { socket, state };
}

describe("RedisLink", { timeout: 20_000 }, () => {
  it("speaks TLS from the first byte and forwards RESP, counting requests", async () => {
    const { link, redis } = await setup();
    const c = await tlsClient(link.port);
    c.socket.write(command("SET", "k", "v") + command("GET", "k"));
    await expect.poll(() => c.state.text).toBe("+OK\r\n$1\r\nv\r\n");
    expect(redis.seen.commands).toEqual([["SET", "k", "v"], ["GET", "k"]]);
    expect(link.requests).toBe(2);
  });

  it("resets a plaintext client, as Upstash does (read ECONNRESET)", async () => {
    const { link, redis } = await setup();
    const plain = net.connect(link.port, "127.0.0.1");
    const state = { error: undefined as string | undefined, closed: false };
    plain.on("error", (e: NodeJS.ErrnoException) => (state.error = e.code));
    plain.on("close", () => (state.closed = true));
    plain.write(command("PING"));
    await expect.poll(() => state.closed).toBe(true);
    expect(state.error).toBe("ECONNRESET");
    expect(redis.seen.commands).toEqual([]);
    const c = await tlsClient(link.port);
    c.socket.write(command("PING"));
    await expect.poll(() => c.state.text).toBe("+PONG\r\n");
  });

  it("request limit: commands beyond the quota get Upstash's error, in order with real replies", async () => {
    const { link, redis } = await setup([{ type: "request_limit", attributes: { limit: 2 } }]);
    const c = await tlsClient(link.port);
    c.socket.write(command("SET", "a", "1") + command("GET", "a") + command("GET", "a") + command("PING"));
    const refusal =
      "-ERR max requests limit exceeded. Limit: 2, Usage: 2. See https://upstash.com/docs/redis/troubleshooting/max_requests_limit for details\r\n";
    await expect.poll(() => c.state.text).toBe(`+OK\r\n$1\r\n1\r\n${refusal}${refusal}`);
    expect(redis.seen.commands).toHaveLength(2);
    expect(link.usage("request_limit_downstream")).toBe(2);
  });

  it("max request size: a big command is refused, the next one served", async () => {
    const { link, redis } = await setup([{ type: "max_request_size", attributes: { bytes: 1000 } }]);
    const c = await tlsClient(link.port);
    c.socket.write(command("SET", "big", "x".repeat(5000)) + command("ECHO", "after"));
    await expect.poll(() => c.state.text).toBe("-ERR max request size exceeded\r\n$5\r\nafter\r\n");
    expect(redis.seen.commands).toEqual([["ECHO", "after"]]);
  });

  it("a bulk longer than proto-max-bulk-len gets Redis' protocol error at its header, and the connection closes", async () => {
    const { link, redis } = await setup();
    const c = await tlsClient(link.port);
    c.socket.write("*1\r\n$1000000000\r\n");
    await expect.poll(() => c.state.closed).toBe(true);
    expect(c.state.text).toBe("-ERR Protocol error: invalid bulk length\r\n");
    expect(redis.seen.bytes).toBe(0);
  });

  it("streams a long command to Redis as it arrives instead of holding it whole", async () => {
    const { link, redis } = await setup();
    const c = await tlsClient(link.port);
    const value = "s".repeat(4 * 1024 * 1024);
    const wire = command("SET", "big", value);
    const half = Math.floor(wire.length / 2);
    c.socket.write(wire.slice(0, half));
    // Redis gets the first half before the client has sent the rest.
    await expect.poll(() => redis.seen.bytes, { timeout: 10_000 }).toBe(half);
    c.socket.write(wire.slice(half) + command("GET", "big"));
    await expect.poll(() => c.state.text.length, { timeout: 10_000 }).toBe(`+OK\r\n$${value.length}\r\n${value}\r\n`.length);
    expect(c.state.text.startsWith("+OK\r\n$4194304\r\n")).toBe(true);
    expect(redis.seen.commands.map((args) => args[0])).toEqual(["SET", "GET"]);
    expect(link.requests).toBe(2);
  });

  it("max request size: a long command over it is refused at its header and dropped as it streams, the next one served", async () => {
    const { link, redis } = await setup([{ type: "max_request_size", attributes: { bytes: 10 * 1024 * 1024 } }]);
    const c = await tlsClient(link.port);
    const wire = command("SET", "huge", "h".repeat(12 * 1024 * 1024));
    c.socket.write(wire.slice(0, 1000));
    // Refused before the value's bytes have come: the header declares 12 MB.
    await expect.poll(() => c.state.text).toBe("-ERR max request size exceeded\r\n");
    c.socket.write(wire.slice(1000) + command("ECHO", "after"));
    await expect.poll(() => c.state.text, { timeout: 10_000 }).toBe("-ERR max request size exceeded\r\n$5\r\nafter\r\n");
    expect(redis.seen.commands).toEqual([["ECHO", "after"]]);
    expect(redis.seen.bytes).toBe(command("ECHO", "after").length);
    expect(c.state.closed).toBe(false);
  });

  it("max concurrent connections: the one beyond the limit gets Upstash's error and is closed", async () => {
    const { link } = await setup([{ type: "max_connections", attributes: { limit: 1 } }]);
    const first = await tlsClient(link.port);
    first.socket.write(command("PING"));
    await expect.poll(() => first.state.text).toBe("+PONG\r\n");
    const second = await tlsClient(link.port);
    await expect.poll(() => second.state.closed).toBe(true);
    expect(second.state.text).toBe("-ERR max concurrent connections exceeded\r\n");
  });

  it("idle drop closes an idle TLS connection on clock.advance", async () => {
    const { link, clock } = await setup([{ type: "idle_drop", attributes: { timeout: "5m" } }]);
    const c = await tlsClient(link.port);
    c.socket.write(command("PING"));
    await expect.poll(() => c.state.text).toBe("+PONG\r\n");
    await clock.advance(4 * 60_000);
    expect(c.state.closed).toBe(false);
    await clock.advance(2 * 60_000);
    await expect.poll(() => c.state.closed).toBe(true);
    expect(c.state.error).toBeUndefined();
  });

  it("carries a large value both ways intact", async () => {
    const { link } = await setup();
    const c = await tlsClient(link.port);
    const value = "v".repeat(3_000_000);
    c.socket.write(command("SET", "big", value) + command("GET", "big"));
    await expect.poll(() => c.state.text.length, { timeout: 10_000 }).toBe(5 + `$3000000\r\n`.length + 3_000_002);
    expect(c.state.text.endsWith(`${value}\r\n`)).toBe(true);
  });
});
