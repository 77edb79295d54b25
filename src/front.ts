import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createProxyServer } from "http-proxy-3";
import type { Logger } from "pino";
import type { StackDescription } from "./config/types.js";
import { ProdlikeError } from "./errors.js";
import { issueCertificate, loadOrCreateCa } from "./tls/ca.js";

export interface Front {
  readonly httpsUrl: string;
  readonly httpUrl: string;
  stop(): Promise<void>;
}

export interface FrontOptions {
  readonly stack: StackDescription;
  readonly logger: Logger;
  /** Where the app listens now; undefined while it is not up. */
  readonly backend: () => { host: string; port: number } | undefined;
}

/** Interim front (until the edge lands): HTTPS on 127.0.0.1, the production Host header. */
export async function startFront(options: FrontOptions): Promise<Front> {
  const { stack, logger } = options;
  const log = logger.child({ component: "edge" });
  const ca = await loadOrCreateCa();
  const localName = `${stack.app.serviceName}.onrender.localhost`;
  const cert = issueCertificate(ca, [localName, "localhost", "127.0.0.1"]);
  const proxy = createProxyServer({ xfwd: false });
  proxy.on("error", (err, _req, res) => {
    log.warn({ err: err.message }, "upstream error");
    if (res && "writeHead" in res && !res.headersSent) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end("502 Bad Gateway\n");
    } else res?.destroy();
  });
  const https = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const target = options.backend();
    if (!target) {
      res.writeHead(503).end();
      return;
    }
    const client = req.socket.remoteAddress ?? "127.0.0.1";
    req.headers["x-forwarded-for"] = req.headers["x-forwarded-for"] ? `${req.headers["x-forwarded-for"]}, ${client}` : client;
    req.headers["x-forwarded-proto"] = "https";
    req.headers.host = stack.app.publicHost;
    const started = Date.now();
    res.on("finish", () => log.info({ method: req.method, path: req.url, status: res.statusCode, ms: Date.now() - started }, "request"));
    proxy.web(req, res, { target: `http://${target.host}:${target.port}` });
  });
  const httpsPort = await listen(https, stack.ports.https, "--port");
  const httpsUrl = `https://127.0.0.1:${httpsPort}`;
  const http = createHttpServer((req, res) => {
    res.writeHead(301, { location: `${httpsUrl}${req.url ?? "/"}` }).end();
  });
  const httpPort = await listen(http, stack.ports.http, "--http-port").catch(async (err) => {
    await close(https);
    throw err;
  });
  let stopping: Promise<void> | undefined;
  return {
    httpsUrl,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    stop: () => (stopping ??= Promise.all([close(https), close(http)]).then(() => proxy.close())),
  };
}

function listen(server: Server, port: number, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? new ProdlikeError("PORT_TAKEN", `port ${port} on 127.0.0.1 is already taken: stop what uses it (\`ss -ltnp 'sport = :${port}'\` shows it) or choose another with ${flag} (0 picks a free one)`)
          : err,
      );
    });
    server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
