import { connect as connectTcp } from "node:net";
import { connect as connectTls, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { createEdge, type Edge } from "../../../src/edge/index.js";
import { get, LocalBackend, useTrustingClient } from "./harness.js";

const client = useTrustingClient();
let backend: LocalBackend;
let edge: Edge;

beforeAll(async () => {
  backend = new LocalBackend();
  edge = await createEdge({ serviceName: "shop", backend, clock: new VirtualClock(), ca: client.ca, headersTimeoutMs: 500 });
  expect((await get(client.agent, `${edge.httpsUrl}/warm`)).status).toBe(200);
});

afterAll(async () => {
  await edge.stop();
  await backend.stop();
});

function openTls(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: "127.0.0.1", port: edge.ports.https, servername: "shop.onrender.localhost", ca: client.ca.certPem }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Everything the edge sends until it closes the connection. */
function readUntilClosed(socket: TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    socket.on("error", () => undefined);
    socket.once("close", () => resolve(text));
  });
}

async function normalRequestIsFast(): Promise<void> {
  const started = performance.now();
  const reply = await get(client.agent, `${edge.httpsUrl}/normal`);
  expect(reply.status).toBe(200);
  expect(performance.now() - started).toBeLessThan(250);
}

describe("bad HTTP is answered or closed without harming other clients", () => {
  it("answers a malformed request line with 400 and closes", async () => {
    const socket = await openTls();
    const answer = readUntilClosed(socket);
    socket.write("THIS IS NOT HTTP\r\n\r\n");
    await normalRequestIsFast();
    expect(await answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it("answers oversized headers with 431 and closes", async () => {
    const socket = await openTls();
    const answer = readUntilClosed(socket);
    socket.write(`GET / HTTP/1.1\r\nHost: shop.onrender.localhost\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`);
    await normalRequestIsFast();
    expect(await answer).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(backend.upstream.seen.some((s) => s.headers["x-big"])).toBe(false);
  });

  it("answers slowloris clients with 408 after headersTimeout while serving others", async () => {
    const sockets = await Promise.all(Array.from({ length: 30 }, () => openTls()));
    const answers = sockets.map((socket) => readUntilClosed(socket));
    const drip = setInterval(() => {
      for (const socket of sockets) if (socket.writable) socket.write("X-Drip: 1\r\n");
    }, 100);
    for (const socket of sockets) socket.write("GET / HTTP/1.1\r\nHost: shop.onrender.localhost\r\n");
    try {
      await normalRequestIsFast();
      const started = performance.now();
      const texts = await Promise.all(answers);
      expect(performance.now() - started).toBeLessThan(3_000);
      for (const text of texts) expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      await normalRequestIsFast();
    } finally {
      clearInterval(drip);
    }
  });

  it("drops a connection that never finishes its TLS handshake", async () => {
    const socket = connectTcp({ host: "127.0.0.1", port: edge.ports.https });
    const closed = new Promise<number>((resolve) => {
      const started = performance.now();
      socket.on("error", () => undefined);
      socket.once("close", () => resolve(performance.now() - started));
    });
    await normalRequestIsFast();
    expect(await closed).toBeLessThan(3_000);
  });

  it("answers a malformed request on the plain-HTTP listener with 400", async () => {
    const text = await new Promise<string>((resolve) => {
      const socket = connectTcp({ host: "127.0.0.1", port: edge.ports.http }, () => socket.write("\x16\x03\x01 garbage\r\n\r\n"));
      let received = "";
      socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
      socket.on("error", () => undefined);
      socket.once("close", () => resolve(received));
    });
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    await normalRequestIsFast();
  });
});
