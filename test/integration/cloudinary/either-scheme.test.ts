import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEitherSchemeServer } from "../../../src/cloudinary/either-scheme.js";
import { issueCertificate, loadOrCreateCa, type CertificateAuthority } from "../../../src/tls/ca.js";

/** res.cloudinary.com answers http and https; the stand-in does both on one port. */
describe("either-scheme server", () => {
  let caDir: string;
  let ca: CertificateAuthority;
  let server: ReturnType<typeof createEitherSchemeServer>;
  let port: number;

  beforeAll(async () => {
    caDir = await mkdtemp(join(tmpdir(), "prodlike-ca-"));
    ca = await loadOrCreateCa(caDir);
    const cert = issueCertificate(ca, ["localhost", "127.0.0.1"]);
    server = createEitherSchemeServer({
      cert: cert.certPem,
      key: cert.keyPem,
      logger: pino({ level: "silent" }),
      handle: (req, res) => res.end(`${(req.socket as { encrypted?: boolean }).encrypted ? "https" : "http"} ${req.url}`),
    });
    server.server.listen(0, "127.0.0.1");
    await once(server.server, "listening");
    port = (server.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAll();
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
    await rm(caDir, { recursive: true, force: true });
  });

  function get(scheme: "http" | "https", path: string): Promise<{ status: number; body: string }> {
    const request = scheme === "https" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path, ca: ca.certPem, servername: "localhost" }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("answers a malformed request with 400 on its own connection, and the next one works", async () => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.on("data", (chunk: Buffer) => (reply += chunk.toString("latin1")));
    socket.write("GET /cloud/image/upload/a.png HTTP/1.1\r\nHost: x\r\nBad Header\x03: y\r\n\r\n");
    await once(socket, "close");
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(await get("http", "/after")).toEqual({ status: 200, body: "http /after" });
  });

  it("answers TLS and plain HTTP on the same port, each with the whole request", async () => {
    expect(await get("https", "/cloud/image/upload/a.png")).toEqual({ status: 200, body: "https /cloud/image/upload/a.png" });
    expect(await get("http", "/cloud/image/upload/b.png")).toEqual({ status: 200, body: "http /cloud/image/upload/b.png" });
    const both = await Promise.all([get("http", "/1"), get("https", "/2"), get("http", "/3"), get("https", "/4")]);
    expect(both.map((r) => r.body)).toEqual(["http /1", "https /2", "http /3", "https /4"]);
  });

  it("drops a client that never sends a byte when closed, without waiting for it", async () => {
    const idle = connect(port, "127.0.0.1");
    await once(idle, "connect");
    const closed = once(idle, "close");
    server.closeAll();
    await closed;
    expect(idle.destroyed).toBe(true);
  });
});
