import { Agent as HttpsAgent, get as httpsGet } from "node:https";
import { connect as connectH2, type ClientHttp2Stream } from "node:http2";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { VirtualClock } from "../../../src/clock.js";
import { createEdge, type Edge } from "../../../src/edge/index.js";
import { isProdlikeError } from "../../../src/errors.js";
import { get, LocalBackend, useEdges, useTrustingClient, type LogEntry } from "./harness.js";

const client = useTrustingClient();
const edges = useEdges(client);
let backend: LocalBackend;
let edge: Edge;
let entries: LogEntry[];

async function startEdge(publicHost?: string): Promise<void> {
  ({ edge, backend, entries } = await edges.start({ publicHost }));
}

/** An HTTP/2 stream's response headers and whole body. */
function h2Answer(stream: ClientHttp2Stream): Promise<{ headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    let body = "";
    let headers: Record<string, unknown> = {};
    stream.on("response", (received) => (headers = received));
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (body += chunk));
    stream.on("end", () => resolve({ headers, body }));
    stream.on("error", reject);
  });
}

describe("forwarding like Render's router", () => {
  it("sets Render's request headers exactly and adds rndr-id and x-render-origin-server", async () => {
    await startEdge();
    const before = Date.now() * 1000;
    const reply = await get(client.agent, `${edge.httpsUrl}/orders/?page=2`, { "x-forwarded-for": "203.0.113.7", "true-client-ip": "6.6.6.6" });
    const after = Date.now() * 1000;
    expect(reply.status).toBe(200);
    const seen = JSON.parse(reply.text) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe("/orders/?page=2");
    const h = seen.headers;
    expect(h.host).toBe("shop.onrender.com");
    expect(h["x-forwarded-proto"]).toBe("https");
    expect(h["x-forwarded-for"]).toBe("203.0.113.7, 127.0.0.1");
    expect(h["true-client-ip"]).toBe("127.0.0.1");
    expect(h["cf-connecting-ip"]).toBe("127.0.0.1");
    expect(h["cf-visitor"]).toBe('{"scheme":"https"}');
    expect(h["render-proxy-ttl"]).toBe("4");
    expect(h["rndr-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    expect(h["x-request-start"]).toMatch(/^\d{16}$/);
    const start = Number(h["x-request-start"]);
    expect(start).toBeGreaterThanOrEqual(before - 1000);
    expect(start).toBeLessThanOrEqual(after + 1000);
    expect(reply.headers["rndr-id"]).toBe(h["rndr-id"]);
    expect(reply.headers["x-render-origin-server"]).toBe("gunicorn");
  });

  it("gives each request its own rndr-id and logs one access line per request", async () => {
    await startEdge();
    const first = await get(client.agent, `${edge.httpsUrl}/a`);
    const second = await get(client.agent, `${edge.httpsUrl}/b`);
    expect(first.headers["rndr-id"]).not.toBe(second.headers["rndr-id"]);
    await expect.poll(() => entries.filter((e) => e.msg === "request").length).toBe(2);
    const line = entries.find((e) => e.msg === "request" && e.path === "/a")!;
    expect(line).toMatchObject({ component: "edge", method: "GET", path: "/a", status: 200, rndrId: first.headers["rndr-id"] });
    expect(typeof line.durationMs).toBe("number");
  });

  it("sends a custom domain as the Host header", async () => {
    await startEdge("www.example.com");
    const reply = await get(client.agent, `${edge.httpsUrl}/`);
    expect(JSON.parse(reply.text).headers.host).toBe("www.example.com");
  });

  it("gives the app the production origin in Origin and Referer, as a browser on Render sends them", async () => {
    await startEdge();
    const local = edge.httpsUrl;
    const reply = await get(client.agent, `${local}/admin/login/`, { origin: local, referer: `${local}/admin/login/?next=/admin/` });
    const seen = JSON.parse(reply.text).headers as Record<string, string>;
    expect(seen.origin).toBe("https://shop.onrender.com");
    expect(seen.referer).toBe("https://shop.onrender.com/admin/login/?next=/admin/");
    const foreign = await get(client.agent, `${local}/x`, { origin: "https://evil.example", referer: "https://evil.example/form" });
    expect(JSON.parse(foreign.text).headers).toMatchObject({ origin: "https://evil.example", referer: "https://evil.example/form" });
  });

  it("points the app's production redirects, cookie domains and CORS origin back at the local name the browser used", async () => {
    await startEdge();
    const local = edge.localUrl;
    const respond = JSON.stringify({
      ":status": "302",
      location: "https://shop.onrender.com/admin/?next=1",
      "set-cookie": ["sessionid=s1; Domain=shop.onrender.com; Path=/; Secure; HttpOnly", "other=o; Domain=elsewhere.example"],
      "access-control-allow-origin": "https://shop.onrender.com",
    });
    // The certificate's name, reached on 127.0.0.1 (what a browser does for *.localhost).
    const reply = await get(client.agent, `${edge.httpsUrl}/respond`, { host: new URL(local).host, origin: local, "x-test-respond": respond });
    expect(reply.status).toBe(302);
    expect(reply.headers.location).toBe(`${local}/admin/?next=1`);
    expect(reply.headers["set-cookie"]).toEqual(["sessionid=s1; Path=/; Secure; HttpOnly", "other=o; Domain=elsewhere.example"]);
    expect(reply.headers["access-control-allow-origin"]).toBe(local);
    const http = await get(client.agent, `${edge.httpsUrl}/respond`, { "x-test-respond": JSON.stringify({ ":status": "301", location: "http://shop.onrender.com/p" }) });
    expect(http.headers.location).toBe(`http://127.0.0.1:${edge.ports.http}/p`);
  });

  it("serves a certificate for <service>.onrender.localhost signed by the CA", async () => {
    await startEdge();
    expect(edge.localUrl).toBe(`https://shop.onrender.localhost:${edge.ports.https}`);
    // Connect to 127.0.0.1 but verify the name the browser would use.
    const { connect } = await import("node:tls");
    const verified = await new Promise<boolean>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: edge.ports.https, servername: "shop.onrender.localhost", ca: client.ca.certPem }, () => {
        resolve(socket.authorized);
        socket.end();
      });
      socket.on("error", reject);
    });
    expect(verified).toBe(true);
  });

  it("keeps the client's connection open when the app answers Connection: close (hop-by-hop, as Render's router)", async () => {
    await startEdge();
    const agent = new HttpsAgent({ ca: client.ca.certPem, keepAlive: true, maxSockets: 1 });
    const once = () =>
      new Promise<{ reused: boolean; connection: string | undefined; body: string }>((resolve, reject) => {
        const req = httpsGet(`${edge.httpsUrl}/close`, { agent }, (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => (body += chunk.toString()));
          res.on("end", () => resolve({ reused: req.reusedSocket, connection: res.headers.connection, body }));
        });
        req.on("error", reject);
      });
    try {
      const first = await once();
      const second = await once();
      expect(first).toMatchObject({ reused: false, body: "closed" });
      expect(first.connection).not.toBe("close");
      // The same TLS connection served the second request: no new handshake.
      expect(second).toMatchObject({ reused: true, body: "closed" });
      expect(backend.upstream.seen.filter((s) => s.url === "/close")).toHaveLength(2);
    } finally {
      agent.destroy();
    }
  });

  it("speaks HTTP/2 to a client that offers it: many requests on one session, Render's headers, mapped origins", async () => {
    await startEdge();
    const session = connectH2(edge.httpsUrl, { ca: client.ca.certPem });
    try {
      const ask = (headers: Record<string, string>) => h2Answer(session.request(headers));
      const local = edge.httpsUrl;
      const [echo, chunked, closed] = await Promise.all([
        ask({ ":path": "/h2?x=1", origin: local, referer: `${local}/form` }),
        ask({ ":path": "/chunked" }),
        ask({ ":path": "/close" }),
      ]);
      expect(session.alpnProtocol).toBe("h2");
      expect(echo.headers[":status"]).toBe(200);
      const seen = JSON.parse(echo.body) as { url: string; headers: Record<string, string> };
      expect(seen.url).toBe("/h2?x=1");
      expect(seen.headers).toMatchObject({ host: "shop.onrender.com", origin: "https://shop.onrender.com", referer: "https://shop.onrender.com/form", "x-forwarded-proto": "https" });
      expect(Object.keys(seen.headers).filter((name) => name.startsWith(":"))).toEqual([]);
      expect(echo.headers["rndr-id"]).toBe(seen.headers["rndr-id"]);
      expect(chunked).toMatchObject({ body: "one,two", headers: { ":status": 200 } });
      expect(chunked.headers["transfer-encoding"]).toBeUndefined();
      expect(closed).toMatchObject({ body: "closed", headers: { ":status": 200 } });
      expect(session.closed || session.destroyed).toBe(false);
    } finally {
      session.close();
    }
  });

  it("keeps an HTTP/2 session whose client is there but sends nothing for a while (it answers the edge's PING)", async () => {
    await startEdge();
    const session = connectH2(edge.httpsUrl, { ca: client.ca.certPem });
    try {
      const stream = session.request({ ":path": "/upload", ":method": "POST", "content-type": "text/plain" });
      stream.write("first,");
      const answer = h2Answer(stream);
      // Quiet for longer than the idle time and the PING's wait together (5 s + 5 s).
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      expect(session.destroyed).toBe(false);
      stream.end("second");
      expect(JSON.parse((await answer).body)).toMatchObject({ method: "POST", url: "/upload" });
    } finally {
      session.close();
    }
  }, 30_000);

  it("answers plain HTTP with a 301 to the same path over HTTPS", async () => {
    await startEdge();
    const res = await fetch(`${edge.httpUrl}/login/?next=/admin/`, { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe(`https://127.0.0.1:${edge.ports.https}/login/?next=/admin/`);
    expect(backend.upstream.seen).toHaveLength(0);
  });

  it("answers 502 with a log line when the app is down, and keeps serving", async () => {
    await startEdge();
    await get(client.agent, `${edge.httpsUrl}/warm`);
    const { port } = backend.upstream.target;
    await backend.upstream.stop(); // the app crashed; the edge does not know
    const reply = await get(client.agent, `${edge.httpsUrl}/down`);
    expect(reply.status).toBe(502);
    expect(reply.headers["rndr-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}$/);
    expect(entries.some((e) => e.msg === "upstream error" && typeof e.code === "string")).toBe(true);
    await backend.upstream.start(port); // back on the same port: served again, nothing crashed
    expect((await get(client.agent, `${edge.httpsUrl}/again`)).status).toBe(200);
  });

  it("passes WebSocket upgrades through with the production Host", async () => {
    await startEdge();
    const ws = new WebSocket(`wss://127.0.0.1:${edge.ports.https}/ws/chat/`, { ca: client.ca.certPem });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const answer = new Promise<string>((resolve) => ws.once("message", (data) => resolve(data.toString())));
    ws.send("hello");
    expect(await answer).toBe("echo:hello|host=shop.onrender.com");
    ws.close();
  });

  it("refuses a taken port with PORT_TAKEN naming the port and the way out", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const error = await createEdge({ serviceName: "shop", backend: new LocalBackend(), clock: new VirtualClock(), ca: client.ca, port }).catch((err: unknown) => err);
      expect(isProdlikeError(error, "PORT_TAKEN")).toBe(true);
      expect((error as Error).message).toContain(`port ${port}`);
      expect((error as Error).message).toContain("--port");
      expect((error as Error).message).toMatch(/0 picks a free one/);
    } finally {
      blocker.close();
    }
  });

  it("stops idempotently and via Symbol.asyncDispose", async () => {
    await startEdge();
    const url = edge.httpsUrl;
    await Promise.all([edge.stop(), edge.stop(), edge[Symbol.asyncDispose]()]);
    await expect(get(client.agent, `${url}/`)).rejects.toThrow();
  });
});
