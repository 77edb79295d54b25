import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../../../src/clock.js";
import { createEdge, type Edge } from "../../../src/edge/index.js";
import { get, LocalBackend, useTrustingClient } from "../edge/harness.js";
import { nearlyValid, oddText } from "./mutate.js";
import { exchange, expectRecovered, fuzzListener, measureBaseline, type Target } from "./process-health.js";

const HOST = "shop.onrender.localhost";
const client = useTrustingClient();
let backend: LocalBackend;
let edge: Edge;

beforeAll(async () => {
  backend = new LocalBackend();
  edge = await createEdge({ serviceName: "shop", backend, clock: new VirtualClock(), ca: client.ca, headersTimeoutMs: 300 });
});

afterAll(async () => {
  await edge?.stop();
  await backend?.stop();
});

const token = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
const validRequest = fc
  .record({
    method: fc.constantFrom("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"),
    path: fc.webPath().map((p) => p || "/"),
    headers: fc.array(fc.tuple(token, fc.stringMatching(/^[ -~]{0,30}$/)), { maxLength: 4 }),
    body: fc.string({ maxLength: 40 }),
  })
  .map(({ method, path, headers, body }) => {
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${HOST}`, ...headers.map(([k, v]) => `X-${k}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`];
    return Buffer.from(`${lines.join("\r\n")}\r\n\r\n${body}`);
  });

/** HTTP's own mistakes: lengths that lie, chunk sizes that are not numbers, both CL and TE, bad request lines. */
const structured = [
  fc.tuple(fc.oneof(oddText, fc.integer().map(String)), fc.string({ maxLength: 30 })).map(([length, body]) => Buffer.from(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${length}\r\n\r\n${body}`)),
  fc.tuple(oddText, oddText).map(([size, data]) => Buffer.from(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n${data}\r\n0\r\n\r\n`)),
  fc.tuple(fc.nat(100), oddText).map(([cl, te]) => Buffer.from(`POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${cl}\r\nTransfer-Encoding: ${te || "chunked"}\r\n\r\n0\r\n\r\n`)),
  fc.tuple(oddText, oddText, oddText).map(([method, target, version]) => Buffer.from(`${method} ${target} ${version}\r\nHost: ${HOST}\r\n\r\n`)),
  fc.tuple(oddText, oddText).map(([name, value]) => Buffer.from(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n${name}: ${value}\r\n\r\n`)),
  fc.tuple(oddText, fc.constantFrom("Upgrade: websocket\r\nConnection: Upgrade", "Expect: 100-continue", "Connection: keep-alive, close", "Host: a\r\nHost: b")).map(
    ([host, extra]) => Buffer.from(`GET / HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n\r\n`),
  ),
  fc.nat(300).map((n) => Buffer.from(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n${"X-Many: 1\r\n".repeat(n * 10)}\r\n`)),
];
const badRequest = nearlyValid(validRequest, structured);

// ---- HTTP/2 (ALPN h2), as browsers reach Render's edge --------------------------------------

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
function frame(type: number, flags: number, stream: number, payload: Buffer, length = payload.length): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(length & 0xffffff, 0, 3);
  head[3] = type & 0xff;
  head[4] = flags & 0xff;
  head.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([head, payload]);
}
/** An answer, if any, is HTTP/1.1 responses; the listener never answers with anything else. */
function checkReply(reply: Buffer): void {
  if (reply.length === 0) return;
  expect(reply.subarray(0, 9).toString("latin1")).toBe("HTTP/1.1 ");
}

function run(name: string, target: Target, probe: () => Promise<void>): Promise<unknown> {
  return fuzzListener({ name, target, inputs: badRequest, probe, kind: (result) => result.reply.subarray(9, 12).toString("latin1") || "?", check: (result) => checkReply(result.reply) });
}

describe("the edge under malformed HTTP", () => {
  it("HTTPS port: answers HTTP or closes, and stays healthy", async () => {
    const probe = async () => {
      expect((await get(client.agent, `${edge.httpsUrl}/normal`, { connection: "close" })).status).toBe(200);
    };
    await run("edge https", { port: edge.ports.https, tls: { ca: client.ca.certPem, servername: HOST } }, probe);
  });

  it("HTTPS port with HTTP/2: a client that left after a connection error does not keep its socket", async () => {
    const probe = async () => {
      expect((await get(client.agent, `${edge.httpsUrl}/normal`, { connection: "close" })).status).toBe(200);
    };
    await probe();
    const baseline = measureBaseline();
    const start = Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0))]);
    // A PING that is not 8 bytes (FRAME_SIZE_ERROR) and DATA on a stream never opened (PROTOCOL_ERROR): Node answers GOAWAY.
    const errors = [frame(6, 0, 0, Buffer.alloc(3)), frame(0, 1, 7, Buffer.from("x"))];
    const h2 = { port: edge.ports.https, tls: { ca: client.ca.certPem, servername: HOST, alpn: ["h2"] } };
    // Half of them with a stream open first (HEADERS without END_STREAM: a request body is awaited).
    const open = frame(1, 4, 1, Buffer.concat([Buffer.from([0x83, 0x87, 0x84, 0x41, HOST.length]), Buffer.from(HOST)]));
    const inputs = Array.from({ length: 40 }, (_, i) => Buffer.concat([start, ...(i >= 20 ? [open] : []), errors[i % 2]!]));
    const results = await Promise.all(inputs.map((bytes) => exchange(h2, bytes)));
    for (const result of results) expect(result.reply.length === 0 || result.reply[3] === 4, "the edge's first HTTP/2 frame is SETTINGS").toBe(true);
    // Reclaimed after the idle time and an unanswered PING (2 × 5 s): the recovery check waits up to 15 s.
    await expectRecovered(baseline, probe);
  });

  it("HTTP port: answers HTTP or closes, and stays healthy", async () => {
    const probe = async () => {
      const reply = await exchange({ port: edge.ports.http }, Buffer.from(`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`), { deadlineMs: 5_000 });
      expect(reply.reply.toString("latin1")).toMatch(/^HTTP\/1\.1 30[178] /);
    };
    await run("edge http", { port: edge.ports.http }, probe);
  });
});
