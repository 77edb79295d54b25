import { EventEmitter } from "node:events";
import { Agent, createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createProxyServer } from "http-proxy-3";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import { silentLogger } from "../logger.js";
import { issueCertificate, loadOrCreateCa, type CertificateAuthority } from "../tls/ca.js";
import type { AppBackend, BackendTarget } from "./backend.js";
import { answerClientError } from "./client-errors.js";
import { applyForwardingHeaders, clientAddress, httpsRedirectLocation, newRndrId, responseHeaders } from "./headers.js";
import type { HealthEvent } from "./health-check.js";
import { HoldError, InstanceGate, type EdgeState, type StateChange } from "./instance.js";
import { closeServer, listenLocal } from "./listen.js";
import { mapRequestOrigins, mapResponseOrigins, originsOf, type Origins } from "./origin-map.js";

export interface HealthCheckOptions {
  /** `healthCheckPath`; `null` probes the port with a TCP connect, as Render does without a path. */
  readonly path: string | null;
  /** Virtual time between probes. Default 5 s. */
  readonly intervalMs?: number;
  /** Real time a probe may take. Default 5 s (Render's). */
  readonly timeoutMs?: number;
  /** Default 15 s. */
  readonly unrouteAfterMs?: number;
  /** Default 60 s. */
  readonly restartAfterMs?: number;
}

export interface EdgeOptions {
  /** Render service name: the certificate names `<serviceName>.onrender.localhost`. */
  readonly serviceName: string;
  /** Host header the app sees. Default `<serviceName>.onrender.com`; a custom domain goes here. */
  readonly publicHost?: string;
  readonly backend: AppBackend;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Default: the user's prodlike CA (`loadOrCreateCa()`). */
  readonly ca?: CertificateAuthority;
  /** HTTPS port on 127.0.0.1; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Plain-HTTP port (answers 301 to HTTPS); 0 picks a free one. Default 0. */
  readonly httpPort?: number;
  /** Spin down after this long without inbound traffic (virtual clock). Undefined: never (paid plans). */
  readonly sleepAfterMs?: number;
  /** Extra real-time delay added to every wake, after the backend is ready. Default 0. */
  readonly coldStartDelayMs?: number;
  /** A wake that takes longer fails with Render's 503. Default 90 s. */
  readonly wakeTimeoutMs?: number;
  /** Longest a request is held while unrouted or restarting before a 503. Default `wakeTimeoutMs`. */
  readonly holdTimeoutMs?: number;
  /** Start asleep: the first request wakes the instance. Default false. */
  readonly startAsleep?: boolean;
  /** Render's health checks; undefined: none. */
  readonly healthCheck?: HealthCheckOptions;
  /** Limit on a request's header section. Default 32 KiB (Cloudflare, in front of Render). */
  readonly maxHeaderSize?: number;
  /** Time a client has to send its full request headers (slowloris guard). Default 30 s. */
  readonly headersTimeoutMs?: number;
  /** Time a client has to send its full request, body included. Default 100 min, like Render. */
  readonly requestTimeoutMs?: number;
  /** Where to listen. Default 127.0.0.1; the platform container listens on every interface. */
  readonly host?: string;
  /** More names (and addresses) for the certificate: how clients outside the container reach the front. */
  readonly certificateNames?: readonly string[];
  /**
   * The ports clients reach (published ones), for the HTTP→HTTPS redirect and for mapping
   * `http://<public host>` in a `Location`. Default: the listening ones.
   */
  readonly reachablePorts?: () => { readonly https: number; readonly http: number };
}

export type EdgeEvents = {
  state: [change: StateChange];
  health: [event: HealthEvent];
};

export interface Edge extends AsyncDisposable {
  /** `https://127.0.0.1:<port>`: works without any DNS. */
  readonly httpsUrl: string;
  /** `https://<serviceName>.onrender.localhost:<port>`: the name on the certificate, for browsers. */
  readonly localUrl: string;
  /** `http://127.0.0.1:<httpPort>`: answers 301 to HTTPS. */
  readonly httpUrl: string;
  readonly ports: { readonly https: number; readonly http: number };
  readonly publicHost: string;
  readonly state: EdgeState;
  /** Requests currently held (waking, unrouted, restarting). */
  readonly heldRequests: number;
  /** Spin the instance down now (`prodlike sleep`). */
  sleep(): Promise<void>;
  /** Wake it now (`prodlike wake`); rejects if the wake fails. */
  wake(): Promise<void>;
  /** Hold requests while `fn` reloads or redeploys the app; the previous version serves if it fails. */
  hold<T>(fn: () => Promise<T>): Promise<T>;
  on<K extends keyof EdgeEvents>(event: K, listener: (...args: EdgeEvents[K]) => void): this;
  off<K extends keyof EdgeEvents>(event: K, listener: (...args: EdgeEvents[K]) => void): this;
  stop(): Promise<void>;
}

const WAKE_ERROR_HEADERS = { "x-render-routing": "hibernate-wake-error", "content-length": "0" };

/** Render's router in front of the app: TLS, forwarding headers, sleep and wake, health checks. */
export async function createEdge(options: EdgeOptions): Promise<Edge> {
  const ca = options.ca ?? (await loadOrCreateCa());
  const edge = new EdgeServer(options, ca);
  await edge.listen(options.port ?? 0, options.httpPort ?? 0);
  return edge;
}

class EdgeServer extends EventEmitter<EdgeEvents> implements Edge {
  readonly publicHost: string;
  readonly #log: Logger;
  readonly #gate: InstanceGate;
  /** HTTP/2 and HTTP/1.1 on one port, chosen by ALPN, as Render's edge offers both. */
  readonly #https: Http2SecureServer;
  /** Every TCP connection to the HTTPS port: an HTTP/2 session holds its own until stop ends it. */
  readonly #connections = new Set<Socket>();
  readonly #http: ReturnType<typeof createHttpServer>;
  readonly #proxy = createProxyServer({ xfwd: false, changeOrigin: false });
  readonly #upgraded = new Set<Duplex>();
  readonly #localName: string;
  #agent = newAgent();
  #ports = { https: 0, http: 0 };
  readonly #host: string;
  readonly #reachablePorts: () => { readonly https: number; readonly http: number };
  /** Each request's local and production origins, for the way back. */
  readonly #origins = new WeakMap<FrontRequest, { origins: Origins; requestOrigin: string | undefined }>();
  #stopping: Promise<void> | undefined;

  constructor(options: EdgeOptions, ca: CertificateAuthority) {
    super();
    this.#log = (options.logger ?? silentLogger()).child({ component: "edge" });
    this.publicHost = options.publicHost ?? `${options.serviceName}.onrender.com`;
    this.#localName = `${options.serviceName}.onrender.localhost`;
    this.#host = options.host ?? "127.0.0.1";
    this.#reachablePorts = options.reachablePorts ?? (() => this.#ports);
    const wakeTimeoutMs = options.wakeTimeoutMs ?? 90_000;
    const health = options.healthCheck;
    this.#gate = new InstanceGate({
      backend: options.backend,
      clock: options.clock,
      logger: this.#log,
      initialState: options.startAsleep ? "sleeping" : "running",
      sleepAfterMs: options.sleepAfterMs,
      coldStartDelayMs: options.coldStartDelayMs ?? 0,
      wakeTimeoutMs,
      holdTimeoutMs: options.holdTimeoutMs ?? wakeTimeoutMs,
      health: health && {
        path: health.path,
        intervalMs: health.intervalMs ?? 5_000,
        timeoutMs: health.timeoutMs ?? 5_000,
        unrouteAfterMs: health.unrouteAfterMs ?? 15_000,
        restartAfterMs: health.restartAfterMs ?? 60_000,
        hostHeader: this.publicHost,
      },
      onStateChange: (change) => this.emit("state", change),
      onHealth: (event) => {
        if (!event.healthy) this.#log.warn({ ...event }, "health check failed");
        this.emit("health", event);
      },
      onInstanceGone: () => this.#dropConnections(),
    });

    const cert = issueCertificate(ca, [...new Set([this.#localName, "localhost", "127.0.0.1", ...(options.certificateNames ?? [])])]);
    const headersTimeout = options.headersTimeoutMs ?? 30_000;
    const serverOptions = {
      maxHeaderSize: options.maxHeaderSize ?? 32 * 1024,
      headersTimeout,
      requestTimeout: Math.max(options.requestTimeoutMs ?? 100 * 60_000, headersTimeout),
      // How often Node checks the two timeouts above; its default (30 s) would let a short
      // headersTimeout slip by that much.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4))),
    };
    this.#https = createSecureServer(
      {
        allowHTTP1: true,
        cert: cert.certPem,
        key: cert.keyPem,
        handshakeTimeout: Math.min(headersTimeout, 10_000),
        settings: { maxHeaderListSize: serverOptions.maxHeaderSize },
      },
      (req, res) => this.#onRequest(req, res),
    );
    // HTTP/1.1 on this server reads its limits from these properties, not from the options.
    Object.assign(this.#https, serverOptions);
    this.#https.on("connection", (socket: Socket) => {
      this.#connections.add(socket);
      socket.once("close", () => this.#connections.delete(socket));
    });
    this.#https.on("session", (session: ServerHttp2Session) => closeWhenIdle(session, H2_IDLE_MS));
    this.#https.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    this.#https.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, this.#log));
    this.#https.on("tlsClientError", (err: Error) => this.#log.debug({ err: err.message }, "TLS handshake failed"));
    this.#http = createHttpServer(serverOptions, (req, res) => {
      res.writeHead(301, { location: httpsRedirectLocation(req.headers.host, req.url, this.#reachablePorts().https), "content-length": "0" });
      res.end();
    });
    this.#http.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, this.#log));

    this.#proxy.on("proxyRes", (proxyRes, req) => {
      // Hop-by-hop: gunicorn's "Connection: close" ends the upstream connection only. The client's
      // stays open, as Render's router keeps the browser's (a new TLS handshake per request otherwise).
      delete proxyRes.headers.connection;
      delete proxyRes.headers["keep-alive"];
      // HTTP/2 frames the body itself and refuses connection-specific headers.
      if (req.httpVersionMajor >= 2) for (const name of H2_REFUSED) delete proxyRes.headers[name];
      const mapped = this.#origins.get(req);
      if (mapped) mapResponseOrigins(proxyRes.headers, mapped.origins, mapped.requestOrigin);
      const rndrId = req.headers["rndr-id"];
      const server = proxyRes.headers.server;
      if (typeof rndrId === "string") {
        Object.assign(proxyRes.headers, responseHeaders(rndrId, Array.isArray(server) ? server.join(", ") : server));
      }
    });
  }

  get httpsUrl(): string {
    return `https://127.0.0.1:${this.#ports.https}`;
  }

  get localUrl(): string {
    return `https://${this.#localName}:${this.#ports.https}`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.#ports.http}`;
  }

  get ports(): { https: number; http: number } {
    return { ...this.#ports };
  }

  get state(): EdgeState {
    return this.#gate.state;
  }

  get heldRequests(): number {
    return this.#gate.held;
  }

  async listen(httpsPort: number, httpPort: number): Promise<void> {
    try {
      this.#ports.https = await listenLocal(this.#https, httpsPort, "--port", this.#host);
      this.#ports.http = await listenLocal(this.#http, httpPort, "--http-port", this.#host);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#log.info({ url: this.localUrl, httpsUrl: this.httpsUrl, httpUrl: this.httpUrl, publicHost: this.publicHost }, "edge listening");
  }

  sleep(): Promise<void> {
    return this.#gate.sleep();
  }

  wake(): Promise<void> {
    return this.#gate.wake();
  }

  hold<T>(fn: () => Promise<T>): Promise<T> {
    return this.#gate.hold(fn);
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#gate.close();
      // Held requests get their 503 written before the connections go.
      await new Promise((resolve) => setImmediate(resolve));
      this.#dropConnections();
      for (const socket of this.#connections) socket.destroy();
      await Promise.all([closeServer(this.#https), closeServer(this.#http)]);
      this.#proxy.close();
    })();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #onRequest(req: FrontRequest, res: FrontResponse): void {
    const started = performance.now();
    const rndrId = this.#prepare(req);
    res.setHeader("rndr-id", rndrId);
    const release = this.#gate.begin();
    res.once("close", () => {
      release();
      this.#log.info(
        {
          method: req.method,
          path: req.url,
          status: res.statusCode,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          rndrId,
          ...(("stream" in res ? res.writableEnded : res.writableFinished) ? {} : { aborted: true }),
        },
        "request",
      );
    });
    const target = this.#gate.routableTarget;
    if (target) {
      this.#forward(req, res, target);
      return;
    }
    this.#gate.acquire().then(
      (acquired) => {
        if (!isGone(res)) this.#forward(req, res, acquired);
      },
      (err: Error) => this.#refuse(res, err),
    );
  }

  #forward(req: FrontRequest, res: FrontResponse, target: BackendTarget, reroutes = 0): void {
    // http-proxy-3 handles HTTP/2's compatibility objects (`:authority`, no hop-by-hop headers).
    const [request, response] = [req as IncomingMessage, res as ServerResponse];
    this.#proxy.web(request, response, { target: { host: target.host, port: target.port }, agent: this.#agent }, (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (reroutes < MAX_REROUTES && !res.headersSent && !isGone(res) && mayReroute(err, req) && !sameTarget(this.#gate.routableTarget, target)) {
        // The instance went away while this request was on its way (a deploy or a sleep had
        // just begun; the edge routes elsewhere now): it goes to the instance routed now.
        this.#log.debug({ err: err.message, code, rndrId: req.headers["rndr-id"] }, "rerouting a request the old instance dropped");
        this.#gate.acquire().then(
          (next) => !isGone(res) && this.#forward(req, res, next, reroutes + 1),
          (holdErr: Error) => this.#refuse(res, holdErr),
        );
        return;
      }
      this.#log.warn({ err: err.message, code, rndrId: req.headers["rndr-id"], target: `${target.host}:${target.port}` }, "upstream error");
      if (res.headersSent || isGone(res)) {
        response.destroy();
        return;
      }
      res.writeHead(502, { "content-type": "text/plain; charset=utf-8", ...(req.httpVersionMajor < 2 ? { connection: "close" } : {}) });
      res.end("502 Bad Gateway: the app did not answer\n");
    });
  }

  #refuse(res: FrontResponse, err: Error): void {
    if (res.headersSent || isGone(res)) return;
    if (err instanceof HoldError) {
      res.writeHead(503, err.failure === "wake-failed" ? WAKE_ERROR_HEADERS : { "content-length": "0" });
      res.end();
      return;
    }
    this.#log.warn({ err: err.message }, "no app instance to route to");
    res.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
    res.end("502 Bad Gateway: the app did not answer\n");
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", (err) => this.#log.debug({ err: err.message }, "client socket error"));
    const rndrId = this.#prepare(req);
    // In flight only until routed: an open but quiet WebSocket does not keep the instance
    // awake, its messages do (the 'data' listener below).
    const release = this.#gate.begin();
    socket.once("close", () => this.#upgraded.delete(socket));
    // Messages are traffic: once the proxy has piped the socket, watch what it reads.
    socket.once("pipe", () => socket.on("data", () => this.#gate.touch()));
    const answer = (status: string, extra = ""): void => {
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nrndr-id: ${rndrId}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
      else socket.destroy();
    };
    this.#gate.acquire().then(
      (target) => {
        release();
        if (socket.destroyed) return;
        this.#upgraded.add(socket);
        this.#proxy.ws(req, socket as Socket, head, { target: { host: target.host, port: target.port } }, (err) => {
          this.#log.warn({ err: err.message, rndrId, upgrade: true }, "upstream error");
          answer("502 Bad Gateway");
        });
      },
      (err: Error) => {
        release();
        if (err instanceof HoldError && err.failure === "wake-failed") {
          answer("503 Service Unavailable", "x-render-routing: hibernate-wake-error\r\n");
        } else answer("503 Service Unavailable");
      },
    );
    this.#log.info({ method: req.method, path: req.url, upgrade: req.headers.upgrade, rndrId }, "upgrade");
  }

  /** Render's forwarding headers, set on the incoming request before it is proxied. */
  #prepare(req: FrontRequest): string {
    const rndrId = newRndrId();
    const authority = req.headers[":authority"];
    const origins = originsOf(req.headers.host ?? (typeof authority === "string" ? authority : undefined), this.publicHost, this.#reachablePorts().http);
    if (origins) {
      this.#origins.set(req, { origins, requestOrigin: req.headers.origin });
      mapRequestOrigins(req.headers, origins);
    }
    applyForwardingHeaders(req.headers, {
      headers: req.headers,
      client: clientAddress(req.socket.remoteAddress),
      publicHost: this.publicHost,
      rndrId,
      arrivedAtMs: performance.timeOrigin + performance.now(),
    });
    // HTTP/2's Host: http-proxy-3 sends `:authority` as the upstream Host when there is one.
    if (authority !== undefined) req.headers[":authority"] = this.publicHost;
    return rndrId;
  }

  /** The instance is gone: pooled upstream connections and open WebSockets go with it. */
  #dropConnections(): void {
    this.#agent.destroy();
    this.#agent = newAgent();
    for (const socket of this.#upgraded) socket.destroy();
    this.#upgraded.clear();
  }
}

type FrontRequest = IncomingMessage | Http2ServerRequest;
type FrontResponse = ServerResponse | Http2ServerResponse;

/** Connection-specific response headers that HTTP/2 forbids (RFC 9113 §8.2.2). */
const H2_REFUSED = ["transfer-encoding", "upgrade", "proxy-connection", "te"];

/**
 * Whether a request that failed at an instance that is no longer routed may go to the routed
 * one, as nginx's proxy_next_upstream does by default: it has no body that was read already,
 * and either its connection failed before the app could see it, or it is idempotent and the
 * connection was reset before any answer (a stopping gunicorn drops what it had not started).
 */
function mayReroute(err: Error, req: FrontRequest): boolean {
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (!bodiless(req)) return false;
  if (code === "ECONNREFUSED" || (code === "ECONNRESET" && syscall === "connect")) return true;
  return code === "ECONNRESET" && IDEMPOTENT.has(req.method ?? "");
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS"]);

/** No request body: HTTP/2 says so in its HEADERS frame (END_STREAM), HTTP/1.1 by its framing headers. */
function bodiless(req: FrontRequest): boolean {
  if ("stream" in req) return req.stream.endAfterHeaders;
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] === undefined && (length === undefined || length === "0");
}
/** A request follows at most this many instances that went away under it. */
const MAX_REROUTES = 3;

function sameTarget(a: BackendTarget | undefined, b: BackendTarget): boolean {
  return a !== undefined && a.host === b.host && a.port === b.port;
}

function isGone(res: FrontResponse): boolean {
  return "stream" in res ? res.stream.destroyed : res.destroyed;
}

/** Node's HTTP/1.1 keepAliveTimeout default, which the edge's HTTP/1.1 connections keep. */
const H2_IDLE_MS = 5_000;

/**
 * Close an HTTP/2 session that saw no frame for `idleMs`: at once when it has no open stream, as
 * HTTP/1.1 keep-alive connections are; with open streams, when the client does not answer a
 * PING within `idleMs` more. Without it, a session that hit a connection error (a PING of the
 * wrong length, DATA on an idle stream: Node sends GOAWAY and stops reading) keeps its socket in
 * CLOSE_WAIT after the client has gone, an fd per such client, forever (Node 20). A client that
 * is there (a slow upload) answers the PING, as browsers do, and keeps its session.
 */
function closeWhenIdle(session: ServerHttp2Session, idleMs: number): void {
  let open = 0;
  session.on("stream", (stream) => {
    open++;
    stream.once("close", () => open--);
  });
  session.setTimeout(idleMs, () => {
    if (open === 0 || session.destroyed) {
      session.destroy();
      return;
    }
    let answered = false;
    const sent = session.ping((err) => (answered = err === null));
    if (!sent) {
      session.destroy();
      return;
    }
    setTimeout(() => answered || session.destroy(), idleMs).unref();
  });
}

function newAgent(): Agent {
  // Idle upstream sockets are dropped after 1 s, before gunicorn's 2 s keep-alive closes them
  // under a request that is just being written.
  return new Agent({ keepAlive: true, timeout: 1_000 });
}
