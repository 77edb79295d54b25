import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Link } from "../../../src/links/link.js";
import { isProdlikeError } from "../../../src/errors.js";
import { cleanup, client, disposers, echoServer, newClock } from "./helpers.js";

afterEach(cleanup);

async function tcpLink(upstreamPort: number, toxics: unknown[] = []) {
  const link = await new Link({ name: "tcp", upstream: { host: "127.0.0.1", port: upstreamPort }, clock: newClock(), toxics }).start();
  disposers.push(() => link.stop());
  return link;
}

describe("Link (plain TCP)", { timeout: 15_000 }, () => {
  it("forwards both ways and lists the connection with byte counts", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port);
    expect(link.port).toBeGreaterThan(0);
    const c = client(link.port);
    c.socket.write("ping");
    await expect.poll(() => c.text()).toBe("ping");
    const [conn] = link.connections();
    expect(conn).toMatchObject({ bytesUp: 4, bytesDown: 4, state: "open" });
    expect(conn!.client).toMatch(/^127\.0\.0\.1:\d+$/);
    c.socket.end();
    await expect.poll(() => c.state.closed).toBe(true);
    await expect.poll(() => link.connections().length).toBe(0);
  });

  it("delays bytes by at least the latency toxic, added live", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port);
    const c = client(link.port);
    c.socket.write("a");
    await expect.poll(() => c.text()).toBe("a");
    link.addToxic({ type: "latency", stream: "downstream", attributes: { latency: 150 } });
    const start = performance.now();
    c.socket.write("b");
    await expect.poll(() => c.text()).toBe("ab");
    expect(performance.now() - start).toBeGreaterThanOrEqual(145);
    await link.removeToxic("latency_downstream");
    const again = performance.now();
    c.socket.write("c");
    await expect.poll(() => c.text()).toBe("abc");
    expect(performance.now() - again).toBeLessThan(140);
  });

  it("cuts data at N bytes with limit_data", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port, [{ type: "limit_data", stream: "downstream", attributes: { bytes: 5 } }]);
    const c = client(link.port);
    c.socket.write("0123456789");
    await expect.poll(() => c.state.closed).toBe(true);
    expect(c.text()).toBe("01234");
  });

  it("resets the connection with reset_peer", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port, [{ type: "reset_peer", attributes: { timeout: 50 } }]);
    const c = client(link.port);
    c.socket.write("x");
    await expect.poll(() => c.state.error).toBe("ECONNRESET");
  });

  it("down refuses new connections and closes open ones; removing it serves again on the same port", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port);
    const port = link.port;
    const open = client(port);
    open.socket.write("hi");
    await expect.poll(() => open.text()).toBe("hi");
    link.addToxic({ type: "down" });
    await expect.poll(() => open.state.closed).toBe(true);
    const refused = client(port);
    await expect.poll(() => refused.state.error).toBe("ECONNREFUSED");
    await link.removeToxic("down_downstream");
    expect(link.port).toBe(port);
    const back = client(port);
    back.socket.write("back");
    await expect.poll(() => back.text()).toBe("back");
  });

  it("rejects a duplicate toxic name and an unknown one clearly", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port);
    link.addToxic({ type: "latency", name: "slow", attributes: { latency: 10 } });
    expect(() => link.addToxic({ type: "bandwidth", name: "slow" })).toThrow(/already has a toxic named "slow"/);
    await expect(link.removeToxic("nope")).rejects.toThrow(/has no toxic named "nope"; it has slow/);
    let err: unknown;
    try {
      link.addToxic({ type: "idle_drop" });
    } catch (e) {
      err = e;
    }
    expect(isProdlikeError(err, "TOXIC_INVALID")).toBe(true);
    expect((err as Error).message).toMatch(/does not apply to a tcp link/);
  });

  it("survives 1,000 connections opened and dropped, and garbage, leaking no sockets", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port);
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      batch.push(
        new Promise<void>((resolve) => {
          const s = net.connect(link.port, "127.0.0.1", () => {
            s.write(Buffer.from([0xff, 0x00, i & 0xff]));
            if (i % 2) s.resetAndDestroy();
            else s.end();
          });
          s.on("error", () => {});
          s.resume();
          s.on("close", () => resolve());
        }),
      );
    }
    await Promise.all(batch);
    await expect.poll(() => link.connections().length, { timeout: 5000 }).toBe(0);
    await expect.poll(() => echo.sockets.size, { timeout: 5000 }).toBe(0);
    const c = client(link.port);
    c.socket.write("still here");
    await expect.poll(() => c.text()).toBe("still here");
  });

  it("stop() is idempotent and closes open connections", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port);
    const c = client(link.port);
    c.socket.write("x");
    await expect.poll(() => c.text()).toBe("x");
    await Promise.all([link.stop(), link.stop()]);
    await expect.poll(() => c.state.closed).toBe(true);
  });
});

describe("stream toxics over real sockets", { timeout: 15_000 }, () => {
  it("bandwidth: 20 KB at 100 KB/s takes about 200 ms", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port, [{ type: "bandwidth", stream: "downstream", attributes: { rate: 100 } }]);
    const c = client(link.port);
    const started = performance.now();
    c.socket.write(Buffer.alloc(20_000, 0x61));
    await expect.poll(() => c.state.data.length).toBe(20_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(180);
  });

  it("bandwidth rate=0: nothing passes while the toxic is there, and nothing is lost once it goes (Toxiproxy's meaning)", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port, [{ type: "bandwidth", name: "stall", stream: "downstream", attributes: { rate: 0 } }]);
    const c = client(link.port);
    c.socket.write("held back");
    // The bytes went up to the echo, which answers at once; its answer waits at the link.
    await expect.poll(() => link.connections()[0]?.bytesUp ?? 0).toBe(9);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(c.text()).toBe("");
    await link.removeToxic("stall");
    await expect.poll(() => c.text()).toBe("held back");
    expect(link.connections()).toHaveLength(1);
  });

  it("slicer: the client receives the data in several small reads", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port, [{ type: "slicer", attributes: { average_size: 10, delay: 5000 } }]);
    const c = client(link.port);
    let reads = 0;
    c.socket.on("data", () => reads++);
    c.socket.write("x".repeat(100));
    await expect.poll(() => c.state.data.length).toBe(100);
    expect(reads).toBeGreaterThanOrEqual(5);
  });

  it("timeout: data stops and the connection closes after the timeout", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port, [{ type: "timeout", stream: "upstream", attributes: { timeout: 200 } }]);
    const c = client(link.port);
    const started = performance.now();
    c.socket.write("lost");
    await expect.poll(() => c.state.closed).toBe(true);
    expect(c.text()).toBe("");
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("slow_close: the client's FIN reaches the service late", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port, [{ type: "slow_close", stream: "upstream", attributes: { delay: 200 } }]);
    const c = client(link.port);
    c.socket.write("bye");
    await expect.poll(() => c.text()).toBe("bye");
    const started = performance.now();
    c.socket.end();
    await expect.poll(() => c.state.closed).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("a half-open client (FIN sent, still reading) still gets its replies; others are served", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port, [{ type: "latency", attributes: { latency: 50 } }]);
    const half = client(link.port);
    half.socket.end("late reply please");
    await expect.poll(() => half.text()).toBe("late reply please");
    const other = client(link.port);
    other.socket.write("ok");
    await expect.poll(() => other.text()).toBe("ok");
  });

  it("toxicity 0 never applies; the draw is once per connection", async () => {
    const echo = await echoServer();
    const link = await tcpLink(echo.port, [{ type: "limit_data", toxicity: 0, attributes: { bytes: 1 } }]);
    const c = client(link.port);
    c.socket.write("whole");
    await expect.poll(() => c.text()).toBe("whole");
  });
});
